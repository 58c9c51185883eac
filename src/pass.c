/*
 * pass.c
 *	  The healthpass.pass type: a presented HP1 token stored compactly as its
 *	  COSE_Sign1 bytes (no zlib, no base45). Text I/O is the HP1 text form;
 *	  input checks the structure, not the signature (verify_token does that).
 *	  Accessors read the claims without verifying them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "codec_memory.h"
#include "token.h"

/* ParsePass: the parsed claims of a stored pass */
static void
ParsePass(bytea *p, Hp1Token *t)
{
	if (hp1_parse((const uint8 *) VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p), t) != HP1_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored pass value is damaged"),
				 errdetail("%s", hp1_error_detail(HP1_ERR_CBOR))));
}

/* MakePass: a pass datum from COSE bytes */
static bytea *
MakePass(const uint8 *cose, size_t len)
{
	bytea	   *p = palloc(VARHDRSZ + len);

	SET_VARSIZE(p, VARHDRSZ + len);
	memcpy(VARDATA(p), cose, len);
	return p;
}

/* pass_in: HP1 text to pass; structure checked, signature not */
PG_FUNCTION_INFO_V1(pass_in);
Datum
pass_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);
	size_t		n = strlen(s);
	const uint8 *cose = NULL;
	size_t		cose_len = 0;
	Hp1Token	t;
	Hp1Error	err = hp1_text_decode(s, n, hp_scratch(2), hp_scratch(3), &cose, &cose_len);

	if (err == HP1_OK)
		err = hp1_parse(cose, cose_len, &t);
	if (err != HP1_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type pass: \"%s\"", hp_quote_token(s, n)),
				 errdetail("%s", hp1_error_detail(err))));
	PG_RETURN_BYTEA_P(MakePass(cose, cose_len));
}

/* pass_out: the HP1 text form (compressed again) */
PG_FUNCTION_INFO_V1(pass_out);
Datum
pass_out(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_BYTEA_PP(0);
	Hp1Buf	   *z = hp_scratch(3);
	size_t		tlen;
	char	   *out;

	if (!hp1_deflate((const uint8 *) VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p), z))
		elog(ERROR, "zlib could not compress a pass");
	tlen = hp1_text_len(z->len);
	out = palloc(tlen + 1);
	hp1_text_write(z->data, z->len, out);
	out[tlen] = '\0';
	PG_RETURN_CSTRING(out);
}

/* pass_recv: binary input is the COSE_Sign1 bytes, checked like text input */
PG_FUNCTION_INFO_V1(pass_recv);
Datum
pass_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	const uint8 *cose = (const uint8 *) (buf->data + buf->cursor);
	size_t		len = (size_t) (buf->len - buf->cursor);
	Hp1Token	t;
	Hp1Error	err = hp1_parse(cose, len, &t);

	if (err != HP1_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary pass of %zu bytes", len),
				 errdetail("%s", hp1_error_detail(err))));
	buf->cursor = buf->len;
	PG_RETURN_BYTEA_P(MakePass(cose, len));
}

/* pass_send: the COSE_Sign1 bytes */
PG_FUNCTION_INFO_V1(pass_send);
Datum
pass_send(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_BYTEA_P(MakePass((const uint8 *) VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p)));
}

/* pass_kind: the body's "k" */
PG_FUNCTION_INFO_V1(pass_kind);
Datum
pass_kind(PG_FUNCTION_ARGS)
{
	Hp1Token	t;

	ParsePass(PG_GETARG_BYTEA_PP(0), &t);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(t.kind, (int) t.kind_len));
}

/* pass_issuer: the iss claim */
PG_FUNCTION_INFO_V1(pass_issuer);
Datum
pass_issuer(PG_FUNCTION_ARGS)
{
	Hp1Token	t;

	ParsePass(PG_GETARG_BYTEA_PP(0), &t);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(t.iss, (int) t.iss_len));
}

/* pass_kid: the key id of the protected header */
PG_FUNCTION_INFO_V1(pass_kid);
Datum
pass_kid(PG_FUNCTION_ARGS)
{
	Hp1Token	t;

	ParsePass(PG_GETARG_BYTEA_PP(0), &t);
	PG_RETURN_BYTEA_P(MakePass(t.kid, t.kid_len));
}

/* pass_issued_at: the iat claim */
PG_FUNCTION_INFO_V1(pass_issued_at);
Datum
pass_issued_at(PG_FUNCTION_ARGS)
{
	Hp1Token	t;

	ParsePass(PG_GETARG_BYTEA_PP(0), &t);
	PG_RETURN_TIMESTAMPTZ(hp_unix_to_timestamptz(t.iat));
}

/* pass_expires_at: the exp claim */
PG_FUNCTION_INFO_V1(pass_expires_at);
Datum
pass_expires_at(PG_FUNCTION_ARGS)
{
	Hp1Token	t;

	ParsePass(PG_GETARG_BYTEA_PP(0), &t);
	PG_RETURN_TIMESTAMPTZ(hp_unix_to_timestamptz(t.exp));
}

/* pass_token_id: the cti claim */
PG_FUNCTION_INFO_V1(pass_token_id);
Datum
pass_token_id(PG_FUNCTION_ARGS)
{
	Hp1Token	t;

	ParsePass(PG_GETARG_BYTEA_PP(0), &t);
	PG_RETURN_BYTEA_P(MakePass(t.cti, HP1_CTI_LEN));
}

/* pass_body: the body map as jsonb */
PG_FUNCTION_INFO_V1(pass_body);
Datum
pass_body(PG_FUNCTION_ARGS)
{
	Hp1Token	t;

	ParsePass(PG_GETARG_BYTEA_PP(0), &t);
	PG_RETURN_JSONB_P(hp_cbor_to_jsonb(t.body, t.body_len));
}

/* pass_cose: the COSE_Sign1 bytes */
PG_FUNCTION_INFO_V1(pass_cose);
Datum
pass_cose(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_BYTEA_P(MakePass((const uint8 *) VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p)));
}
