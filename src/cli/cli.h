/*
 * cli.h — what the files of the `battledger` command-line tool share: exit
 * codes, limits, the parsed options, and the functions of each file,
 * grouped by the file that defines them (src/cli/):
 *
 *   cli.c        options, the command table, usage and main()
 *   cli_io.c     messages, verdicts, files, hex/base64/decimal arguments,
 *                key files and proof files
 *   cli_keys.c   keygen, pubkey, sign, sign-batch
 *   cli_note.c   vkey, sign-checkpoint, cosign, verify-checkpoint
 *   cli_proof.c  leaf, verify-proof, verify-consistency, verify-inclusion,
 *                verify-consistency-raw
 *
 * Pure C and libcrypto (through src/core); no PostgreSQL header.
 */
#ifndef BATTLEDGER_CLI_H
#define BATTLEDGER_CLI_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "ed25519.h"
#include "merkle.h"
#include "note.h"

#define EXIT_OK 0
#define EXIT_BAD 1
#define EXIT_USAGE 2

#define MAX_INPUT (16 * 1024 * 1024)	/* messages, leaves, batch lists */
#define MAX_TEXT (1024 * 1024)	/* keys, notes, proofs */
#define MAX_WITNESSES 16
#define MAX_PROOF_LINES 128		/* beyond any valid proof; verifier rejects */

/* Lets the compiler check the format strings of the message helpers. */
#ifdef __GNUC__
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* The options of every command (cli.c's table names them). */
typedef enum opt_id
{
	O_HELP, O_OUT, O_KEY, O_HEX, O_BATCH_ID, O_NAME, O_COSIGNER, O_VKEY,
	O_FILE, O_ORIGIN, O_WITNESS, O_PROOF, O_LEAF_HEX, O_LEAF_FILE, O_OLD,
	O_NEW, O_SIZE, O_INDEX, O_ROOT, O_LEAF_HASH, O_PROOF_FILE, O_SIZE1,
	O_SIZE2, O_ROOT1, O_ROOT2, O_TIME, O_MIN_WITNESSES, O_TABLE, O_SEQ, O_PREV, O_ROW_HASH,
	O_OLD_VKEY, O_MEMBER, O_COUNT
} opt_id;

/* One command line, parsed: the value of each option given ("" if it takes none). */
typedef struct cmd_args
{
	const char *val[O_COUNT];
	const char *witness[MAX_WITNESSES];
	int			nwitness;
} cmd_args;

/* cli_io.c: messages (stderr / verdict line on stdout) and their exit status */
void PRINTF_LIKE(1, 0) print_error(const char *fmt, va_list ap);
int PRINTF_LIKE(1, 2) fail_error(const char *fmt,...);
int PRINTF_LIKE(1, 2) usage_error(const char *fmt,...);
int PRINTF_LIKE(1, 2) verdict_ok(const char *fmt,...);
int verdict_fail(const char *reason);

/* cli_io.c: input */
char * read_all(const char *path, size_t max, size_t *len);
uint8_t * hex_decode(const char *s, size_t len, size_t *out_len);
void print_hex(FILE *f, const uint8_t *p, size_t n);
void print_hex_field(FILE *f, const char *label, const uint8_t *p, size_t n);
int parse_u64_arg(const char *opt, const char *s, uint64_t *out);
int parse_b64_arg(const char *opt, const char *s, uint8_t *out, size_t cap, size_t *len);
int parse_vkey_arg(const char *opt, const char *s, bl_vkey *out);
void * load_private_key(const char *path);
int load_public_key(const char *path, uint8_t pub[BL_ED25519_PUB_LEN]);
int read_proof_file(const char *path, uint8_t (*out)[BL_HASH_LEN], size_t *n, const char **why);

/* cli_keys.c: commands */
int cmd_keygen(const cmd_args *a);
int cmd_pubkey(const cmd_args *a);
int cmd_sign(const cmd_args *a);
int cmd_sign_batch(const cmd_args *a);
int cmd_prove_key(const cmd_args *a);

/* cli_note.c: commands, and the checkpoint checks cli_proof.c shares */
int cmd_vkey(const cmd_args *a);
int cmd_sign_checkpoint(const cmd_args *a);
int cmd_cosign(const cmd_args *a);
int cmd_verify_checkpoint(const cmd_args *a);
int parse_keys(const cmd_args *a, bl_vkey *log, bl_vkey *witnesses);
int quorum_arg(const cmd_args *a, int *min);
int quorum_ok(const bl_note *note, const bl_vkey *w, const cmd_args *a, int min, const char **why);
int open_checkpoint_file(const char *path, const bl_vkey *log, const char *origin, const bl_vkey *w, int nw, bl_note *note, bl_checkpoint *cp, const char **why);

/* cli_proof.c: commands */
int cmd_leaf(const cmd_args *a);
int cmd_verify_proof(const cmd_args *a);
int cmd_verify_consistency(const cmd_args *a);
int cmd_verify_inclusion(const cmd_args *a);
int cmd_verify_consistency_raw(const cmd_args *a);

#endif
