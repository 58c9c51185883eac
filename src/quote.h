/*
 * quote.h
 *	  The one way an error message quotes a value a caller gave.
 */
#ifndef HP_QUOTE_H
#define HP_QUOTE_H

#include "postgres.h"

/* characters of a value an error message quotes */
#define HP_QUOTE_CHARS 40

/*
 * hp_quote: s (len bytes, database encoding) as a message may quote it: at
 * most max_chars characters, cut at a character boundary and followed by
 * "..." when cut; control, zero-width and text-direction characters shown
 * as "?"; and, unless keep_numbers, every run of 15 or more digits (an
 * identity number, whole or with a wrong check digit) masked to its first
 * and last four characters, so no log collects one.
 */
extern char *hp_quote(const char *s, int len, int max_chars, bool keep_numbers);

/*
 * hp_quote_char: the UTF-8 character at s for a detail sentence: itself,
 * or its code point (such as "U+202E") for a control, zero-width or
 * text-direction character
 */
extern char *hp_quote_char(const char *s);

/* hp_quote_value: hp_quote with the usual length, numbers masked */
extern char *hp_quote_value(const char *s, int len);

#endif							/* HP_QUOTE_H */
