/*
 * document.c
 *	  Identity-document numbers as people type them: one validator per kind
 *	  (shared with the cn_resident_id type), normalize_document(),
 *	  is_valid_document(), mask_document(), mask_name() and
 *	  document_kinds().
 *
 * Everything inside works on UTF-8; text arguments are converted from the
 * database encoding on the way in and results and messages back on the
 * way out (no-ops in a UTF-8 database).
 */
#include "postgres.h"

#include "access/xact.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "identity.h"
#include "quote.h"

/* bytes a cleaned number may grow to before it is called too long */
#define HP_CLEAN_MAX 64

static const char *const kind_names[HP_DOC_NKINDS] = {
	"cn_resident_id",
	"hkid",
	"macau_id",
	"home_return_permit",
	"hk_macau_permit",
	"cn_passport",
	"passport",
	"uscc",
	"org_code",
	"plate",
};

/*
 * What each kind identifies: a person (the kinds a traveller registers
 * with), an organisation or a vehicle (the identifiers a venue is
 * registered under). SQL reads this through document_kind_holder(), so the
 * kinds are listed once, here.
 */
static const char *const kind_holders[HP_DOC_NKINDS] = {
	"person",					/* cn_resident_id */
	"person",					/* hkid */
	"person",					/* macau_id */
	"person",					/* home_return_permit */
	"person",					/* hk_macau_permit */
	"person",					/* cn_passport */
	"person",					/* passport */
	"organisation",				/* uscc */
	"organisation",				/* org_code */
	"vehicle",					/* plate */
};

/* GB/T 2260 province codes, plus 81/82/83 of the residence permits */
static const int province_codes[] = {
	11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
	41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65,
	71, 81, 82, 83,
};

/* ISO 7064 MOD 11-2 weights of the 17 digits (2^(17-i) mod 11) */
static const int resident_weights[17] = {
	7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2
};

/* the check character for each remainder of the weighted sum mod 11 */
static const char resident_checks[11] = {
	'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'
};

/* GB 32100-2015 character set (no I, O, S, V, Z): value = position */
static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* GB 32100-2015 weights: 3^(i-1) mod 31 */
static const int uscc_weights[17] = {
	1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
};

/* GB 11714 weights of the 8 code characters */
static const int org_weights[8] = {3, 7, 9, 10, 5, 8, 4, 2};

/* plate province abbreviations (simplified), with traditional variants */
static const pg_wchar plate_provinces[] = {
	0x4EAC, 0x6D25, 0x6CAA, 0x6E1D, 0x5180, 0x8C6B, 0x4E91, 0x8FBD,	/* 京津沪渝冀豫云辽 */
	0x9ED1, 0x6E58, 0x7696, 0x9C81, 0x65B0, 0x82CF, 0x6D59, 0x8D63,	/* 黑湘皖鲁新苏浙赣 */
	0x9102, 0x6842, 0x7518, 0x664B, 0x8499, 0x9655, 0x5409, 0x95FD,	/* 鄂桂甘晋蒙陕吉闽 */
	0x8D35, 0x7CA4, 0x9752, 0x85CF, 0x5DDD, 0x5B81, 0x743C,	/* 贵粤青藏川宁琼 */
};

/* traditional form → simplified form, for plates typed in HK or Macau */
static const pg_wchar plate_traditional[][2] = {
	{0x6EEC, 0x6CAA},			/* 滬 沪 */
	{0x96F2, 0x4E91},			/* 雲 云 */
	{0x907C, 0x8FBD},			/* 遼 辽 */
	{0x9B6F, 0x9C81},			/* 魯 鲁 */
	{0x8607, 0x82CF},			/* 蘇 苏 */
	{0x8D1B, 0x8D63},			/* 贛 赣 */
	{0x6649, 0x664B},			/* 晉 晋 */
	{0x965D, 0x9655},			/* 陝 陕 */
	{0x95A9, 0x95FD},			/* 閩 闽 */
	{0x8CB4, 0x8D35},			/* 貴 贵 */
	{0x7CB5, 0x7CA4},			/* 粵 粤 */
	{0x5BE7, 0x5B81},			/* 寧 宁 */
	{0x74CA, 0x743C},			/* 瓊 琼 */
	{0x5B78, 0x5B66},			/* 學 学 */
	{0x639B, 0x6302},			/* 掛 挂 */
};

#define CP_YUE		0x7CA4		/* 粤 */
#define CP_JING		0x8B66		/* 警 police */
#define CP_XUE		0x5B66		/* 学 driving school */
#define CP_GUA		0x6302		/* 挂 trailer */
#define CP_GANG		0x6E2F		/* 港 Hong Kong */
#define CP_AO		0x6FB3		/* 澳 Macau */

/* how many leading and trailing characters mask_document() keeps */
static const int mask_keep[HP_DOC_NKINDS][2] = {
	{4, 4},						/* cn_resident_id */
	{2, 1},						/* hkid: letter(s), then the check character */
	{2, 1},						/* macau_id */
	{2, 2},						/* home_return_permit */
	{2, 2},						/* hk_macau_permit */
	{2, 2},						/* cn_passport */
	{2, 2},						/* passport */
	{4, 4},						/* uscc */
	{2, 1},						/* org_code */
	{2, 2},						/* plate */
};

/* hp_doc_kind_name: the SQL name of a kind */
const char *
hp_doc_kind_name(int kind)
{
	if (kind < 0 || kind >= HP_DOC_NKINDS)
		return NULL;
	return kind_names[kind];
}

/* hp_doc_kind_lookup: a kind by its exact SQL name, or -1 */
int
hp_doc_kind_lookup(const char *name, int len)
{
	for (int k = 0; k < HP_DOC_NKINDS; k++)
	{
		if ((int) strlen(kind_names[k]) == len &&
			memcmp(kind_names[k], name, len) == 0)
			return k;
	}
	return -1;
}

/* hp_detail_to_server: a UTF-8 detail sentence in the database encoding */
char *
hp_detail_to_server(const char *detail)
{
	return pg_any_to_server(detail, strlen(detail), PG_UTF8);
}

/* CharAt: the UTF-8 character starting at s, as a string for a detail */
static char *
CharAt(const char *s)
{
	return hp_quote_char(s);
}

/* NotAllowed: the detail for a character that has no place in a number */
static char *
NotAllowed(const char *s)
{
	return psprintf("The character \"%s\" is not allowed.", CharAt(s));
}

/* IsSeparator: spaces, hyphens and dots people type inside numbers */
static bool
IsSeparator(pg_wchar c)
{
	switch (c)
	{
		case ' ':
		case '\t':
		case '\n':
		case '\r':
		case '\v':
		case '\f':
		case '-':
		case '.':
		case 0x00A0:			/* no-break space */
		case 0x00B7:			/* middle dot, as on plates */
		case 0x2022:			/* bullet */
		case 0x2027:			/* hyphenation point */
		case 0x2212:			/* minus sign */
		case 0x2219:			/* bullet operator */
		case 0x22C5:			/* dot operator */
		case 0x3000:			/* ideographic space */
		case 0x3002:			/* ideographic full stop */
		case 0x30FB:			/* katakana middle dot */
		case 0xFEFF:			/* zero-width no-break space */
		case 0xFF0D:			/* full-width hyphen-minus */
		case 0xFF0E:			/* full-width full stop */
		case 0xFF65:			/* half-width katakana middle dot */
			return true;
		default:
			return (c >= 0x2000 && c <= 0x200B) ||	/* spaces, zero width */
				(c >= 0x2010 && c <= 0x2015);	/* hyphens and dashes */
	}
}

/*
 * CleanNumber: fold a typed number into the form the validators read:
 * full-width ASCII to ASCII, lower to upper case, separators dropped.
 * Returns NULL or the detail when the result is empty or too long.
 */
static char *
CleanNumber(const char *in, int len, char *out, int *outlen)
{
	const unsigned char *p = (const unsigned char *) in;
	const unsigned char *end = p + len;
	int			n = 0;

	while (p < end)
	{
		int			l = pg_utf_mblen(p);
		pg_wchar	c;

		if (l > end - p)
			l = end - p;
		c = (l == 1) ? *p : utf8_to_unicode(p);
		p += l;
		if (IsSeparator(c))
			continue;
		if (c >= 0xFF01 && c <= 0xFF5E)
			c -= 0xFEE0;		/* full-width forms of ASCII */
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (n + 4 > HP_CLEAN_MAX)
			return pstrdup("The number is too long.");
		if (c < 0x80)
			out[n++] = (char) c;
		else
		{
			unicode_to_utf8(c, (unsigned char *) out + n);
			n += pg_utf_mblen((unsigned char *) out + n);
		}
	}
	out[n] = '\0';
	*outlen = n;
	if (n == 0)
		return pstrdup("The number is empty.");
	return NULL;
}

/* FirstNotIn: the first character of s that is not in allowed, or NULL */
static const char *
FirstNotIn(const char *s, int len, const char *allowed)
{
	for (int i = 0; i < len; i += pg_utf_mblen((const unsigned char *) s + i))
	{
		if ((s[i] & 0x80) || s[i] == '\0' || strchr(allowed, s[i]) == NULL)
			return s + i;
	}
	return NULL;
}

/* AllDigits: whether s[0..len) are all ASCII digits */
static bool
AllDigits(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

#define DIGITS "0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* TodayAnywhere: the latest date on Earth now (UTC+14), as a DateADT */
static int
TodayAnywhere(void)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	now += 14 * USECS_PER_HOUR;
	if (now >= 0)
		return (int) (now / USECS_PER_DAY);
	return (int) ((now - USECS_PER_DAY + 1) / USECS_PER_DAY);
}

/* IsRealDate: whether y-m-d is a date of the Gregorian calendar */
static bool
IsRealDate(int y, int m, int d)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			last;

	if (m < 1 || m > 12 || d < 1)
		return false;
	last = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		last = 29;
	return d <= last;
}

/* hp_resident_id_check_char: the MOD 11-2 check character of 17 digits */
char
hp_resident_id_check_char(int64 value)
{
	int			sum = 0;

	for (int i = 16; i >= 0; i--)
	{
		sum += (int) (value % 10) * resident_weights[i];
		value /= 10;
	}
	return resident_checks[sum % 11];
}

/* hp_resident_id_format: the canonical 18 characters of a stored value */
void
hp_resident_id_format(int64 value, char *out)
{
	int64		v = value;

	for (int i = 16; i >= 0; i--)
	{
		out[i] = (char) ('0' + v % 10);
		v /= 10;
	}
	out[17] = hp_resident_id_check_char(value);
	out[18] = '\0';
}

/*
 * hp_resident_id_parse: validate a plain resident ID number (18 characters,
 * x in either case, or 15 digits of a first-generation card, which get
 * "19" in front of the year) and return its first 17 digits as an integer.
 */
char *
hp_resident_id_parse(const char *s, int len, int64 *value)
{
	char		d17[17];
	const char *bad;
	int			province,
				y,
				m,
				d,
				birth;

	bad = FirstNotIn(s, len, DIGITS "Xx");
	if (bad != NULL && len == 18 && bad == s + 17)
		return pstrdup("The check character must be a digit or X.");
	if (bad != NULL)
		return NotAllowed(bad);
	if (len != 18 && len != 15)
		return psprintf("A resident ID number has 18 characters (15 digits on a first-generation card), not %d.", len);
	if (len == 15)
	{
		if (!AllDigits(s, 15))
			return pstrdup("A first-generation number has digits only.");
		memcpy(d17, s, 6);
		d17[6] = '1';
		d17[7] = '9';
		memcpy(d17 + 8, s + 6, 9);
	}
	else
	{
		if (!AllDigits(s, 17))
			return pstrdup("Only the last character may be X.");
		memcpy(d17, s, 17);
	}

	province = (d17[0] - '0') * 10 + (d17[1] - '0');
	bad = NULL;
	for (int i = 0; i < (int) lengthof(province_codes); i++)
		if (province_codes[i] == province)
			bad = d17;
	if (bad == NULL)
		return psprintf("The region code \"%.6s\" does not start with a province code.", d17);

	y = (d17[6] - '0') * 1000 + (d17[7] - '0') * 100 + (d17[8] - '0') * 10 + (d17[9] - '0');
	m = (d17[10] - '0') * 10 + (d17[11] - '0');
	d = (d17[12] - '0') * 10 + (d17[13] - '0');
	if (!IsRealDate(y, m, d))
		return psprintf("The birth date \"%.8s\" is not a real date.", d17 + 6);
	if (y < 1900)
		return psprintf("The birth date %04d-%02d-%02d is before 1900-01-01.", y, m, d);
	birth = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
	if (birth > TodayAnywhere())
		return psprintf("The birth date %04d-%02d-%02d is in the future.", y, m, d);

	*value = 0;
	for (int i = 0; i < 17; i++)
		*value = *value * 10 + (d17[i] - '0');
	if (len == 18)
	{
		char		want = hp_resident_id_check_char(*value);
		char		got = s[17] == 'x' ? 'X' : s[17];

		if (got != want)
			return psprintf("The check character should be \"%c\".", want);
	}
	return NULL;
}

/* CheckResidentId: kind cn_resident_id */
static char *
CheckResidentId(const char *s, int len, char *out)
{
	int64		value;
	char	   *detail = hp_resident_id_parse(s, len, &value);

	if (detail == NULL)
		hp_resident_id_format(value, out);
	return detail;
}

/* HkidCharValue: a letter's value in the HKID check (A=10 .. Z=35) */
static int
HkidCharValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c - 'A' + 10;
}

/*
 * SplitCheck: find the check character, either the last one or the one
 * enclosed in brackets at the end; *bodylen is what comes before it.
 */
static char *
SplitCheck(const char *s, int len, int *bodylen, char *check)
{
	if (len >= 3 && s[len - 1] == ')' && s[len - 3] == '(')
	{
		*bodylen = len - 3;
		*check = s[len - 2];
	}
	else
	{
		*bodylen = len - 1;
		*check = s[len - 1];
	}
	for (int i = 0; i < *bodylen; i++)
		if (s[i] == '(' || s[i] == ')')
			return pstrdup("Only the check character may be in brackets.");
	if (*check == '(' || *check == ')')
		return pstrdup("Only the check character may be in brackets.");
	return NULL;
}

/* CheckHkid: kind hkid, 1 or 2 letters, 6 digits, MOD 11 check 0-9 or A */
static char *
CheckHkid(const char *s, int len, char *out)
{
	const char *bad = FirstNotIn(s, len, DIGITS UPPER "()");
	int			bodylen,
				letters = 0,
				sum,
				r;
	char		check,
				want;
	char	   *detail;

	if (bad != NULL)
		return NotAllowed(bad);
	if ((detail = SplitCheck(s, len, &bodylen, &check)) != NULL)
		return detail;
	while (letters < bodylen && s[letters] >= 'A' && s[letters] <= 'Z')
		letters++;
	if (letters < 1 || letters > 2 || bodylen != letters + 6 ||
		!AllDigits(s + letters, 6))
		return pstrdup("An HKID number has 1 or 2 letters, 6 digits and a check character.");
	if (!((check >= '0' && check <= '9') || check == 'A'))
		return pstrdup("The check character must be a digit or A.");

	/* a single letter counts as a space (36) in front of it */
	sum = (letters == 1) ? 36 * 9 : 0;
	for (int i = 0; i < bodylen; i++)
		sum += HkidCharValue(s[i]) * ((letters == 1 ? 8 : 9) - i);
	r = (11 - sum % 11) % 11;
	want = (r == 10) ? 'A' : (char) ('0' + r);
	if (check != want)
		return psprintf("The check character should be \"%c\".", want);
	snprintf(out, HP_DOC_MAXLEN + 1, "%.*s(%c)", bodylen, s, check);
	return NULL;
}

/* CheckMacauId: kind macau_id, 1/5/7 + 6 digits + check digit (format only) */
static char *
CheckMacauId(const char *s, int len, char *out)
{
	char		buf[HP_CLEAN_MAX + 1];
	int			n = 0,
				bodylen;
	char		check;
	const char *bad = FirstNotIn(s, len, DIGITS "()/");
	char	   *detail;

	if (bad != NULL)
		return NotAllowed(bad);
	/* the card prints the number as 1/234567/8 in places: drop slashes */
	for (int i = 0; i < len; i++)
		if (s[i] != '/')
			buf[n++] = s[i];
	buf[n] = '\0';
	if (n == 0)
		return pstrdup("The number is empty.");
	if ((detail = SplitCheck(buf, n, &bodylen, &check)) != NULL)
		return detail;
	if (bodylen != 7 || !AllDigits(buf, 7) || check < '0' || check > '9')
		return pstrdup("A Macau ID number has 7 digits and a check digit in brackets.");
	if (buf[0] != '1' && buf[0] != '5' && buf[0] != '7')
		return pstrdup("The first digit must be 1, 5 or 7.");
	snprintf(out, HP_DOC_MAXLEN + 1, "%.7s(%c)", buf, check);
	return NULL;
}

/* CheckHomeReturn: kind home_return_permit, H/M + 8 digits (+ issue count) */
static char *
CheckHomeReturn(const char *s, int len, char *out)
{
	const char *bad = FirstNotIn(s, len, DIGITS UPPER);

	if (bad != NULL)
		return NotAllowed(bad);
	if (s[0] != 'H' && s[0] != 'M')
		return pstrdup("The number must start with H (Hong Kong) or M (Macau).");
	if ((len != 9 && len != 11) || !AllDigits(s + 1, len - 1))
		return pstrdup("A home return permit number is H or M and 8 digits, optionally followed by a 2-digit issue count.");
	/* the 8 digits are the holder's for life; the issue count is dropped */
	snprintf(out, HP_DOC_MAXLEN + 1, "%.9s", s);
	return NULL;
}

/* CheckHkMacauPermit: kind hk_macau_permit, C (card) or W (booklet) + 8 digits */
static char *
CheckHkMacauPermit(const char *s, int len, char *out)
{
	const char *bad = FirstNotIn(s, len, DIGITS UPPER);

	if (bad != NULL)
		return NotAllowed(bad);
	if (s[0] != 'C' && s[0] != 'W')
		return pstrdup("The number must start with C (card) or W (older booklet).");
	if (len != 9 || !AllDigits(s + 1, 8))
		return pstrdup("An exit-entry permit number for Hong Kong and Macau is C or W and 8 digits.");
	snprintf(out, HP_DOC_MAXLEN + 1, "%.9s", s);
	return NULL;
}

/* CheckPassport: kind cn_passport, E/G + 8 digits or E + letter + 7 digits */
static char *
CheckPassport(const char *s, int len, char *out)
{
	const char *bad = FirstNotIn(s, len, DIGITS UPPER);

	if (bad != NULL)
		return NotAllowed(bad);
	if (s[0] != 'E' && s[0] != 'G')
		return pstrdup("The number must start with E (e-passport) or G (older passport).");
	if (len != 9 ||
		!(AllDigits(s + 1, 8) ||
		  (s[0] == 'E' && s[1] >= 'A' && s[1] <= 'Z' && AllDigits(s + 2, 7))))
		return pstrdup("A passport number is E or G and 8 digits, or E, a letter and 7 digits.");
	snprintf(out, HP_DOC_MAXLEN + 1, "%.9s", s);
	return NULL;
}

/*
 * CheckForeignPassport: kind passport, a passport of any other country:
 * 5 to 20 letters and digits (ICAO 9303 allows up to 9 in the machine
 * readable zone, but some countries print longer numbers; there is no
 * check character to verify outside the MRZ)
 */
static char *
CheckForeignPassport(const char *s, int len, char *out)
{
	const char *bad = FirstNotIn(s, len, DIGITS UPPER);

	if (bad != NULL)
		return NotAllowed(bad);
	if (len < 5 || len > 20)
		return psprintf("A passport number has 5 to 20 letters and digits, not %d.", len);
	snprintf(out, HP_DOC_MAXLEN + 1, "%.*s", len, s);
	return NULL;
}

/* CheckUscc: kind uscc, GB 32100-2015, 17 characters and a MOD 31 check */
static char *
CheckUscc(const char *s, int len, char *out)
{
	const char *bad = FirstNotIn(s, len, uscc_chars);
	int			sum = 0;
	char		want;

	if (bad != NULL)
	{
		if (*bad >= 'A' && *bad <= 'Z')
			return psprintf("The letter \"%c\" is not used in unified social credit codes (no I, O, S, V or Z).", *bad);
		return NotAllowed(bad);
	}
	if (len != 18)
		return psprintf("A unified social credit code has 18 characters, not %d.", len);
	if (!AllDigits(s + 2, 6))
		return pstrdup("Characters 3 to 8 (the region code) must be digits.");
	for (int i = 0; i < 17; i++)
		sum += (int) (strchr(uscc_chars, s[i]) - uscc_chars) * uscc_weights[i];
	want = uscc_chars[(31 - sum % 31) % 31];
	if (s[17] != want)
		return psprintf("The check character should be \"%c\".", want);
	memcpy(out, s, 18);
	out[18] = '\0';
	return NULL;
}

/* CheckOrgCode: kind org_code, GB 11714, 8 characters and a MOD 11 check */
static char *
CheckOrgCode(const char *s, int len, char *out)
{
	const char *bad = FirstNotIn(s, len, DIGITS UPPER);
	int			sum = 0,
				r;
	char		want;

	if (bad != NULL)
		return NotAllowed(bad);
	if (len != 9)
		return psprintf("An organization code has 8 digits or letters and a check character, not %d characters.", len);
	if (!((s[8] >= '0' && s[8] <= '9') || s[8] == 'X'))
		return pstrdup("The check character must be a digit or X.");
	for (int i = 0; i < 8; i++)
		sum += HkidCharValue(s[i]) * org_weights[i];
	r = (11 - sum % 11) % 11;
	want = (r == 10) ? 'X' : (char) ('0' + r);
	if (s[8] != want)
		return psprintf("The check character should be \"%c\".", want);
	snprintf(out, HP_DOC_MAXLEN + 1, "%.8s-%c", s, s[8]);
	return NULL;
}

/* PlateChar: whether c may appear in a plate's serial (A-Z but I, O; 0-9) */
static bool
PlateChar(pg_wchar c)
{
	return (c >= '0' && c <= '9') ||
		(c >= 'A' && c <= 'Z' && c != 'I' && c != 'O');
}

/* PlateSerial: the detail for a bad character in cps[from..to), or NULL */
static char *
PlateSerial(const pg_wchar *cps, const char *const *at, int from, int to)
{
	for (int i = from; i < to; i++)
	{
		if (cps[i] == 'I' || cps[i] == 'O')
			return pstrdup("The letters I and O are not used in plate numbers.");
		if (!PlateChar(cps[i]))
			return NotAllowed(at[i]);
	}
	return NULL;
}

/*
 * CheckPlate: kind plate, a mainland vehicle plate: province character,
 * issuing-office letter, then 5 letters or digits (ordinary), 6 on a
 * new-energy plate (D/F first or last), or 4 and a 警 学 挂 港 澳 suffix.
 */
static char *
CheckPlate(const char *s, int len, char *out)
{
	pg_wchar	cps[HP_CLEAN_MAX];
	const char *at[HP_CLEAN_MAX];
	int			n = 0,
				o = 0;
	bool		province = false;
	pg_wchar	last;
	char	   *detail;

	for (int i = 0; i < len; i += pg_utf_mblen((const unsigned char *) s + i))
	{
		at[n] = s + i;
		cps[n++] = utf8_to_unicode((const unsigned char *) s + i);
	}
	/* traditional characters as typed in Hong Kong and Macau */
	for (int i = 0; i < n; i++)
		for (int t = 0; t < (int) lengthof(plate_traditional); t++)
			if (cps[i] == plate_traditional[t][0])
				cps[i] = plate_traditional[t][1];

	for (int p = 0; p < (int) lengthof(plate_provinces); p++)
		if (cps[0] == plate_provinces[p])
			province = true;
	if (!province)
		return pstrdup("A plate starts with a province character such as 粤 or 京.");
	if (n < 2 || cps[1] < 'A' || cps[1] > 'Z')
		return pstrdup("The second character must be the letter of the issuing office.");

	last = cps[n - 1];
	if (last == CP_JING || last == CP_XUE || last == CP_GUA ||
		last == CP_GANG || last == CP_AO)
	{
		if ((detail = PlateSerial(cps, at, 2, n - 1)) != NULL)
			return detail;
		if (n - 3 != 4)
			return psprintf("A plate ending in \"%s\" has 4 letters or digits before it.",
							CharAt(at[n - 1]));
		if ((last == CP_GANG || last == CP_AO) &&
			(cps[0] != CP_YUE || cps[1] != 'Z'))
			return pstrdup("Hong Kong and Macau plates are 粤Z plates.");
	}
	else
	{
		if ((detail = PlateSerial(cps, at, 2, n)) != NULL)
			return detail;
		if (n == 8)
		{
			bool		small = (cps[2] == 'D' || cps[2] == 'F');
			bool		large = (cps[7] == 'D' || cps[7] == 'F');

			for (int i = 4; i < 8 && small; i++)
				small = cps[i] >= '0' && cps[i] <= '9';
			for (int i = 2; i < 7 && large; i++)
				large = cps[i] >= '0' && cps[i] <= '9';
			if (!small && !large)
				return pstrdup("A new-energy plate has D or F, a letter or digit and 4 digits, or 5 digits and D or F.");
		}
		else if (n != 7)
			return pstrdup("A plate has a province character, the issuing office's letter and 5 letters or digits (6 on a new-energy plate).");
	}

	for (int i = 0; i < n; i++)
	{
		unicode_to_utf8(cps[i], (unsigned char *) out + o);
		o += pg_utf_mblen((unsigned char *) out + o);
	}
	out[o] = '\0';
	return NULL;
}

/* hp_doc_normalize: clean a typed number and validate it as the kind */
char *
hp_doc_normalize(int kind, const char *in, int len, char *out)
{
	char		buf[HP_CLEAN_MAX + 1];
	int			n;
	char	   *detail = CleanNumber(in, len, buf, &n);

	if (detail != NULL)
		return detail;
	switch ((HpDocKind) kind)
	{
		case HP_DOC_CN_RESIDENT_ID:
			return CheckResidentId(buf, n, out);
		case HP_DOC_HKID:
			return CheckHkid(buf, n, out);
		case HP_DOC_MACAU_ID:
			return CheckMacauId(buf, n, out);
		case HP_DOC_HOME_RETURN_PERMIT:
			return CheckHomeReturn(buf, n, out);
		case HP_DOC_HK_MACAU_PERMIT:
			return CheckHkMacauPermit(buf, n, out);
		case HP_DOC_CN_PASSPORT:
			return CheckPassport(buf, n, out);
		case HP_DOC_PASSPORT:
			return CheckForeignPassport(buf, n, out);
		case HP_DOC_USCC:
			return CheckUscc(buf, n, out);
		case HP_DOC_ORG_CODE:
			return CheckOrgCode(buf, n, out);
		case HP_DOC_PLATE:
			return CheckPlate(buf, n, out);
		case HP_DOC_NKINDS:
			break;
	}
	elog(ERROR, "unexpected document kind %d", kind);
	return NULL;
}

/* KindArg: the kind named by a text argument, or error 22023 */
static int
KindArg(text *t)
{
	int			k = hp_doc_kind_lookup(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	StringInfoData list;

	if (k >= 0)
		return k;
	initStringInfo(&list);
	for (int i = 0; i < HP_DOC_NKINDS; i++)
		appendStringInfo(&list, "%s%s", i == 0 ? "" : (i == HP_DOC_NKINDS - 1 ? " and " : ", "),
						 kind_names[i]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown document kind: \"%s\"",
					hp_quote_value(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t))),
			 errdetail("Valid kinds are %s.", list.data)));
	return -1;
}

/*
 * NormalizeArgs: validate (kind, number) arguments; the canonical form in
 * out (UTF-8), or NULL with the detail in *detail.
 */
static int
NormalizeArgs(FunctionCallInfo fcinfo, char *out, char **detail)
{
	int			kind = KindArg(PG_GETARG_TEXT_PP(0));
	text	   *num = PG_GETARG_TEXT_PP(1);
	int			len = VARSIZE_ANY_EXHDR(num);
	char	   *utf8 = pg_server_to_any(VARDATA_ANY(num), len, PG_UTF8);

	/* a conversion may change the length; the converted string ends in NUL */
	if (utf8 != VARDATA_ANY(num))
		len = strlen(utf8);
	*detail = hp_doc_normalize(kind, utf8, len, out);
	return kind;
}

/*
 * RaiseInvalid: error 22P02 for a bad number of a kind. normalize_document,
 * the validator a person calls on their own input, quotes the number as
 * given (keep_numbers); everything else quotes it masked.
 */
static void
RaiseInvalid(int kind, text *num, const char *detail, bool keep_numbers)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid %s number: \"%s\"", kind_names[kind],
					hp_quote(VARDATA_ANY(num), VARSIZE_ANY_EXHDR(num), HP_QUOTE_CHARS, keep_numbers)),
			 errdetail("%s", hp_detail_to_server(detail))));
}

/* ToText: a UTF-8 C string as text in the database encoding */
static text *
ToText(const char *utf8)
{
	return cstring_to_text(pg_any_to_server(utf8, strlen(utf8), PG_UTF8));
}

/* normalize_document(kind, number): the canonical form, or error 22P02 */
PG_FUNCTION_INFO_V1(normalize_document);
Datum
normalize_document(PG_FUNCTION_ARGS)
{
	char		out[HP_DOC_MAXLEN + 1];
	char	   *detail;
	int			kind = NormalizeArgs(fcinfo, out, &detail);

	if (detail != NULL)
		RaiseInvalid(kind, PG_GETARG_TEXT_PP(1), detail, true);
	PG_RETURN_TEXT_P(ToText(out));
}

/* is_valid_document(kind, number): whether normalize_document would accept it */
PG_FUNCTION_INFO_V1(is_valid_document);
Datum
is_valid_document(PG_FUNCTION_ARGS)
{
	char		out[HP_DOC_MAXLEN + 1];
	char	   *detail;

	(void) NormalizeArgs(fcinfo, out, &detail);
	PG_RETURN_BOOL(detail == NULL);
}

/* MaskCanonical: mask a canonical number, keeping head and tail characters */
static char *
MaskCanonical(const char *s, int head, int tail)
{
	int			len = strlen(s);
	int			total = 0,
				seen = 0;
	StringInfoData buf;

	for (int i = 0; i < len; i += pg_utf_mblen((const unsigned char *) s + i))
		if (s[i] != '(' && s[i] != ')' && s[i] != '-')
			total++;
	initStringInfo(&buf);
	for (int i = 0; i < len;)
	{
		int			l = pg_utf_mblen((const unsigned char *) s + i);

		if (s[i] == '(' || s[i] == ')' || s[i] == '-')
			appendStringInfoChar(&buf, s[i]);
		else
		{
			if (seen < head || seen >= total - tail)
				appendBinaryStringInfo(&buf, s + i, l);
			else
				appendStringInfoChar(&buf, '*');
			seen++;
		}
		i += l;
	}
	return buf.data;
}

/* hp_mask_resident_id: the masked form 4401**********123X of a stored value */
char *
hp_mask_resident_id(int64 value)
{
	char		canon[19];

	hp_resident_id_format(value, canon);
	return MaskCanonical(canon, mask_keep[HP_DOC_CN_RESIDENT_ID][0],
						 mask_keep[HP_DOC_CN_RESIDENT_ID][1]);
}

/* mask_document(kind, number): the normalised number with its middle masked */
PG_FUNCTION_INFO_V1(mask_document);
Datum
mask_document(PG_FUNCTION_ARGS)
{
	char		out[HP_DOC_MAXLEN + 1];
	char	   *detail;
	int			kind = NormalizeArgs(fcinfo, out, &detail);

	if (detail != NULL)
		RaiseInvalid(kind, PG_GETARG_TEXT_PP(1), detail, false);
	PG_RETURN_TEXT_P(ToText(MaskCanonical(out, mask_keep[kind][0],
										  mask_keep[kind][1])));
}

/* IsCjk: Han ideographs, kana and hangul (names written without spaces) */
static bool
IsCjk(pg_wchar c)
{
	return (c >= 0x3040 && c <= 0x30FF) ||	/* hiragana, katakana */
		(c >= 0x3400 && c <= 0x4DBF) || /* CJK extension A */
		(c >= 0x4E00 && c <= 0x9FFF) || /* CJK unified ideographs */
		(c >= 0xAC00 && c <= 0xD7AF) || /* hangul syllables */
		(c >= 0xF900 && c <= 0xFAFF) || /* CJK compatibility */
		(c >= 0x20000 && c <= 0x3134F) || c == 0x3007;	/* extensions B-G, 〇 */
}

/* IsNameSeparator: characters between the parts of a name, kept as they are */
static bool
IsNameSeparator(pg_wchar c)
{
	return c == ' ' || c == '-' || c == '\'' || c == '.' || c == ',' ||
		c == 0x00B7 || c == 0x30FB || c == 0x2022 || c == 0x2027 ||
		c == 0x2019 || c == 0xFF0E || c == 0x2010 || c == 0x2011;
}

/* IsNameSpace: white space trimmed from a name and collapsed inside it */
static bool
IsNameSpace(pg_wchar c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
		c == '\f' || c == 0x00A0 || c == 0x3000 || (c >= 0x2000 && c <= 0x200A);
}

/*
 * mask_name(name): a name for display on codes. Chinese (CJK) names keep
 * the first and the last character (张*, 张*明, 欧**明); other names keep
 * the first letter of each word (C*** T** M**). Separators stay.
 */
PG_FUNCTION_INFO_V1(mask_name);
Datum
mask_name(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *s = pg_server_to_any(VARDATA_ANY(t), len, PG_UTF8);
	const unsigned char *p;
	const unsigned char *end;
	pg_wchar   *cps;
	int			n = 0,
				m = 0,
				letters = 0,
				seen = 0;
	bool		cjk = false,
				word_start = true;
	StringInfoData buf;

	if (s != VARDATA_ANY(t))
		len = strlen(s);
	p = (const unsigned char *) s;
	end = p + len;
	cps = palloc(sizeof(pg_wchar) * (len + 1));
	while (p < end)
	{
		int			l = pg_utf_mblen(p);

		if (l > end - p)
			l = end - p;
		cps[n++] = (l == 1) ? *p : utf8_to_unicode(p);
		p += l;
	}
	/* trim and collapse white space into single spaces */
	for (int i = 0; i < n; i++)
	{
		if (IsNameSpace(cps[i]))
		{
			if (m > 0 && cps[m - 1] != ' ')
				cps[m++] = ' ';
			continue;
		}
		cps[m++] = cps[i];
	}
	while (m > 0 && cps[m - 1] == ' ')
		m--;
	for (int i = 0; i < m; i++)
	{
		if (!IsNameSeparator(cps[i]))
			letters++;
		if (IsCjk(cps[i]))
			cjk = true;
	}
	if (letters == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid name: \"%s\"", hp_quote_value(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t))),
				 errdetail("A name must contain at least one letter.")));

	initStringInfo(&buf);
	for (int i = 0; i < m; i++)
	{
		unsigned char u[8];
		bool		keep;

		if (IsNameSeparator(cps[i]))
		{
			word_start = true;
			keep = true;
		}
		else
		{
			if (cjk)
				keep = (seen == 0) || (letters >= 3 && seen == letters - 1);
			else
				keep = word_start;
			word_start = false;
			seen++;
		}
		if (!keep)
		{
			appendStringInfoChar(&buf, '*');
			continue;
		}
		unicode_to_utf8(cps[i], u);
		appendBinaryStringInfo(&buf, (char *) u, pg_utf_mblen(u));
	}
	/* a one-character name would be shown whole: hide it */
	if (letters == 1 && cjk)
	{
		resetStringInfo(&buf);
		appendStringInfoChar(&buf, '*');
	}
	PG_RETURN_TEXT_P(ToText(buf.data));
}

/* document_kind_holder(kind): what a kind identifies: person, organisation or vehicle */
PG_FUNCTION_INFO_V1(document_kind_holder);
Datum
document_kind_holder(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(kind_holders[KindArg(PG_GETARG_TEXT_PP(0))]));
}

/* document_kinds(): the kinds normalize_document() knows, in a fixed order */
PG_FUNCTION_INFO_V1(document_kinds);
Datum
document_kinds(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;

	if (SRF_IS_FIRSTCALL())
	{
		funcctx = SRF_FIRSTCALL_INIT();
		funcctx->max_calls = HP_DOC_NKINDS;
	}
	funcctx = SRF_PERCALL_SETUP();
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		/* SRF_RETURN_NEXT counts the call before it evaluates its result */
		Datum		kind = PointerGetDatum(cstring_to_text(kind_names[funcctx->call_cntr]));

		SRF_RETURN_NEXT(funcctx, kind);
	}
	SRF_RETURN_DONE(funcctx);
}
