/*
 * number_text.h — a decimal number written as text by another member.
 *
 * Pure code (no PostgreSQL headers), fuzzed on its own (test/fuzz).  The
 * server glue (src/pg/json_num.c) hands an accepted text to numeric's own
 * input function, which then cannot fail.
 */
#ifndef BATTLEDGER_NUMBER_TEXT_H
#define BATTLEDGER_NUMBER_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Longer texts are refused: no honest mass or measurement needs more, and
 * with a 3-digit exponent every accepted text stays inside what numeric's
 * input reads without an error (at most 2023 digits either side of the
 * point; numeric holds 131072 before it and 16383 after it).  Until r23 it
 * was 64 bytes, which refused strings the 0.19.0 writer's cast had stored
 * (" 10.000...0" with many zeros) and so changed their meaning.
 */
#define BL_NUMBER_TEXT_MAX	1024

/*
 * Is s[0..len) a finite decimal number as numeric's input reads one:
 * optional blanks, an optional sign, digits with at most one decimal point
 * (at least one digit), an optional exponent of at most 3 digits (leading
 * zeros aside: "1e0003" is numeric's 1000), optional blanks; at most
 * BL_NUMBER_TEXT_MAX bytes.  json_num.c bounds the value itself.  "NaN", "Infinity", hex,
 * underscores and anything else are not: they are refused, never an error.
 */
bool		bl_number_text_ok(const char *s, size_t len);

#endif
