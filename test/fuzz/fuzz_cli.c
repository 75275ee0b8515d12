/*
 * fuzz_cli — the command-line tool's own input handling (src/cli/), which
 * auditors run on files they were sent: the input is written to a memory
 * file and given to verify-proof (--proof), verify-checkpoint (--file),
 * verify-inclusion and verify-consistency (--proof-file / --proof) as the
 * commands would get it, and to the CLI's hex decoder.
 *
 * The CLI's files are included, with main renamed and stdout/stderr sent
 * to /dev/null, so that its commands can be called directly.
 */
#define _GNU_SOURCE				/* memfd_create */
#include <stdio.h>
#include <ctype.h>
#include <sys/mman.h>

static FILE *fuzz_null;

#undef stdout
#undef stderr
#define stdout fuzz_null
#define stderr fuzz_null
#define main battledger_cli_main
#include "../../src/cli/cli.c"
#include "../../src/cli/cli_io.c"
#include "../../src/cli/cli_keys.c"
#include "../../src/cli/cli_note.c"
#include "../../src/cli/cli_proof.c"
#undef main
#undef stdout
#undef stderr

#include "fuzz.h"

/* The seeds' tree, signed with the fixed key at sizes 7 and 13. */
static char path_in[64];
static char path_cp7[64];
static char path_cp13[64];
static char log_vkey[512];
static char wit_vkey[512];
static char root13_b64[48];
static char leaf5_b64[48];
static int	fd_in = -1;

static int
memfile(const char *name, const char *text, char *path)
{
	int			fd = memfd_create(name, 0);

	if (fd < 0 || (text && write(fd, text, strlen(text)) != (ssize_t) strlen(text)))
		abort();
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

static void
tree_root(uint64_t size, uint8_t root[32])
{
	bl_compact	c;
	uint8_t		leaf[32];

	bl_compact_init(&c);
	for (uint64_t i = 0; i < size; i++)
	{
		fuzz_leaf_hash(i, leaf);
		FUZZ_CHECK(bl_compact_append(&c, leaf, NULL, NULL) == 0);
	}
	FUZZ_CHECK(bl_compact_root(&c, root) == 0);
}

static char *
signed_checkpoint(const fuzz_keys *k, uint64_t size)
{
	uint8_t		root[32];
	char	   *body;
	char	   *note;

	tree_root(size, root);
	body = bl_checkpoint_body(FUZZ_LOG_NAME, size, root, NULL, 0);
	FUZZ_CHECK(body != NULL);
	note = bl_note_sign(body, strlen(body), FUZZ_LOG_NAME, k->priv);
	FUZZ_CHECK(note != NULL);
	free(body);
	return note;
}

int			LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const fuzz_keys *k = fuzz_get_keys();
	uint8_t		h[32];
	char	   *s;

	(void) argc;
	(void) argv;
	fuzz_null = fopen("/dev/null", "w");
	FUZZ_CHECK(fuzz_null != NULL);
	fd_in = memfile("input", NULL, path_in);
	s = signed_checkpoint(k, 7);
	memfile("cp7", s, path_cp7);
	free(s);
	s = signed_checkpoint(k, 13);
	memfile("cp13", s, path_cp13);
	free(s);
	s = bl_vkey_format(FUZZ_LOG_NAME, BL_NOTE_ALG_ED25519, k->pub);
	snprintf(log_vkey, sizeof(log_vkey), "%s", s);
	free(s);
	s = bl_vkey_format(FUZZ_WITNESS_NAME, BL_NOTE_ALG_COSIG_V1, k->pub);
	snprintf(wit_vkey, sizeof(wit_vkey), "%s", s);
	free(s);
	tree_root(FUZZ_TREE_SIZE, h);
	bl_base64_encode(h, 32, root13_b64);
	fuzz_leaf_hash(FUZZ_LEAF_INDEX, h);
	bl_base64_encode(h, 32, leaf5_b64);
	return 0;
}

static void
check_hex(const uint8_t *data, size_t size)
{
	size_t		n;
	uint8_t    *out = hex_decode((const char *) data, size, &n);

	if (!out)
		return;
	FUZZ_CHECK(n * 2 == size);
	for (size_t i = 0; i < n; i++)
	{
		char		two[3];

		snprintf(two, sizeof(two), "%02x", out[i]);
		FUZZ_CHECK(tolower(data[2 * i]) == two[0] && tolower(data[2 * i + 1]) == two[1]);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cmd_args	a;
	int			rc;

	check_hex(data, size);
	if (ftruncate(fd_in, 0) != 0 || pwrite(fd_in, data, size, 0) != (ssize_t) size)
		abort();

	memset(&a, 0, sizeof(a));
	a.val[O_VKEY] = log_vkey;
	a.witness[0] = wit_vkey;
	a.nwitness = 1;
	a.val[O_PROOF] = path_in;
	a.val[O_LEAF_HEX] = "6c6561662035";	/* "leaf 5" */
	rc = cmd_verify_proof(&a);
	FUZZ_CHECK(rc == EXIT_OK || rc == EXIT_BAD);

	memset(&a, 0, sizeof(a));
	a.val[O_VKEY] = log_vkey;
	a.val[O_FILE] = path_in;
	rc = cmd_verify_checkpoint(&a);
	FUZZ_CHECK(rc == EXIT_OK || rc == EXIT_BAD);

	memset(&a, 0, sizeof(a));
	a.val[O_SIZE] = "13";
	a.val[O_INDEX] = "5";
	a.val[O_ROOT] = root13_b64;
	a.val[O_LEAF_HASH] = leaf5_b64;
	a.val[O_PROOF_FILE] = path_in;
	rc = cmd_verify_inclusion(&a);
	FUZZ_CHECK(rc == EXIT_OK || rc == EXIT_BAD);

	memset(&a, 0, sizeof(a));
	a.val[O_VKEY] = log_vkey;
	a.val[O_OLD] = path_cp7;
	a.val[O_NEW] = path_cp13;
	a.val[O_PROOF] = path_in;
	rc = cmd_verify_consistency(&a);
	FUZZ_CHECK(rc == EXIT_OK || rc == EXIT_BAD);
	return 0;
}
