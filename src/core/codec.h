/*
 * codec.h — strict text and byte codecs shared by the C2SP formats
 * (note.c), the type input functions (type_text.c) and the CLI.
 *
 * Pure code (no PostgreSQL headers).  Return convention, as in every
 * src/core module: parsers and decoders return 0 on success and -1 on any
 * input that is not the one canonical spelling; predicates (…_valid) return
 * 1 or 0.
 */
#ifndef BATTLEDGER_CODEC_H
#define BATTLEDGER_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* ---- base64 (RFC 4648 section 4, padded, canonical only) ---- */

size_t		bl_base64_encoded_len(size_t n);	/* excluding the NUL */
/* Writes bl_base64_encoded_len(n) characters and a NUL. */
void		bl_base64_encode(const uint8_t *in, size_t n, char *out);
/* 0 ok, -1 on any non-canonical or oversized (> cap) input. */
int			bl_base64_decode(const char *in, size_t len, uint8_t *out,
							 size_t cap, size_t *outlen);

/* 0 if in is canonical base64 (of any length), else -1; decodes nothing. */
int			bl_base64_check(const char *in, size_t len);

/* ---- text ---- */

/* Strict ASCII decimal (no sign, no leading zeros, no overflow): 0 / -1. */
int			bl_parse_u64(const char *s, size_t len, uint64_t *out);

/* The value of a hex digit (either case), or -1. */
int			bl_hex_nibble(char c);

/* 1 if s is valid UTF-8 with no control characters (one line of text). */
int			bl_text_line_valid(const char *s, size_t len);

typedef enum bl_text_kind
{
	BL_TEXT_LINE,				/* one line: no newline */
	BL_TEXT_MULTILINE,			/* newlines allowed */
	BL_TEXT_KEY_NAME			/* one line, no Unicode spaces, no '+' */
} bl_text_kind;

/* 1 if s is valid UTF-8 with no control characters except what kind allows. */
int			bl_utf8_text_valid(const char *s, size_t len, bl_text_kind kind);

/* ---- bytes ---- */

/* 8-byte big-endian integers (cosignature timestamps). */
void		bl_put_be64(uint8_t *p, uint64_t v);
uint64_t	bl_get_be64(const uint8_t *p);

#endif
