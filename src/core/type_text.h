/*
 * type_text.h — the text input of the hash256 and battery_id types.
 *
 * Pure code (no PostgreSQL headers): the parsers the types' input functions
 * call, kept apart from the server glue so that they can be fuzzed and
 * tested on their own (test/fuzz).  They never allocate; errors come back
 * as text for the glue to put in an ereport.
 */
#ifndef BATTLEDGER_TYPE_TEXT_H
#define BATTLEDGER_TYPE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* ---- hash256 ---- */

/*
 * Exactly 64 hex digits (either case) into 32 bytes.  Returns 0, -1 if the
 * length is not 64, or the 1-based position of the first character that is
 * not a hex digit (checked in pairs, high digit first).
 */
int			bl_hash256_parse(const char *s, size_t len,
							 uint8_t out[BL_HASH_LEN]);

/* ---- battery_id ---- */

#define BL_BID_INPUT_MAX	2048	/* bytes; longer than any accepted form */
#define BL_BID_DETAIL_MAX	512		/* longer than any detail written */

#define BL_BID_HINT_GS1 "Write a GS1 identifier as https://id.gs1.org/01/09506000134352/21/ABC123, " \
	"(01)09506000134352(21)ABC123 or gs1:01/09506000134352/21/ABC123."
#define BL_BID_HINT_ISO "Write an ISO/IEC 15459 identifier as iso15459:<IAC>/<CIN>/<serial>, " \
	"e.g. iso15459:UN/043325711/BAT-0001."
#define BL_BID_HINT_ANY "Accepted forms: https://id.gs1.org/01/09506000134352/21/ABC123, " \
	"(01)09506000134352(21)ABC123, gs1:01/09506000134352/21/ABC123 and " \
	"iso15459:UN/043325711/BAT-0001."

/* Where the canonical text of a GS1 value starts its parts. */
#define BL_BID_GS1_PREFIX		"gs1:01/"
#define BL_BID_GS1_PREFIX_LEN	7
#define BL_BID_GTIN_LEN			14
#define BL_BID_GS1_SERIAL_OFF	(BL_BID_GS1_PREFIX_LEN + BL_BID_GTIN_LEN + 4)	/* after "/21/" */
#define BL_BID_ISO_PREFIX		"iso15459:"
#define BL_BID_ISO_PREFIX_LEN	9

/* The outcome of a parse: the canonical text, or why the input is not one. */
typedef struct bl_bid_result
{
	char		canon[BL_BID_INPUT_MAX + 1];	/* NUL-terminated */
	int			canon_len;
	char		detail[BL_BID_DETAIL_MAX];	/* the error detail */
	const char *hint;			/* the error hint: one of BL_BID_HINT_* */
} bl_bid_result;

/*
 * Parse a battery identifier (any accepted form, surrounding white space
 * ignored) into its canonical text.  0 ok; -1 with r->detail and r->hint
 * set.  Character positions in details count from s[0].  The caller refuses
 * inputs longer than BL_BID_INPUT_MAX first (with its own message); here
 * they are refused too, so that the buffers above always suffice.
 */
int			bl_battery_id_parse(const char *s, int len, bl_bid_result *r);

/*
 * Pieces the server also uses for resolver URIs: 1 (with the reason in why)
 * if host / path are not usable in a URI, else 0.  base is the 1-based
 * position of path[0] in the text the reason talks about.
 */
int			bl_uri_host_problem(const char *host, int len, char *why, size_t cap);
int			bl_uri_path_problem(const char *path, int len, int base, char *why,
								size_t cap);
/* RFC 3986 unreserved: never percent-encoded in a Digital Link. */
int			bl_uri_unreserved(char c);
/* s starts with the ASCII prefix, in any case (as pg_strncasecmp compares). */
int			bl_has_prefix_ci(const char *s, int len, const char *prefix);

#endif
