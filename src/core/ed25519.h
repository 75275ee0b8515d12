/*
 * ed25519.h — Ed25519 keys and signatures through OpenSSL 3 (libcrypto).
 *
 * Pure code (no PostgreSQL headers), shared by the extension and the
 * command-line tool.  Keys are opaque handles (EVP_PKEY underneath) so that
 * callers never include OpenSSL headers.  Every function clears OpenSSL's
 * error queue after a failure, so a later unrelated call does not report a
 * stale error.
 *
 * Member key id: battledger names a member's key by the full 32-byte digest
 *
 *     key id = SHA-256("battledger key v1\n" || 32-byte raw public key)
 *
 * (not the 4-byte C2SP note key ID, which is only a hint and is computed in
 * note.c).  32 bytes make accidental or engineered collisions irrelevant, so
 * the key id can be stored and compared on its own.
 */
#ifndef BATTLEDGER_ED25519_H
#define BATTLEDGER_ED25519_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define BL_ED25519_PUB_LEN 32
#define BL_ED25519_SIG_LEN 64
#define BL_KEY_ID_PREFIX "battledger key v1\n"

/*
 * May pub be used as a public key?  1 yes; 0 no, with *why (unless why is
 * NULL) a phrase that completes "the key is ...".  OpenSSL verifies under
 * any 32 bytes, and under a key of small order signatures made without a
 * private key verify (R = identity, S = 0 verifies every message under the
 * identity key 01 00..00), so refused are: encodings whose y is 2^255-19 or
 * more (non-canonical; they include second names of small-order points),
 * encodings of no curve point, and the eight points of small order (orders
 * 1, 2, 4 and 8) with either sign bit.  Points of mixed order are accepted.
 */
int			bl_ed25519_pub_is_acceptable(const uint8_t pub[BL_ED25519_PUB_LEN],
										 const char **why);

/*
 * Public keys (extension and CLI).  NULL on error, and for a key that
 * bl_ed25519_pub_is_acceptable refuses: no handle exists for one, so no
 * signature verifies under it, even one stored before keys were checked.
 */
void	   *bl_ed25519_pub_new(const uint8_t pub[BL_ED25519_PUB_LEN]);
void		bl_ed25519_pub_free(void *pub);

/* 1 valid, 0 invalid, -1 error.  Reuses one digest context per process. */
int			bl_ed25519_verify(void *pub, const uint8_t *msg, size_t len,
							  const uint8_t sig[BL_ED25519_SIG_LEN]);

/*
 * The same answer as bl_ed25519_verify, through a digest context kept
 * initialised for pub between calls (*ctx, NULL at first; the caller frees
 * it with bl_ed25519_verify_ctx_free before pub).  Initialising a context
 * (fetching the provider's algorithm, checking the key's type) costs nearly
 * a tenth of a verification; a key that verifies many rows pays it once.
 * Only a "valid" from a reused context is taken as is until one has proved
 * that this OpenSSL verifies twice on one context; any other answer is
 * settled by a fresh context, so an OpenSSL that refuses reuse makes this
 * slower, never wrong.
 */
int			bl_ed25519_verify_ctx(void **ctx, void *pub, const uint8_t *msg, size_t len,
								  const uint8_t sig[BL_ED25519_SIG_LEN]);
void		bl_ed25519_verify_ctx_free(void *ctx);

/* SubjectPublicKeyInfo PEM ("openssl pkey -pubout") to raw: 0 ok, -1 bad. */
int			bl_ed25519_pub_from_pem(const char *pem, size_t len,
									uint8_t out[BL_ED25519_PUB_LEN]);

/* Private keys (CLI only).  Handles are freed with bl_ed25519_priv_free. */
void	   *bl_ed25519_priv_load_pem(const char *pem, size_t len);
void	   *bl_ed25519_generate(void);
int			bl_ed25519_sign(void *priv, const uint8_t *msg, size_t len,
							uint8_t sig[BL_ED25519_SIG_LEN]);
void		bl_ed25519_priv_free(void *priv);

/* Work on either kind of handle.  0 ok / -1; PEM strings are malloc'd. */
int			bl_ed25519_raw_public(void *key, uint8_t out[BL_ED25519_PUB_LEN]);
char	   *bl_ed25519_priv_to_pem(void *priv);
char	   *bl_ed25519_pub_to_pem(void *key);

/*
 * The member key id described above.  Returns 0, or -1 (out zeroed) in the
 * unlikely case OpenSSL cannot hash; callers may ignore the result.
 */
int			bl_key_id(const uint8_t pub[BL_ED25519_PUB_LEN],
					  uint8_t out[BL_HASH_LEN]);

/*
 * Proof of possession (0.23.0): what a key's holder signs to show that it
 * holds the private key of a public key registered for a member
 * (docs/signatures.md, "Proof of possession"):
 *
 *     "battledger key-possession v1\n" || member (UTF-8) || "\n" || public key
 *
 * The public key is the last 32 bytes, so the member between the prefix
 * and it is never ambiguous; no other message a member key signs begins
 * with this prefix (row signing bytes begin "BLR"/"BLS", manifests
 * "battledger batch").  Writes the message to out (if not NULL; it must
 * hold the returned length) and returns its length.
 */
#define BL_KEY_POSSESSION_PREFIX "battledger key-possession v1\n"
size_t		bl_key_possession_message(const char *member, size_t member_len,
									  const uint8_t pub[BL_ED25519_PUB_LEN],
									  uint8_t *out);

#endif
