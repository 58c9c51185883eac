/*
 * base45.c
 *	  SQL access to the base45 codec (RFC 9285) of hp1_base45.c.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "token.h"

/* base45_encode(bytea): the base45 text of bytes */
PG_FUNCTION_INFO_V1(base45_encode);
Datum
base45_encode(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	size_t		n = VARSIZE_ANY_EXHDR(in);
	size_t		len = hp1_base45_encoded_len(n);
	text	   *out;

	if (len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("base45 text of %zu bytes would be too long", n),
				 errdetail("A text value holds at most 1 GB.")));
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	hp1_base45_encode((const uint8 *) VARDATA_ANY(in), n, VARDATA(out));
	PG_RETURN_TEXT_P(out);
}

/* base45_decode(text): the bytes of a base45 text */
PG_FUNCTION_INFO_V1(base45_decode);
Datum
base45_decode(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	size_t		n = VARSIZE_ANY_EXHDR(in);
	bytea	   *out = palloc(VARHDRSZ + hp1_base45_decoded_max(n));
	size_t		len;

	if (!hp1_base45_decode(VARDATA_ANY(in), n, (uint8 *) VARDATA(out), &len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for base45: \"%s\"",
						hp_quote_token(VARDATA_ANY(in), n)),
				 errdetail("base45 (RFC 9285) uses 0-9, A-Z, space and $%%*+-./: in groups of three characters (two at the end), each group at most 65535.")));
	SET_VARSIZE(out, VARHDRSZ + len);
	PG_RETURN_BYTEA_P(out);
}
