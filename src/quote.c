/*
 * quote.c
 *	  The one quoting helper for error messages (see quote.h). Every
 *	  message of the C core that repeats a caller's value goes through it;
 *	  the SQL side has the same rules in hp_quote() (sql/api/05_checks.sql).
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "quote.h"

/* IDs are 15 (old card) or 18 characters; a run this long is masked */
#define HP_QUOTE_ID_RUN 15

/*
 * Hidden: the character at s (n bytes) is one a message must not carry as
 * it is: a C0 or C1 control, a zero-width character or a text-direction
 * override or isolate (the multibyte ones are looked for in UTF-8 only).
 */
static bool
Hidden(const unsigned char *s, int n)
{
	if (n == 1)
		return s[0] < 0x20 || s[0] == 0x7f;
	if (GetDatabaseEncoding() != PG_UTF8)
		return false;
	if (n == 2)
		return s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;	/* U+0080..009F */
	if (n == 3 && s[0] == 0xe2 && s[1] == 0x80)
		return (s[2] >= 0x8b && s[2] <= 0x8f) ||	/* U+200B..200F */
			(s[2] >= 0xaa && s[2] <= 0xae);	/* U+202A..202E */
	if (n == 3 && s[0] == 0xe2 && s[1] == 0x81)
		return s[2] >= 0xa6 && s[2] <= 0xa9;	/* U+2066..2069 */
	if (n == 3)
		return s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf;	/* U+FEFF */
	return false;
}

/* HiddenUtf8: Hidden for a UTF-8 character, whatever the database encoding */
static bool
HiddenUtf8(const unsigned char *s, int n)
{
	pg_wchar	c = utf8_to_unicode(s);

	return (n == 1 && (c < 0x20 || c == 0x7f)) || (c >= 0x80 && c <= 0x9f) ||
		(c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
		(c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

char *
hp_quote_char(const char *s)
{
	int			n = pg_utf_mblen((const unsigned char *) s);

	if (HiddenUtf8((const unsigned char *) s, n))
		return psprintf("U+%04X", (unsigned int) utf8_to_unicode((const unsigned char *) s));
	return pnstrdup(s, n);
}

/* MaskRuns: masks, in place, each run of HP_QUOTE_ID_RUN or more digits */
static void
MaskRuns(char *s)
{
	char	   *p = s;

	while (*p)
	{
		char	   *start = p;
		int			n;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p > start && (*p == 'X' || *p == 'x'))
			p++;				/* the check character of an ID */
		n = (int) (p - start);
		if (n >= HP_QUOTE_ID_RUN)
			memset(start + 4, '*', n - 8);
		if (p == start)
			p++;
	}
}

char *
hp_quote(const char *s, int len, int max_chars, bool keep_numbers)
{
	StringInfoData out;
	int			pos = 0,
				chars = 0;

	initStringInfo(&out);
	while (pos < len && chars < max_chars)
	{
		int			n = pg_mblen(s + pos);

		if (n > len - pos)
			n = len - pos;		/* a cut multibyte character: never read past */
		if (Hidden((const unsigned char *) s + pos, n) || s[pos] == '\0')
			appendStringInfoChar(&out, '?');
		else
			appendBinaryStringInfo(&out, s + pos, n);
		pos += n;
		chars++;
	}
	if (!keep_numbers)
		MaskRuns(out.data);
	if (pos < len)
		appendStringInfoString(&out, "...");
	return out.data;
}

char *
hp_quote_value(const char *s, int len)
{
	return hp_quote(s, len, HP_QUOTE_CHARS, false);
}
