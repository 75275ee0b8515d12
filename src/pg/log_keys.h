/*
 * log_keys.h — a log's verifier keys across rotations, oldest first, one
 * per line, as the extension reads them (log_keys.c): verify_log()'s
 * log_vkey and the keys pinned for a member
 * (battledger.consortium_member.log_vkey).  Both are parsed by core's
 * bl_vkey_list_parse and checked by its era rule, bl_note_newest_signer.
 */
#ifndef BATTLEDGER_LOG_KEYS_H
#define BATTLEDGER_LOG_KEYS_H

#include <stddef.h>

/* At most this many keys in a list (rotations of one log). */
#define LOG_KEYS_MAX 16

/*
 * What is wrong with the key list text[0..len) for a log of origin `origin`
 * (NULL: any one name), a weak key included (bl_ed25519_pub_is_acceptable),
 * or NULL when nothing is: a palloc'd clause, without
 * capital or final period, such as
 *   line 2 names "x", not the member's origin "y"
 * Line numbers count every line, blank ones too.
 */
extern char *log_keys_problem(const char *text, size_t len, const char *origin);
/* The same for a witness's cosignature/v1 keys across its rotations. */
extern char *witness_keys_problem(const char *text, size_t len, const char *origin);

#endif
