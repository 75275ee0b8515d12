/*
 * note.c — C2SP signed notes, checkpoints, cosignatures, vkeys and
 * tlog-proofs (see note.h).
 *
 * Everything here parses text that arrives from other members or from
 * auditors' files, so the parsers accept only the exact formats: canonical
 * base64, decimal without leading zeros, valid UTF-8 without control
 * characters (the codecs of codec.c), and no empty lines where the specs
 * forbid them.
 *
 * Why one file: the four C2SP formats build on each other (a cosignature
 * signs a checkpoint note, a tlog-proof carries one) and share the line and
 * signature-block parsers, which a split would have to export; the general
 * codecs they use are codec.c's.
 */
#include "note.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ed25519.h"
#include "merkle.h"
#include "sha256.h"

/* Every signature line starts with an em dash (U+2014) and a space. */
#define SIG_PREFIX "\xe2\x80\x94 "
#define SIG_PREFIX_LEN 4
#define COSIG_HEADER "cosignature/v1\n"
#define B64_HASH_LEN 44			/* base64 of 32 bytes */

/* Decode exactly one 32-byte hash. */
static int
b64_hash(const char *in, size_t len, uint8_t out[BL_HASH_LEN])
{
	size_t		n;

	return bl_base64_decode(in, len, out, BL_HASH_LEN, &n) == 0 && n == BL_HASH_LEN ? 0 : -1;
}

/* Note text: non-empty, newline-terminated, valid note characters. */
static int
note_text_valid(const char *text, size_t len)
{
	return len > 0 && len <= BL_NOTE_MAX_LEN && text[len - 1] == '\n' &&
		bl_utf8_text_valid(text, len, BL_TEXT_MULTILINE);
}

/* The next newline-terminated line at *pos, without its newline. */
static int
next_line(const char *s, size_t len, size_t *pos, const char **line,
		  size_t *line_len)
{
	const char *nl;

	if (*pos >= len)
		return -1;
	nl = memchr(s + *pos, '\n', len - *pos);
	if (!nl)
		return -1;
	*line = s + *pos;
	*line_len = (size_t) (nl - *line);
	*pos = (size_t) (nl - s) + 1;
	return 0;
}

static int
has_prefix(const char *line, size_t len, const char *prefix)
{
	size_t		plen = strlen(prefix);

	return len >= plen && memcmp(line, prefix, plen) == 0;
}

/* a || b || c as a malloc'd NUL-terminated string. */
static char *
concat3(const char *a, size_t alen, const char *b, size_t blen,
		const char *c, size_t clen)
{
	char	   *out = malloc(alen + blen + clen + 1);

	if (!out)
		return NULL;
	memcpy(out, a, alen);
	memcpy(out + alen, b, blen);
	memcpy(out + alen + blen, c, clen);
	out[alen + blen + clen] = '\0';
	return out;
}


/* ---------------------------------------------------------------- keys */

int
bl_note_key_name_valid(const char *name, size_t len)
{
	return len > 0 && bl_utf8_text_valid(name, len, BL_TEXT_KEY_NAME);
}

int
bl_note_key_id(const char *name, uint8_t alg, const uint8_t pub[BL_ED25519_PUB_LEN],
			   uint8_t out[BL_NOTE_KEY_ID_LEN])
{
	static const uint8_t newline = '\n';
	const void *parts[4] = {name, &newline, &alg, pub};
	size_t		lens[4] = {strlen(name), 1, 1, BL_ED25519_PUB_LEN};
	uint8_t		digest[BL_HASH_LEN];

	if (!bl_note_key_name_valid(name, lens[0]) ||
		bl_sha256_parts(parts, lens, 4, digest) != 0)
		return -1;
	memcpy(out, digest, BL_NOTE_KEY_ID_LEN);
	return 0;
}

static int
alg_known(uint8_t alg)
{
	return alg == BL_NOTE_ALG_ED25519 || alg == BL_NOTE_ALG_COSIG_V1;
}

char *
bl_vkey_format(const char *name, uint8_t alg, const uint8_t pub[BL_ED25519_PUB_LEN])
{
	size_t		nlen = strlen(name);
	uint8_t		id[BL_NOTE_KEY_ID_LEN];
	uint8_t		raw[33];
	char		mid[12];
	char		b64[48];

	if (nlen > BL_NOTE_NAME_MAX || !alg_known(alg) ||
		bl_note_key_id(name, alg, pub, id) != 0)
		return NULL;
	raw[0] = alg;
	memcpy(raw + 1, pub, BL_ED25519_PUB_LEN);
	snprintf(mid, sizeof(mid), "+%02x%02x%02x%02x+", id[0], id[1], id[2], id[3]);
	bl_base64_encode(raw, sizeof(raw), b64);
	return concat3(name, nlen, mid, strlen(mid), b64, strlen(b64));
}

/* Exactly 8 hex digits into a 4-byte key ID. */
static int
parse_key_id_hex(const char *s, uint8_t out[BL_NOTE_KEY_ID_LEN])
{
	for (int i = 0; i < BL_NOTE_KEY_ID_LEN; i++)
	{
		int			hi = bl_hex_nibble(s[2 * i]);
		int			lo = bl_hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t) (hi << 4 | lo);
	}
	return 0;
}

int
bl_vkey_parse(const char *s, size_t len, bl_vkey *out)
{
	const char *plus = memchr(s, '+', len);
	size_t		nlen;
	uint8_t		raw[33];
	size_t		rawlen;
	uint8_t		id[BL_NOTE_KEY_ID_LEN];

	memset(out, 0, sizeof(*out));
	if (!plus)
		return -1;
	nlen = (size_t) (plus - s);
	if (nlen > BL_NOTE_NAME_MAX || !bl_note_key_name_valid(s, nlen) ||
		len - nlen < 10 || plus[9] != '+' ||
		parse_key_id_hex(plus + 1, out->key_id) != 0 ||
		bl_base64_decode(plus + 10, len - nlen - 10, raw, sizeof(raw),
						 &rawlen) != 0 ||
		rawlen != sizeof(raw) || !alg_known(raw[0]))
		return -1;
	memcpy(out->name, s, nlen);
	out->alg = raw[0];
	memcpy(out->pub, raw + 1, BL_ED25519_PUB_LEN);
	/* The key ID is derived, so a mismatch means a corrupted vkey. */
	if (bl_note_key_id(out->name, out->alg, out->pub, id) != 0 ||
		memcmp(id, out->key_id, BL_NOTE_KEY_ID_LEN) != 0)
		return -1;
	return 0;
}

/*
 * The next line of a key list at *p (LF-split, a trailing CR stripped, the
 * last line perhaps without LF); 0 at the end.
 */
static int
list_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*p >= end)
		return 0;
	nl = memchr(*p, '\n', (size_t) (end - *p));
	*line = *p;
	*len = (size_t) ((nl ? nl : end) - *p);
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	*p = nl ? nl + 1 : end;
	return 1;
}

int
bl_vkey_list_line(const char *p, size_t len, int key)
{
	const char *end = p + len;
	const char *l;
	size_t		n;
	int			line = 0;

	while (key > 0 && list_line(&p, end, &l, &n))
	{
		line++;
		if (n > 0)
			key--;
	}
	return line;
}

/* Says which rule the list breaks and where; -1. */
static int
list_error(bl_vkey_list_error *err, const char *p, size_t len,
		   bl_vkey_list_rule rule, int key, int first_key)
{
	if (err)
	{
		err->rule = rule;
		err->key = key;
		err->line = key > 0 ? bl_vkey_list_line(p, len, key) : 0;
		err->first_key = first_key;
		err->first_line = first_key > 0 ? bl_vkey_list_line(p, len, first_key) : 0;
	}
	return -1;
}

int
bl_vkey_list_parse(const char *p, size_t len, bl_vkey *out, int max,
				   bl_vkey_list_error *err)
{
	return bl_vkey_list_parse_alg(p, len, BL_NOTE_ALG_ED25519, out, max, err);
}

int
bl_vkey_list_parse_alg(const char *p, size_t len, uint8_t alg, bl_vkey *out, int max,
					   bl_vkey_list_error *err)
{
	const char *at = p;
	const char *line;
	size_t		l;
	int			n = 0;

	if (err)
		memset(err, 0, sizeof(*err));
	while (list_line(&at, p + len, &line, &l))
	{
		if (l == 0)
			continue;
		if (n == max)
			return list_error(err, p, len, BL_VKEY_LIST_TOO_MANY, n + 1, 0);
		if (bl_vkey_parse(line, l, &out[n]) != 0 || out[n].alg != alg)
			return list_error(err, p, len, BL_VKEY_LIST_BAD_KEY, n + 1, 0);
		for (int j = 0; j < n; j++)
			if (memcmp(out[j].pub, out[n].pub, BL_ED25519_PUB_LEN) == 0 &&
				strcmp(out[j].name, out[n].name) == 0)
				return list_error(err, p, len, BL_VKEY_LIST_DUPLICATE, n + 1, j + 1);
		if (n > 0 && strcmp(out[n].name, out[0].name) != 0)
			return list_error(err, p, len, BL_VKEY_LIST_TWO_NAMES, n + 1, 1);
		n++;
	}
	if (n == 0)
		return list_error(err, p, len, BL_VKEY_LIST_EMPTY, 0, 0);
	return n;
}

/* ---------------------------------------------------------- checkpoints */

/* Length of the extension lines with their newlines; *ok says if valid. */
static size_t
ext_lines_len(const char *const *ext, int n_ext, int *ok)
{
	size_t		total = 0;

	*ok = 1;
	for (int i = 0; i < n_ext; i++)
	{
		size_t		l = strlen(ext[i]);

		if (l == 0 || !bl_text_line_valid(ext[i], l))
			*ok = 0;
		total += l + 1;
	}
	return total;
}

char *
bl_checkpoint_body(const char *origin, uint64_t size, const uint8_t root[BL_HASH_LEN],
				   const char *const *ext, int n_ext)
{
	size_t		olen = strlen(origin);
	char		head[24 + B64_HASH_LEN + 2];	/* "\n<size>\n<root>\n" */
	size_t		hlen;
	size_t		elen;
	int			ok;
	char	   *out;

	elen = ext_lines_len(ext, n_ext, &ok);
	if (!ok || olen == 0 || !bl_text_line_valid(origin, olen))
		return NULL;
	hlen = (size_t) snprintf(head, sizeof(head), "\n%" PRIu64 "\n", size);
	bl_base64_encode(root, BL_HASH_LEN, head + hlen);
	hlen += B64_HASH_LEN;
	head[hlen++] = '\n';
	out = malloc(olen + hlen + elen + 1);
	if (!out)
		return NULL;
	memcpy(out, origin, olen);
	memcpy(out + olen, head, hlen);
	out[olen + hlen] = '\0';
	for (int i = 0; i < n_ext; i++)
	{
		strcat(out + olen + hlen, ext[i]);
		strcat(out + olen + hlen, "\n");
	}
	return out;
}

int
bl_checkpoint_parse(const char *text, size_t len, bl_checkpoint *cp)
{
	size_t		pos = 0;
	const char *line;
	size_t		n;

	memset(cp, 0, sizeof(*cp));
	if (!note_text_valid(text, len) ||
		next_line(text, len, &pos, &cp->origin, &cp->origin_len) != 0 ||
		cp->origin_len == 0 ||
		next_line(text, len, &pos, &line, &n) != 0 ||
		bl_parse_u64(line, n, &cp->size) != 0 ||
		next_line(text, len, &pos, &line, &n) != 0 ||
		b64_hash(line, n, cp->root) != 0)
		return -1;
	if (pos < len)
	{
		cp->ext = text + pos;
		cp->ext_len = len - pos;
	}
	/* Extension lines are opaque but must be non-empty. */
	while (pos < len)
		if (next_line(text, len, &pos, &line, &n) != 0 || n == 0)
			return -1;
	return 0;
}

/* --------------------------------------------------------------- notes */

/* "— name base64(blob)\n", malloc'd. */
static char *
sig_line(const char *name, const uint8_t *blob, size_t blob_len)
{
	size_t		nlen = strlen(name);
	size_t		blen = bl_base64_encoded_len(blob_len);
	char	   *out = malloc(SIG_PREFIX_LEN + nlen + 1 + blen + 2);

	if (!out)
		return NULL;
	memcpy(out, SIG_PREFIX, SIG_PREFIX_LEN);
	memcpy(out + SIG_PREFIX_LEN, name, nlen);
	out[SIG_PREFIX_LEN + nlen] = ' ';
	bl_base64_encode(blob, blob_len, out + SIG_PREFIX_LEN + nlen + 1);
	strcat(out + SIG_PREFIX_LEN + nlen + 1, "\n");
	return out;
}

/*
 * One signature line into the note's storage at *store: the name and its
 * NUL, then the decoded key ID and signature.
 */
static int
parse_sig_line(const char *line, size_t n, bl_note_sig *sig, char **store)
{
	const char *name = line + SIG_PREFIX_LEN;
	const char *space;
	const char *b64;
	size_t		name_len;
	size_t		b64_len;
	size_t		raw_len;
	uint8_t    *raw;

	if (!has_prefix(line, n, SIG_PREFIX))
		return -1;
	space = memchr(name, ' ', n - SIG_PREFIX_LEN);
	if (!space)
		return -1;
	name_len = (size_t) (space - name);
	b64 = space + 1;
	b64_len = (size_t) (line + n - b64);
	if (!bl_note_key_name_valid(name, name_len))
		return -1;
	memcpy(*store, name, name_len);
	(*store)[name_len] = '\0';
	sig->name = *store;
	raw = (uint8_t *) *store + name_len + 1;
	/* A key ID and at least one byte of signature. */
	if (bl_base64_decode(b64, b64_len, raw, b64_len, &raw_len) != 0 ||
		raw_len < BL_NOTE_KEY_ID_LEN + 1)
		return -1;
	memcpy(sig->key_id, raw, BL_NOTE_KEY_ID_LEN);
	sig->sig = raw + BL_NOTE_KEY_ID_LEN;
	sig->sig_len = raw_len - BL_NOTE_KEY_ID_LEN;
	*store = (char *) raw + raw_len;
	return 0;
}

static int
parse_sig_block(const char *s, size_t len, bl_note *note, char *store)
{
	size_t		pos = 0;

	if (len == 0)
		return -1;				/* a note needs at least one signature */
	while (pos < len)
	{
		const char *line;
		size_t		n;

		if (note->nsigs >= BL_NOTE_MAX_SIGS ||
			next_line(s, len, &pos, &line, &n) != 0 ||
			parse_sig_line(line, n, &note->sigs[note->nsigs], &store) != 0)
			return -1;
		note->nsigs++;
	}
	return 0;
}

/*
 * The text ends at the last blank line and signatures follow it: *split is
 * the position of the text's final newline (the blank line comes next).
 */
static int
last_blank_line(const char *buf, size_t len, size_t *split)
{
	for (size_t i = len - 1; i-- > 0;)
	{
		if (buf[i] == '\n' && buf[i + 1] == '\n')
		{
			*split = i;
			return 0;
		}
	}
	return -1;
}

int
bl_note_parse(const char *buf, size_t len, bl_note *note)
{
	size_t		split;

	memset(note, 0, sizeof(*note));
	if (!note_text_valid(buf, len) || last_blank_line(buf, len, &split) != 0)
		return -1;
	/* Names and decoded signatures are shorter than their lines: len fits. */
	note->storage = malloc(len + 1);
	if (!note->storage)
		return -1;
	memcpy(note->storage, buf, split + 1);
	note->storage[split + 1] = '\0';
	note->text = note->storage;
	note->text_len = split + 1;
	return parse_sig_block(buf + split + 2, len - split - 2, note,
						   note->storage + split + 2);
}

void
bl_note_free(bl_note *note)
{
	free(note->storage);
	memset(note, 0, sizeof(*note));
}

char *
bl_note_sign(const char *text, size_t len, const char *name, void *priv)
{
	uint8_t		pub[BL_ED25519_PUB_LEN];
	uint8_t		blob[BL_NOTE_KEY_ID_LEN + BL_ED25519_SIG_LEN];
	char	   *line;
	char	   *out;

	if (!note_text_valid(text, len) ||
		bl_ed25519_raw_public(priv, pub) != 0 ||
		bl_note_key_id(name, BL_NOTE_ALG_ED25519, pub, blob) != 0 ||
		bl_ed25519_sign(priv, (const uint8_t *) text, len,
						blob + BL_NOTE_KEY_ID_LEN) != 0)
		return NULL;
	line = sig_line(name, blob, sizeof(blob));
	if (!line)
		return NULL;
	out = concat3(text, len, "\n", 1, line, strlen(line));
	free(line);
	return out;
}

/* Checks one signature line from the key; 1 valid, 0 invalid, -1 error. */
typedef int (*sig_check_fn) (const bl_note *note, const bl_note_sig *sig,
							 void *key, uint64_t *timestamp);

static int
check_ed25519(const bl_note *note, const bl_note_sig *sig, void *key,
			  uint64_t *timestamp)
{
	(void) timestamp;
	if (sig->sig_len != BL_ED25519_SIG_LEN)
		return 0;
	return bl_ed25519_verify(key, (const uint8_t *) note->text,
							 note->text_len, sig->sig);
}

static int	verify_lines_found(const bl_note *note, const char *name, uint8_t alg,
							   const uint8_t pub[BL_ED25519_PUB_LEN], sig_check_fn check,
							   uint64_t *timestamp, int *found_out);

/*
 * The signed-note rule: lines whose (name, key ID) is not the key's are
 * ignored; at least one must be the key's, and every one of those must
 * verify (a failing line from a known key rejects the note).
 */
static int
verify_lines(const bl_note *note, const char *name, uint8_t alg,
			 const uint8_t pub[BL_ED25519_PUB_LEN], sig_check_fn check, uint64_t *timestamp)
{
	int			found;

	return verify_lines_found(note, name, alg, pub, check, timestamp, &found);
}

/* verify_lines(), saying also (*found) whether a line is the key's at all */
static int
verify_lines_found(const bl_note *note, const char *name, uint8_t alg,
				   const uint8_t pub[BL_ED25519_PUB_LEN], sig_check_fn check, uint64_t *timestamp,
				   int *found_out)
{
	uint8_t		id[BL_NOTE_KEY_ID_LEN];
	void	   *key;
	int			found = 0;
	int			rc = 1;

	if (bl_note_key_id(name, alg, pub, id) != 0 ||
		!(key = bl_ed25519_pub_new(pub)))
		return -1;
	for (int i = 0; i < note->nsigs && rc == 1; i++)
	{
		const bl_note_sig *sig = &note->sigs[i];

		if (strcmp(sig->name, name) != 0 ||
			memcmp(sig->key_id, id, BL_NOTE_KEY_ID_LEN) != 0)
			continue;
		found = 1;
		rc = check(note, sig, key, timestamp);
	}
	bl_ed25519_pub_free(key);
	*found_out = found;
	return found ? rc : 0;
}

int
bl_note_verify(const bl_note *note, const char *name, const uint8_t pub[BL_ED25519_PUB_LEN])
{
	return verify_lines(note, name, BL_NOTE_ALG_ED25519, pub, check_ed25519,
						NULL);
}

int
bl_note_newest_signer(const bl_note *note, const bl_vkey *keys, int n, int era)
{
	int			best = -1;

	/*
	 * Every listed key is asked, not only those down to the newest signer:
	 * a line that is a listed key's (its name and key ID) and does not
	 * verify rejects the note, as the signed-note rule and Go's note.Open
	 * have it, so that a note signed by an older key cannot carry a forged
	 * line for a newer one (red team r18).
	 */
	for (int k = n - 1; k >= 0; k--)
	{
		int			found;
		int			rc = verify_lines_found(note, keys[k].name, BL_NOTE_ALG_ED25519, keys[k].pub,
											check_ed25519, NULL, &found);

		if (found && rc != 1)
			return -1;
		if (rc == 1 && best < 0 && k >= era)
			best = k;
	}
	return best;
}

/* ------------------------------------------------------- cosignatures */

uint8_t *
bl_cosig_message(const char *body, size_t len, uint64_t timestamp,
				 size_t *msg_len)
{
	char		head[64];
	int			hlen;
	uint8_t    *out;

	if (timestamp > (uint64_t) BL_COSIG_MAX_TIME)
		return NULL;
	hlen = snprintf(head, sizeof(head), COSIG_HEADER "time %" PRIu64 "\n",
					timestamp);
	out = malloc((size_t) hlen + len + 1);
	if (!out)
		return NULL;
	memcpy(out, head, (size_t) hlen);
	memcpy(out + hlen, body, len);
	*msg_len = (size_t) hlen + len;
	return out;
}

/* Key ID || u64be(timestamp) || Ed25519 signature of the cosigned message. */
static int
cosig_blob(const char *body, size_t len, const char *name, void *priv,
		   uint64_t timestamp, uint8_t blob[4 + 8 + 64])
{
	uint8_t		pub[BL_ED25519_PUB_LEN];
	uint8_t    *msg;
	size_t		msg_len;
	int			rc;

	if (bl_ed25519_raw_public(priv, pub) != 0 ||
		bl_note_key_id(name, BL_NOTE_ALG_COSIG_V1, pub, blob) != 0 ||
		!(msg = bl_cosig_message(body, len, timestamp, &msg_len)))
		return -1;
	bl_put_be64(blob + 4, timestamp);
	rc = bl_ed25519_sign(priv, msg, msg_len, blob + 12);
	free(msg);
	return rc;
}

char *
bl_note_cosign(const char *buf, size_t len, const char *name, void *priv,
			   uint64_t timestamp)
{
	bl_note		note;
	bl_checkpoint cp;
	uint8_t		blob[4 + 8 + 64];
	char	   *line = NULL;
	char	   *out = NULL;

	/* Only checkpoints are cosigned, and the result must stay parseable. */
	if (bl_note_parse(buf, len, &note) == 0 &&
		note.nsigs < BL_NOTE_MAX_SIGS &&
		bl_checkpoint_parse(note.text, note.text_len, &cp) == 0 &&
		cosig_blob(note.text, note.text_len, name, priv, timestamp, blob) == 0)
		line = sig_line(name, blob, sizeof(blob));
	if (line)
		out = concat3(buf, len, line, strlen(line), "", 0);
	free(line);
	bl_note_free(&note);
	return out;
}

static int
check_cosig(const bl_note *note, const bl_note_sig *sig, void *key,
			uint64_t *timestamp)
{
	uint64_t	t;
	uint8_t    *msg;
	size_t		msg_len;
	int			rc;

	if (sig->sig_len != 8 + BL_ED25519_SIG_LEN)
		return 0;
	t = bl_get_be64(sig->sig);
	if (t > (uint64_t) BL_COSIG_MAX_TIME)
		return 0;
	msg = bl_cosig_message(note->text, note->text_len, t, &msg_len);
	if (!msg)
		return -1;
	rc = bl_ed25519_verify(key, msg, msg_len, sig->sig + 8);
	free(msg);
	if (rc == 1 && timestamp && t > *timestamp)
		*timestamp = t;
	return rc;
}

int
bl_cosig_verify(const bl_note *note, const char *name, const uint8_t pub[BL_ED25519_PUB_LEN],
				uint64_t *timestamp)
{
	bl_checkpoint cp;
	uint64_t	t = 0;
	int			rc;

	if (bl_checkpoint_parse(note->text, note->text_len, &cp) != 0)
		return 0;
	rc = verify_lines(note, name, BL_NOTE_ALG_COSIG_V1, pub, check_cosig, &t);
	if (rc == 1 && timestamp)
		*timestamp = t;
	return rc;
}

/* ------------------------------------------------ verification (vkeys) */

static int
reject(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return 0;
}

static int
witnesses_ok(const bl_note *note, const bl_vkey *w, int nw, const char **why)
{
	for (int i = 0; i < nw; i++)
	{
		if (w[i].alg != BL_NOTE_ALG_COSIG_V1)
			return reject(why, "witness key is not a cosignature/v1 key");
		if (bl_cosig_verify(note, w[i].name, w[i].pub, NULL) != 1)
			return reject(why, "missing or invalid witness cosignature");
	}
	return 1;
}

int
bl_witness_quorum(const bl_note *note, const bl_vkey *w, int nw, int min, const char **why)
{
	int			valid = 0;

	for (int i = 0; i < nw; i++)
	{
		int			repeated = 0;

		if (w[i].alg != BL_NOTE_ALG_COSIG_V1)
			return reject(why, "witness key is not a cosignature/v1 key");
		/*
		 * A witness given twice counts once, and so does one key under two
		 * names: a cosignature/v1 signature does not cover the cosigner's
		 * name, so anybody holding one line by the key (the log operator)
		 * can write it again under the other name and its key ID.
		 */
		for (int j = 0; j < i && !repeated; j++)
			repeated = (strcmp(w[i].name, w[j].name) == 0 &&
						memcmp(w[i].key_id, w[j].key_id, BL_NOTE_KEY_ID_LEN) == 0) ||
				memcmp(w[i].pub, w[j].pub, BL_ED25519_PUB_LEN) == 0;
		if (!repeated && bl_cosig_verify(note, w[i].name, w[i].pub, NULL) == 1)
			valid++;
	}
	if (valid < min)
		return reject(why, "fewer valid witness cosignatures than the policy requires");
	return 1;
}

/*
 * Does the text end with an empty line?  A signed note ends right after its
 * last signature line; the usual way to get one wrong is psql -At, which
 * prints the stored text and then a newline of its own.
 */
static int
extra_blank_line(const char *buf, size_t len)
{
	return len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n';
}

int
bl_checkpoint_open(const char *buf, size_t len, const bl_vkey *log,
				   const char *origin, const bl_vkey *witnesses,
				   int nwitnesses, bl_note *note, bl_checkpoint *cp,
				   const char **why)
{
	const char *want = origin ? origin : log->name;
	int			rc;

	memset(cp, 0, sizeof(*cp));
	if (bl_note_parse(buf, len, note) != 0)
		return reject(why, extra_blank_line(buf, len) ?
					  "malformed signed note: a blank line follows the signatures "
					  "(psql -At adds a newline: save it with printf '%s\\n' \"$(psql -At ...)\")" :
					  "malformed signed note");
	if (log->alg != BL_NOTE_ALG_ED25519)
		return reject(why, "log key is not an Ed25519 note key");
	/* The text means nothing until a trusted signature covers it. */
	rc = bl_note_verify(note, log->name, log->pub);
	if (rc < 0)
		return reject(why, "log key cannot be used");
	if (rc == 0)
		return reject(why, "no valid signature by the log key");
	if (bl_checkpoint_parse(note->text, note->text_len, cp) != 0)
		return reject(why, "signed note is not a checkpoint");
	if (cp->origin_len != strlen(want) ||
		memcmp(cp->origin, want, cp->origin_len) != 0)
		return reject(why, "checkpoint origin is not the expected log");
	return witnesses_ok(note, witnesses, nwitnesses, why);
}

/* ----------------------------------------------------------- tlog-proof */

char *
bl_tlog_proof_format(uint64_t index, const uint8_t (*proof)[BL_HASH_LEN], size_t n,
					 const uint8_t *extra, size_t extra_len,
					 const char *note, size_t note_len)
{
	size_t		cap = sizeof(BL_TLOG_PROOF_HEADER) + 8 +
		bl_base64_encoded_len(extra_len) + 32 /* "index <u64>\n": at most 27 */ +
		n * (B64_HASH_LEN + 1) + 1 + note_len + 1;
	char	   *out;
	char	   *p;

	if (n > BL_TLOG_PROOF_MAX || note_len == 0 || !(out = malloc(cap)))
		return NULL;
	p = out + sprintf(out, "%s\n", BL_TLOG_PROOF_HEADER);
	if (extra && extra_len > 0)
	{
		p += sprintf(p, "extra ");
		bl_base64_encode(extra, extra_len, p);
		p += strlen(p);
		*p++ = '\n';
	}
	p += sprintf(p, "index %" PRIu64 "\n", index);
	for (size_t i = 0; i < n; i++)
	{
		bl_base64_encode(proof[i], BL_HASH_LEN, p);
		p += B64_HASH_LEN;
		*p++ = '\n';
	}
	*p++ = '\n';
	memcpy(p, note, note_len);
	p[note_len] = '\0';
	return out;
}

/* Optional "extra <base64>" line; *line is advanced past it if present. */
static int
parse_extra(const char *buf, size_t len, size_t *pos, const char **line,
			size_t *n, bl_tlog_proof *out)
{
	if (!has_prefix(*line, *n, "extra "))
		return 0;
	out->extra = *line + 6;
	out->extra_len = *n - 6;
	/* An empty extra is "no extra data", which the spec spells as no line. */
	if (out->extra_len == 0 || bl_base64_check(out->extra, out->extra_len) != 0)
		return -1;
	return next_line(buf, len, pos, line, n);
}

int
bl_tlog_proof_parse(const char *buf, size_t len, bl_tlog_proof *out)
{
	size_t		pos = 0;
	const char *line;
	size_t		n;

	memset(out, 0, sizeof(*out));
	if (next_line(buf, len, &pos, &line, &n) != 0 ||
		n != strlen(BL_TLOG_PROOF_HEADER) ||
		memcmp(line, BL_TLOG_PROOF_HEADER, n) != 0 ||
		next_line(buf, len, &pos, &line, &n) != 0 ||
		parse_extra(buf, len, &pos, &line, &n, out) != 0 ||
		!has_prefix(line, n, "index ") ||
		bl_parse_u64(line + 6, n - 6, &out->index) != 0)
		return -1;
	/* Hashes up to the empty line that introduces the checkpoint. */
	for (;;)
	{
		if (next_line(buf, len, &pos, &line, &n) != 0)
			return -1;
		if (n == 0)
			break;
		if (out->n >= BL_TLOG_PROOF_MAX ||
			b64_hash(line, n, out->proof[out->n]) != 0)
			return -1;
		out->n++;
	}
	if (pos >= len)
		return -1;
	out->note = buf + pos;
	out->note_len = len - pos;
	return 0;
}

int
bl_tlog_proof_verify(const char *buf, size_t len, const bl_vkey *log,
					 const char *origin, const bl_vkey *witnesses,
					 int nwitnesses, const uint8_t leaf_hash[BL_HASH_LEN],
					 bl_tlog_proof *proof, bl_note *note, bl_checkpoint *cp,
					 const char **why)
{
	memset(note, 0, sizeof(*note));
	if (bl_tlog_proof_parse(buf, len, proof) != 0)
		return reject(why, extra_blank_line(buf, len) ?
					  "malformed tlog-proof: a blank line follows the signatures "
					  "(psql -At adds a newline: save it with printf '%s\\n' \"$(psql -At ...)\")" :
					  "malformed tlog-proof");
	if (!bl_checkpoint_open(proof->note, proof->note_len, log, origin,
							witnesses, nwitnesses, note, cp, why))
		return 0;
	if (proof->index >= cp->size)
		return reject(why, "leaf index is outside the checkpointed tree");
	if (!bl_merkle_verify_inclusion(proof->index, cp->size, leaf_hash,
									(const uint8_t (*)[BL_HASH_LEN]) proof->proof,
									proof->n, cp->root))
		return reject(why, "inclusion proof does not lead to the checkpoint root");
	return 1;
}
