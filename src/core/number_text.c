/*
 * number_text.c — see number_text.h.
 *
 * Why bounded: numeric's input rejects an exponent or a digit string too
 * large for its format with an error, and an error is what this check is
 * there to avoid (json_num.c).  1024 bytes and an exponent of at most 999
 * keep every accepted text inside numeric's range (10^131072 before the
 * point, 16383 digits after) on PostgreSQL 15 to 18 (15 refuses an exponent
 * beyond 1000).
 */
#include "number_text.h"

static bool
is_blank(char c)
{
	/* the blanks numeric's input skips (isspace() in the C locale) */
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
bl_number_text_ok(const char *s, size_t len)
{
	size_t		i = 0;
	size_t		digits = 0;
	size_t		exp_digits = 0;
	size_t		exp_zeros = 0;

	if (s == NULL || len == 0 || len > BL_NUMBER_TEXT_MAX)
		return false;
	while (i < len && is_blank(s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < len && is_digit(s[i]))
		i++, digits++;
	if (i < len && s[i] == '.')
	{
		i++;
		while (i < len && is_digit(s[i]))
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		/* leading zeros do not count: numeric's input reads "1e0003" */
		while (i < len && s[i] == '0')
			i++, exp_zeros++;
		while (i < len && is_digit(s[i]))
			i++, exp_digits++;
		if ((exp_digits == 0 && exp_zeros == 0) || exp_digits > 3)
			return false;
	}
	while (i < len && is_blank(s[i]))
		i++;
	return i == len;
}
