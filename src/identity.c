/*
 * identity.c
 *	  The cn_resident_id type: the 18-character resident identity card
 *	  number of GB 11643-1999, stored as its first 17 digits in an int8-like
 *	  8-byte value (the check character is derived on output), so that
 *	  comparison, sorting and hashing are those of a bigint.
 *
 * Comparison, btree and hash support reuse PostgreSQL's int8 functions
 * (declared LANGUAGE internal in sql/schema/10_identity.sql); this file has
 * the text and binary I/O and the accessors.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"

#include "identity.h"

/* the three fields of a stored value: region, birth date (yyyymmdd), sequence */
#define RID_REGION(v)	((int) ((v) / INT64CONST(100000000000)))
#define RID_BIRTH(v)	((int) (((v) / 1000) % 100000000))
#define RID_SEQUENCE(v) ((int) ((v) % 1000))

/*
 * Input functions report soft errors on 16+ (pg_input_is_valid), hard
 * errors on 15.
 */
#if PG_VERSION_NUM >= 160000
#define HP_INPUT_ERROR(fcinfo, ...) ereturn((fcinfo)->context, (Datum) 0, __VA_ARGS__)
#else
#define HP_INPUT_ERROR(fcinfo, ...) ereport(ERROR, __VA_ARGS__)
#endif

/* cn_resident_id_in: text input, 18 characters (x or X) or 15 digits */
PG_FUNCTION_INFO_V1(cn_resident_id_in);
Datum
cn_resident_id_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	int			len = strlen(str);
	char	   *utf8 = pg_server_to_any(str, len, PG_UTF8);
	int64		value = 0;
	char	   *detail;

	detail = hp_resident_id_parse(utf8, strlen(utf8), &value);
	if (detail != NULL)
		HP_INPUT_ERROR(fcinfo,
					   errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					   errmsg("invalid cn_resident_id number: \"%s\"",
							  hp_quote(str, len, HP_QUOTE_CHARS, true)),
					   errdetail("%s", hp_detail_to_server(detail)));
	PG_RETURN_INT64(value);
}

/* cn_resident_id_out: the canonical 18 characters */
PG_FUNCTION_INFO_V1(cn_resident_id_out);
Datum
cn_resident_id_out(PG_FUNCTION_ARGS)
{
	char	   *out = palloc(19);

	hp_resident_id_format(PG_GETARG_INT64(0), out);
	PG_RETURN_CSTRING(out);
}

/* BinaryForMessage: received bytes as text, or as \x hex when not printable */
static char *
BinaryForMessage(const char *p, int n)
{
	StringInfoData buf;

	for (int i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7E)
		{
			initStringInfo(&buf);
			appendStringInfoString(&buf, "\\x");
			for (int j = 0; j < n && j < 20; j++)
				appendStringInfo(&buf, "%02x", (unsigned char) p[j]);
			if (n > 20)
				appendStringInfoString(&buf, "...");
			return buf.data;
		}
	return hp_quote_value(p, n);
}

/*
 * cn_resident_id_recv: binary input, exactly the canonical 18 ASCII
 * characters (upper-case X), checked like text input.
 */
PG_FUNCTION_INFO_V1(cn_resident_id_recv);
Datum
cn_resident_id_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			n = buf->len - buf->cursor;
	const char *p = pq_getmsgbytes(buf, n);
	int64		value = 0;
	char	   *detail = NULL;

	if (n != 18)
		detail = psprintf("The binary form is the 18-character number, not %d bytes.", n);
	else
	{
		for (int i = 0; i < 18 && detail == NULL; i++)
			if (!((p[i] >= '0' && p[i] <= '9') || (i == 17 && p[i] == 'X')))
				detail = pstrdup("The binary form is 17 digits and a digit or an upper-case X.");
		if (detail == NULL)
			detail = hp_resident_id_parse(p, 18, &value);
	}
	if (detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary cn_resident_id value: \"%s\"",
						BinaryForMessage(p, n)),
				 errdetail("%s", detail)));
	PG_RETURN_INT64(value);
}

/* cn_resident_id_send: binary output, the canonical 18 ASCII characters */
PG_FUNCTION_INFO_V1(cn_resident_id_send);
Datum
cn_resident_id_send(PG_FUNCTION_ARGS)
{
	char		out[19];
	StringInfoData buf;

	hp_resident_id_format(PG_GETARG_INT64(0), out);
	pq_begintypsend(&buf);
	pq_sendbytes(&buf, out, 18);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* BirthJulian: the birth date of a stored value as a Julian day */
static int
BirthJulian(int64 v)
{
	int			b = RID_BIRTH(v);

	return date2j(b / 10000, (b / 100) % 100, b % 100);
}

/* birth_date(cn_resident_id): the birth date in the number */
PG_FUNCTION_INFO_V1(cn_resident_id_birth_date);
Datum
cn_resident_id_birth_date(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(BirthJulian(PG_GETARG_INT64(0)) - POSTGRES_EPOCH_JDATE);
}

/* sex(cn_resident_id): 'male' for an odd sequence number, else 'female' */
PG_FUNCTION_INFO_V1(cn_resident_id_sex);
Datum
cn_resident_id_sex(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(RID_SEQUENCE(PG_GETARG_INT64(0)) % 2 ? "male" : "female"));
}

/* region_code(cn_resident_id): the 6-digit GB/T 2260 region code */
PG_FUNCTION_INFO_V1(cn_resident_id_region_code);
Datum
cn_resident_id_region_code(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%06d", RID_REGION(PG_GETARG_INT64(0)))));
}

/* DateText: a date for messages, ISO whatever the DateStyle */
static char *
DateText(DateADT d)
{
	int			y,
				m,
				dd;

	if (DATE_IS_NOBEGIN(d))
		return pstrdup("-infinity");
	if (DATE_IS_NOEND(d))
		return pstrdup("infinity");
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	if (y <= 0)
		return psprintf("%04d-%02d-%02d BC", 1 - y, m, dd);
	return psprintf("%04d-%02d-%02d", y, m, dd);
}

/*
 * age(cn_resident_id, at date): completed years at the date; someone born
 * on 29 February gets a year older on 1 March in common years.
 */
PG_FUNCTION_INFO_V1(cn_resident_id_age);
Datum
cn_resident_id_age(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);
	DateADT		at = PG_GETARG_DATEADT(1);
	int			b = RID_BIRTH(v);
	int			by = b / 10000,
				bm = (b / 100) % 100,
				bd = b % 100;
	int			y,
				m,
				d,
				age;

	if (DATE_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("cannot compute an age at \"%s\"", DateText(at)),
				 errdetail("The date must be finite.")));
	if (at + POSTGRES_EPOCH_JDATE < BirthJulian(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("date \"%s\" is before the birth date", DateText(at)),
				 errdetail("The birth date is %04d-%02d-%02d.", by, bm, bd)));
	j2date(at + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	age = y - by;
	if (m < bm || (m == bm && d < bd))
		age--;
	PG_RETURN_INT32(age);
}

/* mask(cn_resident_id): 4401**********123X, the first 4 and last 4 kept */
PG_FUNCTION_INFO_V1(cn_resident_id_mask);
Datum
cn_resident_id_mask(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(hp_mask_resident_id(PG_GETARG_INT64(0))));
}
