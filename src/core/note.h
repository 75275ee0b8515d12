/*
 * note.h — C2SP text formats: signed-note (with vkeys), tlog-checkpoint,
 * tlog-cosignature/v1 (Ed25519) and tlog-proof@v1.  The codecs they use
 * (base64, decimal, UTF-8) are codec.h's; it is included here because
 * every user of a note also encodes or decodes its hashes.
 *
 * Pure code (no PostgreSQL headers).  Parsers are strict: anything that is
 * not exactly the specified format is rejected with -1 (or 0 from a
 * verifier), never half-accepted.  Strings returned as char * are malloc'd
 * and NUL-terminated; free them with free() (never pfree).
 *
 * Specifications: c2sp.org/signed-note, c2sp.org/tlog-checkpoint,
 * c2sp.org/tlog-cosignature, c2sp.org/tlog-proof.
 */
#ifndef BATTLEDGER_NOTE_H
#define BATTLEDGER_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "ed25519.h"
#include "sha256.h"

/* signed-note signature types (the key ID's algorithm byte) */
#define BL_NOTE_ALG_ED25519 0x01
#define BL_NOTE_ALG_COSIG_V1 0x04	/* tlog-cosignature, Ed25519 */

#define BL_NOTE_MAX_LEN (256 * 1024)	/* whole note, bytes */
#define BL_NOTE_MAX_SIGS 64		/* the spec asks for at least 16 */
#define BL_NOTE_NAME_MAX 255	/* vkey names, bytes */
#define BL_NOTE_KEY_ID_LEN 4
#define BL_COSIG_MAX_TIME INT64_MAX	/* timestamps must not exceed 2^63-1 */
#define BL_TLOG_PROOF_HEADER "c2sp.org/tlog-proof@v1"
#define BL_TLOG_PROOF_MAX 64

/* ---- keys ---- */

/* Non-empty valid UTF-8, no control characters, no Unicode spaces, no '+'. */
int			bl_note_key_name_valid(const char *name, size_t len);

/* SHA-256(name || 0x0A || alg || pub)[:4]: 0 ok, -1 bad name or error. */
int			bl_note_key_id(const char *name, uint8_t alg,
						   const uint8_t pub[BL_ED25519_PUB_LEN],
						   uint8_t out[BL_NOTE_KEY_ID_LEN]);

/* A verifier key: "<name>+<hex key ID>+<base64(alg || pub)>". */
typedef struct bl_vkey
{
	char		name[BL_NOTE_NAME_MAX + 1];
	uint8_t		alg;			/* BL_NOTE_ALG_ED25519 or _COSIG_V1 */
	uint8_t		key_id[BL_NOTE_KEY_ID_LEN];
	uint8_t		pub[BL_ED25519_PUB_LEN];
} bl_vkey;

char	   *bl_vkey_format(const char *name, uint8_t alg, const uint8_t pub[BL_ED25519_PUB_LEN]);
/* 0 ok, -1 malformed, unknown algorithm, or key ID not matching the key. */
int			bl_vkey_parse(const char *s, size_t len, bl_vkey *out);

/*
 * A log's verifier keys across rotations, oldest first, one per line: the
 * rules a list must meet, the first one broken by bl_vkey_list_parse.
 */
typedef enum bl_vkey_list_rule
{
	BL_VKEY_LIST_OK,
	BL_VKEY_LIST_EMPTY,			/* no key (only blank lines, or nothing) */
	BL_VKEY_LIST_TOO_MANY,		/* key number max + 1 is listed */
	BL_VKEY_LIST_BAD_KEY,		/* not an Ed25519 note verifier key */
	BL_VKEY_LIST_DUPLICATE,		/* same name and public key as an earlier line */
	BL_VKEY_LIST_TWO_NAMES		/* not the first key's name: another log */
} bl_vkey_list_rule;

/*
 * Where the list breaks its rule.  key counts keys (blank lines skipped),
 * line counts lines; both from 1, 0 when there is none.  first_key and
 * first_line: the earlier key of a DUPLICATE (the one listed again) or of
 * TWO_NAMES (the first key, whose name the others must have).
 */
typedef struct bl_vkey_list_error
{
	bl_vkey_list_rule rule;
	int			key;
	int			line;
	int			first_key;
	int			first_line;
} bl_vkey_list_error;

/*
 * Parse a list of a log's verifier keys, oldest first: lines split on LF, a
 * trailing CR stripped (a list pasted from a Windows file), blank lines
 * skipped; each line an Ed25519 note verifier key, at most max of them, none
 * listed twice (a duplicate would let a retired key sign again after a newer
 * one: red team r17k F2), all of one name (one log).  Returns how many keys
 * (out[0..n-1]), or -1 with *err saying which rule and where; then, for
 * DUPLICATE and TWO_NAMES, out[err->key - 1] holds the offending key and
 * out[err->first_key - 1] the earlier one.
 */
int			bl_vkey_list_parse(const char *p, size_t len, bl_vkey *out, int max,
							   bl_vkey_list_error *err);
/*
 * The same rules for keys of algorithm alg: BL_NOTE_ALG_COSIG_V1 for a
 * witness's cosignature keys across its rotations (BAD_KEY then means not
 * a key of that algorithm).
 */
int			bl_vkey_list_parse_alg(const char *p, size_t len, uint8_t alg, bl_vkey *out,
								   int max, bl_vkey_list_error *err);
/* The line number of key number `key` of such a list (both from 1). */
int			bl_vkey_list_line(const char *p, size_t len, int key);

/* ---- checkpoints (note text) ---- */

/* Fields of a parsed checkpoint body; pointers into the parsed text. */
typedef struct bl_checkpoint
{
	const char *origin;
	size_t		origin_len;
	uint64_t	size;
	uint8_t		root[BL_HASH_LEN];
	const char *ext;			/* extension lines incl. newlines, or NULL */
	size_t		ext_len;
} bl_checkpoint;

/* "origin\nsize\nbase64(root)\n" then each extension line; NULL if invalid. */
char	   *bl_checkpoint_body(const char *origin, uint64_t size,
							   const uint8_t root[BL_HASH_LEN],
							   const char *const *ext, int n_ext);
int			bl_checkpoint_parse(const char *text, size_t len,
								bl_checkpoint *cp);

/* ---- signed notes ---- */

typedef struct bl_note_sig
{
	const char *name;			/* NUL-terminated, in the note's storage */
	uint8_t		key_id[BL_NOTE_KEY_ID_LEN];
	const uint8_t *sig;			/* signature bytes after the key ID */
	size_t		sig_len;
} bl_note_sig;

typedef struct bl_note
{
	const char *text;			/* includes its final newline; NUL-terminated */
	size_t		text_len;
	int			nsigs;
	bl_note_sig sigs[BL_NOTE_MAX_SIGS];
	char	   *storage;		/* the one allocation behind the pointers */
} bl_note;

/* 0 ok, -1 malformed.  Always call bl_note_free afterwards (safe on failure). */
int			bl_note_parse(const char *buf, size_t len, bl_note *note);
void		bl_note_free(bl_note *note);

/* Note text plus one Ed25519 signature line by key `name`; NULL if invalid. */
char	   *bl_note_sign(const char *text, size_t len, const char *name,
						 void *priv);

/*
 * 1 if at least one signature line from (name, pub) is present and every
 * such line verifies; 0 otherwise (lines from other keys are ignored);
 * -1 if the key cannot be used.
 */
int			bl_note_verify(const bl_note *note, const char *name,
						   const uint8_t pub[BL_ED25519_PUB_LEN]);

/*
 * The era rule of a log's keys across rotations (keys oldest first, as from
 * bl_vkey_list_parse): each checkpoint must verify under the key of its era
 * or a newer one, and the newest key that verifies it sets the next era (a
 * note signed by the old and the new key during a handover retires the old
 * one: red team r17k F1).  Returns the newest k >= era (era < 0 counts as 0)
 * for which bl_note_verify(note, keys[k]) is 1, else -1; -1 too when a line
 * of any listed key (its name and key ID) does not verify.  Only the keys'
 * names and public keys are read: the caller vouches they are Ed25519 keys.
 */
int			bl_note_newest_signer(const bl_note *note, const bl_vkey *keys,
								  int n, int era);

/* ---- tlog-cosignature/v1 (Ed25519, key ID algorithm byte 0x04) ---- */

/* "cosignature/v1\ntime <t>\n" || body; malloc'd, length in *msg_len. */
uint8_t    *bl_cosig_message(const char *body, size_t len, uint64_t timestamp,
							 size_t *msg_len);
/* The note (a signed checkpoint) with one cosignature line appended. */
char	   *bl_note_cosign(const char *note, size_t len, const char *name,
						   void *priv, uint64_t timestamp);
/* Like bl_note_verify, for cosignatures; *timestamp gets the latest one. */
int			bl_cosig_verify(const bl_note *note, const char *name,
							const uint8_t pub[BL_ED25519_PUB_LEN], uint64_t *timestamp);

/* ---- verification with vkeys (one-line reasons for the caller) ---- */

/*
 * Parse and verify a checkpoint note signed by `log` (an Ed25519 vkey) whose
 * origin is `origin` (NULL: the log key's name), then check that every
 * witness has cosigned it.  Returns 1 ok, 0 rejected with *why set.  The
 * caller frees note, which cp points into, with bl_note_free.
 */
int			bl_checkpoint_open(const char *buf, size_t len, const bl_vkey *log,
							   const char *origin, const bl_vkey *witnesses,
							   int nwitnesses, bl_note *note,
							   bl_checkpoint *cp, const char **why);

/*
 * Policy "at least min of these witnesses": counts the witnesses in w whose
 * cosignature on the (already verified) note is valid, each public key once
 * (whatever names it is listed under).  1 ok, 0 rejected.
 */
int			bl_witness_quorum(const bl_note *note, const bl_vkey *w, int nw,
							  int min, const char **why);

/* ---- tlog-proof@v1 ---- */

typedef struct bl_tlog_proof
{
	uint64_t	index;
	size_t		n;
	uint8_t		proof[BL_TLOG_PROOF_MAX][BL_HASH_LEN];
	const char *extra;			/* base64 text in the buffer, or NULL */
	size_t		extra_len;
	const char *note;			/* the checkpoint note, in the buffer */
	size_t		note_len;
} bl_tlog_proof;

char	   *bl_tlog_proof_format(uint64_t index, const uint8_t (*proof)[BL_HASH_LEN],
								 size_t n, const uint8_t *extra,
								 size_t extra_len, const char *note,
								 size_t note_len);
/* Structure only (the note is checked by bl_tlog_proof_verify): 0 / -1. */
int			bl_tlog_proof_parse(const char *buf, size_t len,
								bl_tlog_proof *out);

/*
 * The whole tlog-proof check: structure, checkpoint signature and origin,
 * witness cosignatures, then inclusion of leaf_hash at the proof's index.
 * 1 ok, 0 rejected with *why set.  proof, note and cp receive the parsed
 * parts (cp points into note); free note with bl_note_free in all cases.
 */
int			bl_tlog_proof_verify(const char *buf, size_t len,
								 const bl_vkey *log, const char *origin,
								 const bl_vkey *witnesses, int nwitnesses,
								 const uint8_t leaf_hash[BL_HASH_LEN],
								 bl_tlog_proof *proof, bl_note *note,
								 bl_checkpoint *cp, const char **why);

#endif
