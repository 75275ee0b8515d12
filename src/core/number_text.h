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

/* Longer texts are refused: no honest mass or measurement needs more. */
#define BL_NUMBER_TEXT_MAX	64

/*
 * Is s[0..len) a finite decimal number as numeric's input reads one:
 * optional blanks, an optional sign, digits with at most one decimal point
 * (at least one digit), an optional exponent of at most 3 digits, optional
 * blanks; at most BL_NUMBER_TEXT_MAX bytes.  "NaN", "Infinity", hex,
 * underscores and anything else are not: they are refused, never an error.
 */
bool		bl_number_text_ok(const char *s, size_t len);

#endif
