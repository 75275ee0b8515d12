/*
 * cli.c — the `battledger` command-line tool for members and auditors:
 * key generation, signing, and offline verification of checkpoints,
 * tlog-proofs and Merkle proofs, with no database.  This file holds the
 * options, the command table and main(); the commands are in cli_keys.c,
 * cli_note.c and cli_proof.c, their shared input and output in cli_io.c
 * (cli.h).
 *
 * Build (pure C, libcrypto only):
 *   gcc -std=c99 -O2 -Isrc/core -o battledger src/cli/cli*.c src/core/codec.c src/core/note.c src/core/ed25519.c \
 *       src/core/merkle.c src/core/batch.c src/core/sha256.c -lcrypto
 *
 * Exit codes: 0 success / verified, 1 verification failed or runtime error,
 * 2 usage error.  Errors are one line, "battledger: error: ...", on stderr;
 * verifiers print one verdict line, "OK: ..." or "FAIL: ...", on stdout.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#ifndef BL_VERSION
#define BL_VERSION "unknown"
#endif

/* ------------------------------------------------------------ options */


typedef struct opt_def
{
	const char *name;
	int			has_value;
} opt_def;

static const opt_def opt_defs[O_COUNT] = {
	[O_HELP] = {"--help", 0},
	[O_OUT] = {"--out", 1},
	[O_KEY] = {"--key", 1},
	[O_HEX] = {"--hex", 1},
	[O_BATCH_ID] = {"--batch-id", 1},
	[O_NAME] = {"--name", 1},
	[O_COSIGNER] = {"--cosigner", 0},
	[O_VKEY] = {"--vkey", 1},
	[O_FILE] = {"--file", 1},
	[O_ORIGIN] = {"--origin", 1},
	[O_WITNESS] = {"--witness", 1},
	[O_PROOF] = {"--proof", 1},
	[O_LEAF_HEX] = {"--leaf-hex", 1},
	[O_LEAF_FILE] = {"--leaf-file", 1},
	[O_OLD] = {"--old", 1},
	[O_NEW] = {"--new", 1},
	[O_SIZE] = {"--size", 1},
	[O_INDEX] = {"--index", 1},
	[O_ROOT] = {"--root", 1},
	[O_LEAF_HASH] = {"--leaf-hash", 1},
	[O_PROOF_FILE] = {"--proof-file", 1},
	[O_SIZE1] = {"--size1", 1},
	[O_SIZE2] = {"--size2", 1},
	[O_ROOT1] = {"--root1", 1},
	[O_ROOT2] = {"--root2", 1},
	[O_TIME] = {"--time", 1},
	[O_MIN_WITNESSES] = {"--min-witnesses", 1},
	[O_TABLE] = {"--table", 1},
	[O_SEQ] = {"--seq", 1},
	[O_PREV] = {"--prev", 1},
	[O_ROW_HASH] = {"--hash", 1},
	[O_OLD_VKEY] = {"--old-vkey", 1},
	[O_MEMBER] = {"--member", 1},
};

#define BIT(o) ((uint64_t) 1 << (o))


typedef int (*cmd_fn) (const cmd_args *a);

typedef struct command
{
	const char *name;
	cmd_fn		fn;
	uint64_t	allowed;
	uint64_t	required;
	const char *synopsis;
	const char *help;
} command;

/* ------------------------------------------------------------ dispatch */

static const command commands[] = {
	{"keygen", cmd_keygen, BIT(O_OUT), 0,
		"keygen [--out PREFIX]",
		"Generate an Ed25519 key.  With --out, write PREFIX.key (PKCS#8 PEM,\n"
		"mode 0600) and PREFIX.pub (public PEM), never overwriting, and print\n"
		"the raw public key and member key id (hex).  Without --out, print the\n"
		"private PEM on stdout and the public key and key id on stderr.\n"},
	{"pubkey", cmd_pubkey, BIT(O_KEY), BIT(O_KEY),
		"pubkey --key FILE",
		"Print the raw public key (hex), the member key id\n"
		"(SHA-256(\"battledger key v1\\n\" || public key), hex) and the public\n"
		"PEM of a private or public key file.\n"},
	{"sign", cmd_sign, BIT(O_KEY) | BIT(O_HEX), BIT(O_KEY),
		"sign --key FILE [--hex HEX]",
		"Sign the bytes given as --hex, or the raw bytes read from stdin, and\n"
		"print the 64-byte Ed25519 signature as hex.\n"},
	{"sign-batch", cmd_sign_batch, BIT(O_KEY) | BIT(O_BATCH_ID) | BIT(O_TABLE),
		BIT(O_KEY) | BIT(O_BATCH_ID) | BIT(O_TABLE),
		"sign-batch --key FILE --table SCHEMA.TABLE --batch-id ID",
		"Read content hashes (64 hex digits, one per line) from stdin, compute\n"
		"the RFC 6962 root over their leaf hashes, and sign the manifest\n"
		"\"battledger batch v2\\n\" || u16be(len) || TABLE || ID || \"\\n\"\n"
		"|| u64be(count) || root (the table as schema.table, unquoted).\n"
		"Prints root, count and signature (hex).\n"},
	{"prove-key", cmd_prove_key, BIT(O_KEY) | BIT(O_MEMBER), BIT(O_KEY) | BIT(O_MEMBER),
		"prove-key --key FILE --member NAME",
		"Sign the proof of possession of the key for member NAME,\n"
		"\"battledger key-possession v1\\n\" || NAME || \"\\n\" || public key,\n"
		"and print the key id and the signature (hex), for\n"
		"battledger.prove_key(key_id, signature) (docs/signatures.md).\n"},
	{"vkey", cmd_vkey, BIT(O_KEY) | BIT(O_NAME) | BIT(O_COSIGNER),
		BIT(O_KEY) | BIT(O_NAME),
		"vkey --key FILE --name NAME [--cosigner]",
		"Print the C2SP verifier key NAME+KEYID+BASE64 of a key file: an\n"
		"Ed25519 note key, or with --cosigner a tlog-cosignature/v1 key.\n"},
	{"sign-checkpoint", cmd_sign_checkpoint,
		BIT(O_KEY) | BIT(O_ORIGIN) | BIT(O_SIZE) | BIT(O_ROOT) | BIT(O_NAME),
		BIT(O_KEY) | BIT(O_ORIGIN) | BIT(O_SIZE) | BIT(O_ROOT),
		"sign-checkpoint --key FILE --origin ORIGIN --size N --root B64 [--name NAME]",
		"Print a C2SP checkpoint note for the tree (N, root) signed with the key\n"
		"under NAME (default: the origin).\n"},
	{"cosign", cmd_cosign, BIT(O_KEY) | BIT(O_NAME) | BIT(O_TIME) | BIT(O_FILE),
		BIT(O_KEY) | BIT(O_NAME),
		"cosign --key FILE --name NAME [--time UNIX] [--file F]",
		"Append a tlog-cosignature/v1 line by witness NAME to the checkpoint note\n"
		"read from F (default stdin) and print the note.  Verify the checkpoint\n"
		"and its consistency with what you saw before cosigning it.\n"},
	{"verify-checkpoint", cmd_verify_checkpoint,
		BIT(O_VKEY) | BIT(O_FILE) | BIT(O_ORIGIN) | BIT(O_WITNESS) | BIT(O_MIN_WITNESSES), BIT(O_VKEY),
		"verify-checkpoint --vkey VKEY [--file F] [--origin O] [--witness VKEY]... [--min-witnesses K]",
		"Verify a checkpoint note (from F or stdin) signed by VKEY, whose origin\n"
		"must be O (default: the key's name), cosigned by every --witness, or\n"
		"with --min-witnesses by at least K of them.\n"},
	{"leaf", cmd_leaf, BIT(O_TABLE) | BIT(O_SEQ) | BIT(O_PREV) | BIT(O_ROW_HASH),
		BIT(O_TABLE) | BIT(O_SEQ) | BIT(O_PREV) | BIT(O_ROW_HASH),
		"leaf --table SCHEMA.TABLE --seq N --prev HEX --hash HEX",
		"Print (hex) the log leaf of a ledger row from its published values:\n"
		"\"BLL\" 0x01 || u16be(len) || table || i64be(ledger_seq) || ledger_prev\n"
		"|| ledger_hash.  It is what verify-proof --leaf-hex takes.\n"},
	{"verify-proof", cmd_verify_proof,
		BIT(O_VKEY) | BIT(O_PROOF) | BIT(O_LEAF_HEX) | BIT(O_LEAF_FILE) |
		BIT(O_ORIGIN) | BIT(O_WITNESS) | BIT(O_MIN_WITNESSES),
		BIT(O_VKEY) | BIT(O_PROOF),
		"verify-proof --vkey VKEY --proof FILE (--leaf-hex HEX | --leaf-file F)\n"
		"             [--origin O] [--witness VKEY]... [--min-witnesses K]",
		"Verify a c2sp.org/tlog-proof@v1 bundle: the checkpoint's signature,\n"
		"origin and cosignatures (every --witness, or at least K of them), then that the RFC 6962 leaf hash of the given\n"
		"leaf bytes is included at the bundle's index.  The leaf: `battledger leaf`\n"
		"from the row's published values, or SELECT encode(battledger.leaf(i), 'hex');\n"
		"the bundle: SELECT battledger.tlog_proof(i) (saved with printf '%s\\n').\n"},
	{"verify-consistency", cmd_verify_consistency,
		BIT(O_VKEY) | BIT(O_OLD) | BIT(O_NEW) | BIT(O_PROOF) | BIT(O_ORIGIN) | BIT(O_OLD_VKEY),
		BIT(O_VKEY) | BIT(O_OLD) | BIT(O_NEW) | BIT(O_PROOF),
		"verify-consistency --vkey VKEY --old FILE --new FILE --proof FILE [--origin O]\n"
		"                   [--old-vkey VKEY]",
		"Verify two checkpoint notes of one log and the consistency proof between\n"
		"them (base64 hashes, one per line): the new tree extends the old one.\n"
		"After the log's key was rotated, --old-vkey is the key the old note was\n"
		"signed with (default: --vkey); both notes must name the same origin.\n"
		"The proof: SELECT encode(h::bytea, 'base64') FROM\n"
		"unnest(battledger.consistency_proof(OLD_SIZE, NEW_SIZE)) h.\n"},
	{"verify-inclusion", cmd_verify_inclusion,
		BIT(O_SIZE) | BIT(O_INDEX) | BIT(O_ROOT) | BIT(O_LEAF_HASH) | BIT(O_PROOF_FILE),
		BIT(O_SIZE) | BIT(O_INDEX) | BIT(O_ROOT) | BIT(O_LEAF_HASH) | BIT(O_PROOF_FILE),
		"verify-inclusion --size N --index I --root B64 --leaf-hash B64 --proof-file F",
		"Verify a raw RFC 9162 inclusion proof (base64 hashes, one per line).\n"},
	{"verify-consistency-raw", cmd_verify_consistency_raw,
		BIT(O_SIZE1) | BIT(O_SIZE2) | BIT(O_ROOT1) | BIT(O_ROOT2) | BIT(O_PROOF_FILE),
		BIT(O_SIZE1) | BIT(O_SIZE2) | BIT(O_ROOT1) | BIT(O_ROOT2) | BIT(O_PROOF_FILE),
		"verify-consistency-raw --size1 N --size2 N --root1 B64 --root2 B64 --proof-file F",
		"Verify a raw RFC 9162 consistency proof (base64 hashes, one per line).\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
print_usage(FILE *f)
{
	fputs("usage: battledger COMMAND [OPTIONS]\n\ncommands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fputs("\n'battledger COMMAND --help' describes a command.  Exit status: 0 ok,\n"
		  "1 verification failed or error, 2 usage error.\n", f);
}

static void
print_command_help(const command *c)
{
	printf("usage: battledger %s\n\n%s", c->synopsis, c->help);
}

static const command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int
find_option(const char *arg)
{
	for (int i = 0; i < O_COUNT; i++)
		if (strcmp(opt_defs[i].name, arg) == 0)
			return i;
	return -1;
}

/* Parse argv[2..] against the command's options; EXIT_OK or usage error. */
static int
parse_args(const command *c, int argc, char **argv, cmd_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++)
	{
		int			o = find_option(argv[i]);

		if (o < 0 || !((c->allowed & BIT(o)) || o == O_HELP))
			return usage_error("%s: unknown option \"%s\" (see battledger %s --help)",
							   c->name, argv[i], c->name);
		if (o == O_HELP)
		{
			a->val[O_HELP] = "";
			return EXIT_OK;
		}
		if (opt_defs[o].has_value && i + 1 >= argc)
			return usage_error("%s: %s needs a value", c->name, argv[i]);
		if (o == O_WITNESS)
		{
			if (a->nwitness >= MAX_WITNESSES)
				return usage_error("%s: at most %d witnesses", c->name, MAX_WITNESSES);
			a->witness[a->nwitness++] = argv[++i];
			a->val[o] = argv[i];
			continue;
		}
		if (a->val[o])
			return usage_error("%s: %s given twice", c->name, argv[i]);
		a->val[o] = opt_defs[o].has_value ? argv[++i] : "";
	}
	for (int o = 0; o < O_COUNT; o++)
		if ((c->required & BIT(o)) && !a->val[o])
			return usage_error("%s: missing %s (see battledger %s --help)",
							   c->name, opt_defs[o].name, c->name);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	const command *c;
	cmd_args	a;

	if (argc < 2)
	{
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0)
	{
		/* the extension version this tool was built with (Makefile: from battledger.control) */
		printf("battledger %s\n", BL_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
		strcmp(argv[1], "help") == 0)
	{
		if (argc > 2 && (c = find_command(argv[2])) != NULL)
			print_command_help(c);
		else
			print_usage(stdout);
		return EXIT_OK;
	}
	c = find_command(argv[1]);
	if (!c)
		return usage_error("unknown command \"%s\" (see battledger --help)", argv[1]);
	if (parse_args(c, argc, argv, &a) != EXIT_OK)
		return EXIT_USAGE;
	if (a.val[O_HELP])
	{
		print_command_help(c);
		return EXIT_OK;
	}
	return c->fn(&a);
}
