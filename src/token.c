/*
 * token.c
 *	  Issuing and verifying HP1 tokens: issue_token(), issue_token_at(),
 *	  verify_token(text|pass), and the jsonb <-> CBOR bridges.
 *
 * jsonb to CBOR (issuing): objects become maps with text keys in jsonb's
 * own key order, which is exactly CBOR's deterministic order (shorter keys
 * first, then bytewise); strings become UTF-8 text; true/false/null the
 * CBOR simple values; arrays arrays. Numbers without a fraction become CBOR
 * integers (-2^64 .. 2^64-1). Numbers with a fraction become IEEE 754 floats
 * in the shortest of binary16/32/64 that keeps the value, and only when a
 * double holds the number exactly as written (shortest round trip, so 36.6
 * is fine and 0.1000000000000000000001 is refused). Nesting is limited to
 * 16 levels.
 *
 * CBOR to jsonb (verifying): the reverse; floats come back as their
 * shortest decimal form; byte strings (which healthpass never writes) come
 * back as base64url text. Tags, undefined and other simple values, NaN and
 * infinities make a token malformed.
 */
#include "postgres.h"

#include <sodium.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "codec_memory.h"
#include "guc.h"
#include "identity.h"
#include "key_cache.h"
#include "token.h"

/* largest HP1 text issued: QR version 40-L holds 4296 alphanumeric characters */
#define HP1_MAX_ISSUED_TEXT 4296

/* the latest expiry a token can carry: 9999-12-31T23:59:59Z, seconds since 1970 */
#define HP1_LAST_SECOND INT64CONST(253402300799)

/*
 * Bounds on each field of a valid_for interval, checked before any
 * arithmetic: up to 8000 years ahead (no token expires after 9999), and no
 * field more than 2000 years back, so that adding the fields one by one to
 * a time after 1970 never leaves the range of timestamptz.
 */
#define VALID_FOR_YEARS_AHEAD 8000
#define VALID_FOR_YEARS_BACK 2000

/* hp_quote_token: a token for an error message, cut at 60 characters (hp_quote) */
char *
hp_quote_token(const char *s, size_t len)
{
	int			n = (int) Min(len, (size_t) PG_INT32_MAX);

	return hp_quote(s, n, n <= 60 ? 60 : 57, false);
}

/* hp_unix_to_timestamptz: seconds since 1970 as timestamptz */
TimestampTz
hp_unix_to_timestamptz(uint64 secs)
{
	return ((TimestampTz) secs - HP_UNIX_TO_PG_SECS) * USECS_PER_SEC;
}

/* token_issuer(): the iss claim this server writes (loads the GUCs first) */
PG_FUNCTION_INFO_V1(token_issuer);
Datum
token_issuer(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(hp_issuer));
}

/* ---------------------------------------------------------------------
 * jsonb -> CBOR
 * ---------------------------------------------------------------------
 */

/* EmitString: a jsonb string (server encoding) as CBOR text (UTF-8) */
static void
EmitString(Hp1Buf *b, const char *s, int len)
{
	if (GetDatabaseEncoding() == PG_UTF8)
		hp1_cbor_text(b, s, (size_t) len);
	else
	{
		char	   *u = pg_server_to_any(s, len, PG_UTF8);

		hp1_cbor_text(b, u, strlen(u));
	}
}

/*
 * EmitNumeric: an integer within -2^64 .. 2^64-1 as a CBOR integer; any
 * other number as the shortest float that holds it exactly, or an error
 */
static void
EmitNumeric(Hp1Buf *b, Numeric num)
{
	char	   *s = numeric_normalize(num);
	bool		neg = s[0] == '-';
	const char *digits = neg ? s + 1 : s;
	double		d;
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];
	char	   *back;

	if (strchr(s, '.') == NULL)
	{
		uint64		mag;
		char	   *end;

		errno = 0;
		mag = strtoull(digits, &end, 10);
		if (errno == 0 && *end == '\0' && (!neg || mag > 0))
		{
			if (neg)
				hp1_cbor_head(b, HP1_CBOR_NINT, mag - 1);
			else
				hp1_cbor_head(b, HP1_CBOR_UINT, mag);
			return;
		}
		if (neg && strcmp(digits, "18446744073709551616") == 0)
		{
			hp1_cbor_head(b, HP1_CBOR_NINT, PG_UINT64_MAX);
			return;
		}
	}
	d = strtod(s, NULL);
	double_to_shortest_decimal_buf(d, buf);
	back = numeric_normalize(DatumGetNumeric(DirectFunctionCall3(numeric_in,
																 CStringGetDatum(buf),
																 ObjectIdGetDatum(InvalidOid),
																 Int32GetDatum(-1))));
	if (strcmp(back, s) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("body number %s cannot be carried exactly", s),
				 errdetail("Integers travel as CBOR integers from -2^64 to 2^64-1 and other numbers as IEEE 754 floats, and the nearest float is %s.", buf),
				 errhint("Round the number, or send it as a string.")));
	hp1_cbor_double(b, d);
}

static void EmitContainer(Hp1Buf *b, JsonbContainer *c, int depth);

/* EmitValue: one jsonb value (scalar or nested container) */
static void
EmitValue(Hp1Buf *b, JsonbValue *v, int depth)
{
	switch (v->type)
	{
		case jbvNull:
			hp1_cbor_head(b, HP1_CBOR_SIMPLE, 22);
			break;
		case jbvBool:
			hp1_cbor_head(b, HP1_CBOR_SIMPLE, v->val.boolean ? 21 : 20);
			break;
		case jbvString:
			EmitString(b, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			EmitNumeric(b, v->val.numeric);
			break;
		case jbvBinary:
			EmitContainer(b, v->val.binary.data, depth + 1);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

/* EmitContainer: a jsonb array or object, in jsonb's (deterministic) key order */
static void
EmitContainer(Hp1Buf *b, JsonbContainer *c, int depth)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (depth >= HP1_CBOR_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("token body is nested %d levels deep", depth + 1),
				 errdetail("A token body nests arrays and objects at most %d levels deep.", HP1_CBOR_MAX_DEPTH)));
	it = JsonbIteratorInit(c);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				hp1_cbor_head(b, HP1_CBOR_ARRAY, (uint64) v.val.array.nElems);
				break;
			case WJB_BEGIN_OBJECT:
				hp1_cbor_head(b, HP1_CBOR_MAP, (uint64) v.val.object.nPairs);
				break;
			case WJB_KEY:
				EmitString(b, v.val.string.val, v.val.string.len);
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				EmitValue(b, &v, depth);
				break;
			default:
				break;
		}
	}
}

/* KeyBefore: whether the one-letter key c sorts before jsonb key (s, len) */
static inline bool
KeyBefore(char c, const char *s, int len)
{
	return len > 1 || (len == 1 && c < s[0]);
}

/*
 * EmitBody: the body object with "k": kind and "v": 1 merged in at their
 * sorted places. A body may carry "k" or "v" only with those same values.
 */
static void
EmitBody(Hp1Buf *b, Jsonb *body, const char *kind, size_t kind_len)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		have_k = false,
				have_v = false,
				done_k,
				done_v;
	JsonbValue *kv;

	if (!JB_ROOT_IS_OBJECT(body))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token body must be a JSON object"),
				 errdetail("The body of an HP1 token is a map with text keys.")));
	if ((kv = getKeyJsonValueFromContainer(&body->root, "k", 1, NULL)) != NULL)
	{
		if (kv->type != jbvString || (size_t) kv->val.string.len != kind_len ||
			memcmp(kv->val.string.val, kind, kind_len) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("token body key \"k\" does not match kind \"%s\"", pnstrdup(kind, kind_len)),
					 errdetail("\"k\" is the token's kind; the body may repeat it but not change it.")));
		have_k = true;
	}
	if ((kv = getKeyJsonValueFromContainer(&body->root, "v", 1, NULL)) != NULL)
	{
		if (kv->type != jbvNumeric || strcmp(numeric_normalize(kv->val.numeric), "1") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("token body key \"v\" must be 1"),
					 errdetail("\"v\" is the body version, and this implementation writes version 1.")));
		have_v = true;
	}
	done_k = have_k;
	done_v = have_v;
	it = JsonbIteratorInit(&body->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_OBJECT:
				hp1_cbor_head(b, HP1_CBOR_MAP,
							 (uint64) v.val.object.nPairs + !have_k + !have_v);
				break;
			case WJB_KEY:
				if (!done_k && KeyBefore('k', v.val.string.val, v.val.string.len))
				{
					hp1_cbor_text(b, "k", 1);
					hp1_cbor_text(b, kind, kind_len);
					done_k = true;
				}
				if (!done_v && KeyBefore('v', v.val.string.val, v.val.string.len))
				{
					hp1_cbor_text(b, "v", 1);
					hp1_cbor_head(b, HP1_CBOR_UINT, 1);
					done_v = true;
				}
				EmitString(b, v.val.string.val, v.val.string.len);
				break;
			case WJB_VALUE:
				EmitValue(b, &v, 0);
				break;
			default:
				break;
		}
	}
	if (!done_k)
	{
		hp1_cbor_text(b, "k", 1);
		hp1_cbor_text(b, kind, kind_len);
	}
	if (!done_v)
	{
		hp1_cbor_text(b, "v", 1);
		hp1_cbor_head(b, HP1_CBOR_UINT, 1);
	}
}

/* CheckKind: 1 to 32 of [a-z0-9_], starting with a letter */
static void
CheckKind(const char *kind, size_t len)
{
	bool		good = len >= 1 && len <= 32 && kind[0] >= 'a' && kind[0] <= 'z';

	for (size_t i = 1; good && i < len; i++)
		good = (kind[i] >= 'a' && kind[i] <= 'z') || (kind[i] >= '0' && kind[i] <= '9') ||
			kind[i] == '_';
	if (!good)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid token kind \"%s\"", hp_quote_value(kind, (int) Min(len, (size_t) PG_INT32_MAX))),
				 errdetail("A kind is 1 to 32 lower-case letters, digits or underscores, starting with a letter.")));
}

/* UnixSeconds: a timestamptz as whole seconds since 1970 (rounded down) */
static int64
UnixSeconds(TimestampTz t)
{
	int64		s = t / USECS_PER_SEC;

	if (t < 0 && t % USECS_PER_SEC != 0)
		s--;
	return s + HP_UNIX_TO_PG_SECS;
}

/* QuoteInterval: an interval as an error message quotes it */
static char *
QuoteInterval(Interval *v)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(v)));

	return hp_quote_value(s, strlen(s));
}

/* QuoteTimestamp: a timestamptz as an error message quotes it */
static char *
QuoteTimestamp(TimestampTz t)
{
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(t)));
}

/* RaiseValidity: the error for a valid_for that is too short or too long */
static void
RaiseValidity(Interval *valid_for, bool too_long)
{
	if (too_long)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("token validity \"%s\" is too long", QuoteInterval(valid_for)),
				 errdetail("A token expires by 9999-12-31 23:59:59 UTC at the latest.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("token validity \"%s\" is too short", QuoteInterval(valid_for)),
			 errdetail("A token is valid for at least one second.")));
}

/*
 * ExpiryOf: from + valid_for, refused (with the value quoted) when it is
 * less than a second after from or after 9999-12-31 23:59:59 UTC. Huge,
 * negative and (on 17+) infinite intervals get these errors too, never a
 * bare "timestamp out of range".
 */
static TimestampTz
ExpiryOf(TimestampTz from, Interval *valid_for)
{
	const int64 ahead = VALID_FOR_YEARS_AHEAD,
				back = VALID_FOR_YEARS_BACK;
	TimestampTz until;

	if (valid_for->month > ahead * MONTHS_PER_YEAR || valid_for->month < -back * MONTHS_PER_YEAR ||
		valid_for->day > ahead * 366 || valid_for->day < -back * 366 ||
		valid_for->time > ahead * 366 * USECS_PER_DAY || valid_for->time < -back * 366 * USECS_PER_DAY)
	{
		/* out of bounds: too long or too short by the sign of its rough length */
		double		rough = (double) valid_for->month * DAYS_PER_MONTH * USECS_PER_DAY +
			(double) valid_for->day * USECS_PER_DAY + (double) valid_for->time;

		RaiseValidity(valid_for, rough > 0);
	}
	until = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													TimestampTzGetDatum(from),
													IntervalPGetDatum(valid_for)));
	if (until - from < USECS_PER_SEC)
		RaiseValidity(valid_for, false);
	if (UnixSeconds(until) > HP1_LAST_SECOND)
		RaiseValidity(valid_for, true);
	return until;
}

/*
 * CheckClaimTime: an issued_at or expires_at given to issue_token_at is a
 * finite time between 1970-01-01 and 9999-12-31 23:59:59 UTC
 */
static void
CheckClaimTime(const char *field, TimestampTz t)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s \"%s\" is not a point in time", field, QuoteTimestamp(t)),
				 errdetail("The %s must be a real date and time, not infinity.", field)));
	if (UnixSeconds(t) < 0 || UnixSeconds(t) > HP1_LAST_SECOND)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s \"%s\" is out of range", field, QuoteTimestamp(t)),
				 errdetail("Token times lie between 1970-01-01 00:00:00 and 9999-12-31 23:59:59 UTC.")));
}

/* IssueText: signs the claims with signer and returns the HP1 text */
static text *
IssueText(const HpSigner *s, const char *kind, size_t kind_len, Jsonb *body,
		  int64 iat, int64 exp, const uint8 *cti)
{
	Hp1Buf	   *payload = hp_scratch(0);
	Hp1Buf	   *sig_scratch = hp_scratch(1);
	Hp1Buf	   *cose = hp_scratch(2);
	Hp1Buf	   *zlib = hp_scratch(3);
	size_t		tlen;
	text	   *result;
	const char *iss = hp_issuer;

	if (iat < 0 || exp <= iat || exp > INT64CONST(253402300799))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token validity from %lld to %lld is invalid", (long long) iat, (long long) exp),
				 errdetail("A token expires at least one second after it is issued, between 1970 and 9999.")));
	hp1_buf_reset(payload);
	hp1_claims_head(payload, iss, strlen(iss), (uint64) iat, (uint64) exp, cti);
	EmitBody(payload, body, kind, kind_len);
	if (payload->len > HP1_MAX_COSE - 128)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("token payload of %zu bytes is too large", payload->len),
				 errdetail("A token holds at most %d bytes.", HP1_MAX_COSE)));
	if (!hp1_sign(cose, sig_scratch, s->sk, s->prot, s->prot_len, payload->data, payload->len))
		elog(ERROR, "could not sign a token");
	if (!hp1_deflate(cose->data, cose->len, zlib))
		elog(ERROR, "zlib could not compress a token");
	tlen = hp1_text_len(zlib->len);
	if (tlen > HP1_MAX_ISSUED_TEXT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("token of %zu characters does not fit in a QR code", tlen),
				 errdetail("A QR code holds at most %d base45 characters.", HP1_MAX_ISSUED_TEXT),
				 errhint("Make the body smaller.")));
	result = palloc(VARHDRSZ + tlen);
	SET_VARSIZE(result, VARHDRSZ + tlen);
	hp1_text_write(zlib->data, zlib->len, VARDATA(result));
	return result;
}

/*
 * issue_token(kind, body, valid_for): a new HP1 token signed with the
 * active key, issued now, with a random token id.
 */
PG_FUNCTION_INFO_V1(issue_token);
Datum
issue_token(PG_FUNCTION_ARGS)
{
	text	   *kind = PG_GETARG_TEXT_PP(0);
	Jsonb	   *body = PG_GETARG_JSONB_P(1);
	Interval   *valid_for = PG_GETARG_INTERVAL_P(2);
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz iat_ts = now - now % USECS_PER_SEC;
	TimestampTz exp_ts;
	uint8		cti[HP1_CTI_LEN];
	const HpSigner *s;

	CheckKind(VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind));
	exp_ts = ExpiryOf(iat_ts, valid_for);
	s = hp_signer_active(iat_ts);
	randombytes_buf(cti, sizeof(cti));
	PG_RETURN_TEXT_P(IssueText(s, VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind), body,
							   UnixSeconds(iat_ts), UnixSeconds(exp_ts), cti));
}

/*
 * issue_token_at(kind, body, issued_at, expires_at, token_id, kid): a token
 * with given claims, for reproducible vectors and migrations; superusers
 * only (not granted). kid NULL means the active key.
 */
PG_FUNCTION_INFO_V1(issue_token_at);
Datum
issue_token_at(PG_FUNCTION_ARGS)
{
	text	   *kind;
	bytea	   *cti;
	const HpSigner *s;
	TimestampTz iat_ts,
				exp_ts;

	for (int i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of issue_token_at must not be null", i + 1),
					 errdetail("Only the kid may be null, meaning the active key.")));
	kind = PG_GETARG_TEXT_PP(0);
	cti = PG_GETARG_BYTEA_PP(4);
	iat_ts = PG_GETARG_TIMESTAMPTZ(2);
	exp_ts = PG_GETARG_TIMESTAMPTZ(3);
	CheckKind(VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind));
	CheckClaimTime("issued_at", iat_ts);
	CheckClaimTime("expires_at", exp_ts);
	if (UnixSeconds(exp_ts) <= UnixSeconds(iat_ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_at \"%s\" is not after issued_at \"%s\"",
						QuoteTimestamp(exp_ts), QuoteTimestamp(iat_ts)),
				 errdetail("A token expires at least one second after it is issued.")));
	if (VARSIZE_ANY_EXHDR(cti) != HP1_CTI_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token id of %zu bytes is invalid", VARSIZE_ANY_EXHDR(cti)),
				 errdetail("A token id has 16 bytes.")));
	if (PG_ARGISNULL(5))
		s = hp_signer_active(GetCurrentTimestamp());
	else
	{
		bytea	   *kid = PG_GETARG_BYTEA_PP(5);

		s = hp_signer_for_kid((const uint8 *) VARDATA_ANY(kid), VARSIZE_ANY_EXHDR(kid));
	}
	PG_RETURN_TEXT_P(IssueText(s, VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind),
							   PG_GETARG_JSONB_P(1), UnixSeconds(iat_ts), UnixSeconds(exp_ts),
							   (const uint8 *) VARDATA_ANY(cti)));
}

/* ---------------------------------------------------------------------
 * CBOR -> jsonb
 * ---------------------------------------------------------------------
 */

/* NumericFromString: a numeric from its text */
static Numeric
NumericFromString(const char *s)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/* TextValue: a CBOR text (UTF-8) as a jsonb string in the server encoding */
static void
TextValue(JsonbValue *v, const uint8 *p, size_t n)
{
	v->type = jbvString;
	if (GetDatabaseEncoding() == PG_UTF8)
		v->val.string.val = (char *) p;
	else
	{
		v->val.string.val = pg_any_to_server((const char *) p, (int) n, PG_UTF8);
		n = strlen(v->val.string.val);
	}
	v->val.string.len = (int) n;
}

/* PushCbor: pushes one (validated) CBOR value onto a jsonb parse state */
static JsonbValue *
PushCbor(JsonbParseState **st, const uint8 **pp, const uint8 *end, JsonbIteratorToken tok)
{
	Hp1CborHead	h;
	JsonbValue	v;
	JsonbValue *res;
	char		buf[64];

	hp1_cbor_read_head(pp, end, &h);
	switch (h.major)
	{
		case HP1_CBOR_UINT:
			v.type = jbvNumeric;
			if (h.val <= (uint64) PG_INT64_MAX)
				v.val.numeric = int64_to_numeric((int64) h.val);
			else
			{
				snprintf(buf, sizeof(buf), UINT64_FORMAT, h.val);
				v.val.numeric = NumericFromString(buf);
			}
			break;
		case HP1_CBOR_NINT:
			v.type = jbvNumeric;
			if (h.val < (uint64) PG_INT64_MAX)
				v.val.numeric = int64_to_numeric(-1 - (int64) h.val);
			else if (h.val == PG_UINT64_MAX)
				v.val.numeric = NumericFromString("-18446744073709551616");
			else
			{
				snprintf(buf, sizeof(buf), "-" UINT64_FORMAT, h.val + 1);
				v.val.numeric = NumericFromString(buf);
			}
			break;
		case HP1_CBOR_BYTES:
			{
				size_t		cap = sodium_base64_ENCODED_LEN(h.val, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
				char	   *s = palloc(cap);

				sodium_bin2base64(s, cap, h.ptr, (size_t) h.val, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
				v.type = jbvString;
				v.val.string.val = s;
				v.val.string.len = (int) strlen(s);
			}
			break;
		case HP1_CBOR_TEXT:
			TextValue(&v, h.ptr, (size_t) h.val);
			break;
		case HP1_CBOR_ARRAY:
			pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
			for (uint64 i = 0; i < h.val; i++)
				PushCbor(st, pp, end, WJB_ELEM);
			return pushJsonbValue(st, WJB_END_ARRAY, NULL);
		case HP1_CBOR_MAP:
			pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
			for (uint64 i = 0; i < h.val; i++)
			{
				Hp1CborHead	k;
				JsonbValue	kv;

				hp1_cbor_read_head(pp, end, &k);
				TextValue(&kv, k.ptr, (size_t) k.val);
				pushJsonbValue(st, WJB_KEY, &kv);
				PushCbor(st, pp, end, WJB_VALUE);
			}
			return pushJsonbValue(st, WJB_END_OBJECT, NULL);
		default:
			if (h.info == 20 || h.info == 21)
			{
				v.type = jbvBool;
				v.val.boolean = h.info == 21;
			}
			else if (h.info == 22)
				v.type = jbvNull;
			else
			{
				double_to_shortest_decimal_buf(hp1_cbor_float_value(&h), buf);
				v.type = jbvNumeric;
				v.val.numeric = NumericFromString(buf);
			}
			break;
	}
	res = pushJsonbValue(st, tok, &v);
	return res;
}

/* hp_cbor_to_jsonb: a validated body map as jsonb */
Jsonb *
hp_cbor_to_jsonb(const uint8 *body, size_t len)
{
	JsonbParseState *st = NULL;
	const uint8 *p = body;
	JsonbValue *res = PushCbor(&st, &p, body + len, WJB_VALUE);

	return JsonbValueToJsonb(res);
}

/* ---------------------------------------------------------------------
 * verifying
 * ---------------------------------------------------------------------
 */

#define VERIFY_NATTS 9

/* ResultDesc: the blessed row type of verify_token, cached per call site */
static TupleDesc
ResultDesc(FunctionCallInfo fcinfo)
{
	TupleDesc	td = (TupleDesc) fcinfo->flinfo->fn_extra;

	if (td == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		td = BlessTupleDesc(CreateTupleDescCopy(td));
		fcinfo->flinfo->fn_extra = td;
		MemoryContextSwitchTo(old);
	}
	return td;
}

/* ByteaOf: bytes as a bytea datum */
static Datum
ByteaOf(const uint8 *p, size_t n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), p, n);
	return PointerGetDatum(b);
}

/*
 * Verify: the verdict on COSE bytes (or on a decoding error) at a time.
 * Claims are returned only when the signature checked and the token's iss
 * is the issuer of the key that signed it; the kid whenever the token could
 * be parsed.
 */
static Datum
Verify(FunctionCallInfo fcinfo, Hp1Error err, const uint8 *cose, size_t cose_len, TimestampTz at)
{
	TupleDesc	td = ResultDesc(fcinfo);
	Datum		values[VERIFY_NATTS];
	bool		nulls[VERIFY_NATTS];
	const char *reason = NULL;
	Hp1Token	t;
	bool		signed_ok = false;
	const HpKey *signer = NULL;

	memset(nulls, true, sizeof(nulls));
	if (err == HP1_OK)
		err = hp1_parse(cose, cose_len, &t);
	if (err != HP1_OK)
		reason = "malformed";
	else
	{
		const HpKey *first;
		int			n = hp_keys_lookup(t.kid, t.kid_len, &first);
		TimestampTz iat = hp_unix_to_timestamptz(t.iat);
		TimestampTz exp = hp_unix_to_timestamptz(t.exp);
		int64		skew = (int64) hp_clock_skew * USECS_PER_SEC;

		values[4] = ByteaOf(t.kid, t.kid_len);
		nulls[4] = false;
		if (n == 0)
			reason = "unknown_key";
		else if (n == 1)
		{
			/* the usual case: the spec's order exactly */
			if (first->status == 'x')
				reason = "key_revoked";
			else if (iat < first->not_before || iat >= first->not_after)
				reason = "key_expired";
			else if (!hp1_verify(&t, hp_scratch(1), first->pk))
				reason = "bad_signature";
			else
			{
				signed_ok = true;
				signer = first;
			}
		}
		else
		{
			/* several keys share the kid: the one whose signature checks decides */
			const HpKey *match = NULL;
			bool		any_usable = false;

			for (int i = 0; i < n; i++)
			{
				if (first[i].status != 'x' && iat >= first[i].not_before && iat < first[i].not_after)
					any_usable = true;
				if (match == NULL && hp1_verify(&t, hp_scratch(1), first[i].pk))
					match = &first[i];
			}
			if (match != NULL)
			{
				if (match->status == 'x')
					reason = "key_revoked";
				else if (iat < match->not_before || iat >= match->not_after)
					reason = "key_expired";
				else
				{
					signed_ok = true;
					signer = match;
				}
			}
			else if (any_usable)
				reason = "bad_signature";
			else
				reason = first->status == 'x' ? "key_revoked" : "key_expired";
		}
		/*
		 * 4b: a key vouches only for its own issuer. A token whose iss is not
		 * that issuer's is refused before anything else is read from it: its
		 * claims are nobody's word, so they are not returned.
		 */
		if (signed_ok)
		{
			const char *key_iss = hp_key_issuer(signer);

			if (t.iss_len != strlen(key_iss) || memcmp(t.iss, key_iss, t.iss_len) != 0)
			{
				reason = "issuer_mismatch";
				signed_ok = false;
			}
		}
		if (signed_ok)
		{
			if (at >= exp + skew)
				reason = "expired";
			else if (iat > at + skew)
				reason = "not_yet_valid";
			else if (hp_token_is_revoked(t.cti))
				reason = "revoked";
			values[2] = PointerGetDatum(cstring_to_text_with_len(t.kind, (int) t.kind_len));
			values[3] = PointerGetDatum(cstring_to_text_with_len(t.iss, (int) t.iss_len));
			values[5] = TimestampTzGetDatum(iat);
			values[6] = TimestampTzGetDatum(exp);
			values[7] = ByteaOf(t.cti, HP1_CTI_LEN);
			values[8] = JsonbPGetDatum(hp_cbor_to_jsonb(t.body, t.body_len));
			nulls[2] = nulls[3] = nulls[5] = nulls[6] = nulls[7] = nulls[8] = false;
		}
	}
	values[0] = BoolGetDatum(reason == NULL);
	nulls[0] = false;
	if (reason)
	{
		values[1] = PointerGetDatum(cstring_to_text(reason));
		nulls[1] = false;
	}
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

/* verify_token(text, timestamptz): the verdict on an HP1 text; never raises for a bad token */
PG_FUNCTION_INFO_V1(verify_token);
Datum
verify_token(PG_FUNCTION_ARGS)
{
	text	   *tok = PG_GETARG_TEXT_PP(0);
	const uint8 *cose = NULL;
	size_t		cose_len = 0;
	Hp1Error	err;

	err = hp1_text_decode(VARDATA_ANY(tok), VARSIZE_ANY_EXHDR(tok), hp_scratch(2), hp_scratch(3),
						  &cose, &cose_len);
	return Verify(fcinfo, err, cose, cose_len, PG_GETARG_TIMESTAMPTZ(1));
}

/* verify_token(pass, timestamptz): the verdict on a stored pass */
PG_FUNCTION_INFO_V1(verify_pass);
Datum
verify_pass(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_BYTEA_PP(0);

	return Verify(fcinfo, HP1_OK, (const uint8 *) VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p),
				  PG_GETARG_TIMESTAMPTZ(1));
}
