/*
 * hc1.c
 *	  EU Digital COVID Certificates ("HC1:") in the server: the SQL-callable
 *	  pieces that verify_hc1() and add_hc1_signer() (sql/api/80_hc1.sql)
 *	  are built from.
 *
 *	  hp_hc1_decode(text)       the text layers and the COSE/CWT structure
 *	                            (src/hc1_codec.c), the COSE Sig_structure to
 *	                            verify, and the certificate's CBOR
 *	  hp_hc1_content(bytea)     that CBOR as jsonb
 *	  hp_hc1_signature(...)     ES256 or PS256 of a Sig_structure under a
 *	                            signer certificate (OpenSSL's libcrypto)
 *	  hp_hc1_certificate(bytea) what a signer certificate holds: key family
 *	                            and size, validity, subject, or its problem
 *
 *	  None of them raises for bad input: a certificate text, a signature or
 *	  a DER blob that is wrong gives a reason or a problem as a value.
 *
 *	  OpenSSL allocates with its own malloc, outside every memory context,
 *	  so no error may leave this file while an OpenSSL object is live: the
 *	  functions that use OpenSSL (VerifySignature, ReadCertificate) call
 *	  nothing that can raise (no palloc, no ereport) between the first
 *	  OpenSSL allocation and the last free; they fill plain C variables, and
 *	  the SQL-callable functions build their results after.
 */
#include "postgres.h"

#include <limits.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "access/detoast.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "codec_memory.h"
#include "hc1.h"
#include "token.h"

/* characters of a signer certificate's subject kept */
#define HC1_SUBJECT_CHARS 200
/* smallest RSA modulus accepted for a signer */
#define HC1_MIN_RSA_BITS 2048

/* ---------------------------------------------------------------------
 * dates
 * ---------------------------------------------------------------------
 */

/* DaysFromCivil: days since 1970-01-01 of a proleptic Gregorian date */
static int64
DaysFromCivil(int64 y, int m, int d)
{
	int64		era;
	int64		yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* CivilFromDays: the date of days since 1970-01-01 */
static void
CivilFromDays(int64 z, int64 *y, int *m, int *d)
{
	int64		era,
				doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* ---------------------------------------------------------------------
 * CBOR (as hc1_check_value accepted it) -> jsonb
 * ---------------------------------------------------------------------
 */

/* NumericOf: a numeric from its text */
static Numeric
NumericOf(const char *s)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/* StringValue: UTF-8 bytes as a jsonb string in the server encoding */
static void
StringValue(JsonbValue *v, const char *p, size_t n)
{
	v->type = jbvString;
	if (GetDatabaseEncoding() == PG_UTF8)
		v->val.string.val = pnstrdup(p, n);
	else
	{
		v->val.string.val = pg_any_to_server(p, (int) n, PG_UTF8);
		n = strlen(v->val.string.val);
	}
	v->val.string.len = (int) n;
}

/* IntegerValue: an integer head as a jsonb number */
static void
IntegerValue(JsonbValue *v, const Hp1CborHead *h)
{
	char		buf[32];

	v->type = jbvNumeric;
	if (h->major == HP1_CBOR_UINT)
	{
		if (h->val <= (uint64) PG_INT64_MAX)
		{
			v->val.numeric = int64_to_numeric((int64) h->val);
			return;
		}
		snprintf(buf, sizeof(buf), UINT64_FORMAT, h->val);
	}
	else if (h->val < (uint64) PG_INT64_MAX)
	{
		v->val.numeric = int64_to_numeric(-1 - (int64) h->val);
		return;
	}
	else if (h->val == PG_UINT64_MAX)
		snprintf(buf, sizeof(buf), "-18446744073709551616");
	else
		snprintf(buf, sizeof(buf), "-" UINT64_FORMAT, h->val + 1);
	v->val.numeric = NumericOf(buf);
}

/* KeyValue: a map key (integer or text) as a jsonb key */
static void
KeyValue(JsonbValue *v, const Hp1CborHead *k)
{
	if (k->major == HP1_CBOR_TEXT)
		StringValue(v, (const char *) k->ptr, (size_t) k->val);
	else
	{
		char		buf[32];

		if (k->major == HP1_CBOR_UINT)
			snprintf(buf, sizeof(buf), UINT64_FORMAT, k->val);
		else if (k->val == PG_UINT64_MAX)
			snprintf(buf, sizeof(buf), "-18446744073709551616");
		else
			snprintf(buf, sizeof(buf), "-" UINT64_FORMAT, k->val + 1);
		StringValue(v, buf, strlen(buf));
	}
}

/* Ends: whether an indefinite container ends at *pp (stepping over the break) */
static bool
Ends(const uint8 **pp, const uint8 *end)
{
	if (*pp < end && **pp == 0xFF)
	{
		(*pp)++;
		return true;
	}
	return false;
}

static JsonbValue *PushValue(JsonbParseState **st, const uint8 **pp, const uint8 *end,
							 JsonbIteratorToken tok);

/*
 * TaggedValue: a tagged value. Dates become text: tag 0 and 1004 are text
 * already, tag 1 (seconds since 1970) becomes "YYYY-MM-DDTHH:MM:SSZ", tag
 * 100 (days since 1970) "YYYY-MM-DD"; any other tag is dropped and its
 * value kept.
 */
static JsonbValue *
TaggedValue(JsonbParseState **st, uint64 tag, const uint8 **pp, const uint8 *end,
			JsonbIteratorToken tok)
{
	Hp1CborHead h;
	const uint8 *p = *pp;
	JsonbValue	v;
	char		buf[48];
	int64		y;
	int			m,
				d;

	if (tag != 1 && tag != 100)
		return PushValue(st, pp, end, tok);
	hp1_cbor_read_head_lax(&p, end, &h);
	*pp = p;
	if (tag == 1)
	{
		int64		secs = (int64) h.val;
		int64		days = secs / SECS_PER_DAY;
		int64		rest = secs % SECS_PER_DAY;

		CivilFromDays(days, &y, &m, &d);
		snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", (int) y, m, d,
				 (int) (rest / 3600), (int) (rest / 60 % 60), (int) (rest % 60));
	}
	else
	{
		int64		days = h.major == HP1_CBOR_UINT ? (int64) h.val : -1 - (int64) h.val;

		CivilFromDays(days, &y, &m, &d);
		snprintf(buf, sizeof(buf), "%04d-%02d-%02d", (int) y, m, d);
	}
	StringValue(&v, buf, strlen(buf));
	return pushJsonbValue(st, tok, &v);
}

/* PushValue: pushes one CBOR value (checked by hc1_check_value) onto a jsonb parse state */
static JsonbValue *
PushValue(JsonbParseState **st, const uint8 **pp, const uint8 *end, JsonbIteratorToken tok)
{
	Hp1CborHead h;
	JsonbValue	v;
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	check_stack_depth();
	hp1_cbor_read_head_lax(pp, end, &h);
	switch (h.major)
	{
		case HP1_CBOR_UINT:
		case HP1_CBOR_NINT:
			IntegerValue(&v, &h);
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
			StringValue(&v, (const char *) h.ptr, (size_t) h.val);
			break;
		case HP1_CBOR_ARRAY:
			pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
			for (uint64 i = 0; h.info == 31 || i < h.val; i++)
			{
				if (h.info == 31 && Ends(pp, end))
					break;
				PushValue(st, pp, end, WJB_ELEM);
			}
			return pushJsonbValue(st, WJB_END_ARRAY, NULL);
		case HP1_CBOR_MAP:
			pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
			for (uint64 i = 0; h.info == 31 || i < h.val; i++)
			{
				Hp1CborHead k;
				JsonbValue	kv;

				if (h.info == 31 && Ends(pp, end))
					break;
				hp1_cbor_read_head_lax(pp, end, &k);
				KeyValue(&kv, &k);
				pushJsonbValue(st, WJB_KEY, &kv);
				PushValue(st, pp, end, WJB_VALUE);
			}
			return pushJsonbValue(st, WJB_END_OBJECT, NULL);
		case HP1_CBOR_TAG:
			return TaggedValue(st, h.val, pp, end, tok);
		default:
			if (h.info == 20 || h.info == 21)
			{
				v.type = jbvBool;
				v.val.boolean = h.info == 21;
			}
			else if (h.info == 22 || h.info == 23)
				v.type = jbvNull;
			else
			{
				double_to_shortest_decimal_buf(hp1_cbor_float_value(&h), buf);
				v.type = jbvNumeric;
				v.val.numeric = NumericOf(buf);
			}
			break;
	}
	return pushJsonbValue(st, tok, &v);
}

/*
 * hp_hc1_content(dcc bytea) -> jsonb: a certificate's map (what
 * hp_hc1_decode returns as dcc) as jsonb; NULL when the bytes are not one
 * CBOR value as hc1_check_value accepts it. verify_hc1 calls it only once
 * the signature checked, so the text of an unauthenticated certificate is
 * never converted (in a database whose encoding cannot hold that text, the
 * conversion raises).
 */
PG_FUNCTION_INFO_V1(hp_hc1_content);
Datum
hp_hc1_content(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(b);
	const uint8 *end = p + VARSIZE_ANY_EXHDR(b);
	const uint8 *q = p;
	JsonbParseState *st = NULL;

	if (VARSIZE_ANY_EXHDR(b) > HP1_MAX_COSE || !hc1_check_value(&q, end, 0) || q != end)
		PG_RETURN_NULL();
	q = p;
	PG_RETURN_JSONB_P(JsonbValueToJsonb(PushValue(&st, &q, end, WJB_VALUE)));
}

/* ---------------------------------------------------------------------
 * hp_hc1_decode
 * ---------------------------------------------------------------------
 */

#define DECODE_NATTS 8

/* ByteaFrom: bytes as a bytea datum */
static Datum
ByteaFrom(const uint8 *p, size_t n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	if (n > 0)
		memcpy(VARDATA(b), p, n);
	return PointerGetDatum(b);
}

/*
 * hp_hc1_decode(certificate text) -> (reason, kid, alg, issued_at,
 * expires_at, tbs, signature, dcc): reason is bad_prefix, bad_base45,
 * not_compressed or malformed, and NULL when the structure is an HC1; the
 * rest is filled only then. tbs is the COSE Sig_structure
 * ["Signature1", protected, h'', payload] that the signature covers; dcc
 * the CBOR of the certificate's map (hcert key 1), for hp_hc1_content once
 * the signature checked. Nothing here converts text, so nothing raises.
 */
PG_FUNCTION_INFO_V1(hp_hc1_decode);
Datum
hp_hc1_decode(PG_FUNCTION_ARGS)
{
	Datum		arg = PG_GETARG_DATUM(0);
	TupleDesc	td;
	Datum		values[DECODE_NATTS];
	bool		nulls[DECODE_NATTS];
	Hc1Error	err;
	Hc1Cert		c;
	const uint8 *cose = NULL;
	size_t		cose_len = 0;

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	td = BlessTupleDesc(td);
	memset(nulls, true, sizeof(nulls));

	/* a text far too long is refused before it is read whole */
	if (toast_raw_datum_size(arg) > VARHDRSZ + HC1_PREFIX_LEN + HC1_MAX_TEXT)
	{
		text	   *head = DatumGetTextPSlice(arg, 0, HC1_PREFIX_LEN);

		err = VARSIZE_ANY_EXHDR(head) == HC1_PREFIX_LEN &&
			memcmp(VARDATA_ANY(head), HC1_PREFIX, HC1_PREFIX_LEN) == 0
			? HC1_ERR_MALFORMED : HC1_ERR_PREFIX;
	}
	else
	{
		text	   *t = DatumGetTextPP(arg);

		err = hc1_text_decode(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), hp_scratch(2), hp_scratch(3),
							  &cose, &cose_len);
		if (err == HC1_OK)
			err = hc1_parse(cose, cose_len, &c);
	}
	if (err != HC1_OK)
	{
		values[0] = CStringGetTextDatum(hc1_error_name(err));
		nulls[0] = false;
	}
	else
	{
		Hp1Buf	   *tbs = hp_scratch(1);

		values[1] = ByteaFrom(c.kid, c.kid_len);
		values[2] = Int64GetDatum(c.alg);
		values[3] = TimestampTzGetDatum(hp_unix_to_timestamptz(c.iat));
		values[4] = TimestampTzGetDatum(hp_unix_to_timestamptz(c.exp));
		hp1_buf_reset(tbs);
		hp1_sig_structure(tbs, c.protected_hdr, c.protected_len, c.payload, c.payload_len);
		values[5] = ByteaFrom(tbs->data, tbs->len);
		values[6] = ByteaFrom(c.sig, c.sig_len);
		values[7] = ByteaFrom(c.dcc, c.dcc_len);
		for (int i = 1; i < DECODE_NATTS; i++)
			nulls[i] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(td, values, nulls)));
}

/* ---------------------------------------------------------------------
 * OpenSSL: nothing in this section may raise (see the file's comment)
 * ---------------------------------------------------------------------
 */

typedef enum KeyFamily
{
	KEY_OTHER = 0,
	KEY_EC_P256,				/* EC on P-256 (prime256v1) */
	KEY_EC_OTHER,				/* EC on another curve */
	KEY_RSA						/* RSA or RSASSA-PSS */
} KeyFamily;

/* FamilyOf: the family of a public key */
static KeyFamily
FamilyOf(EVP_PKEY *pkey)
{
	int			id = EVP_PKEY_get_base_id(pkey);

	if (id == EVP_PKEY_EC)
	{
		char		group[64];
		size_t		glen = 0;

		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1 &&
			strcmp(group, "prime256v1") == 0)
			return KEY_EC_P256;
		return KEY_EC_OTHER;
	}
	if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
		return KEY_RSA;
	return KEY_OTHER;
}

/* ReadX509: a DER certificate that is the whole input, or NULL */
static X509 *
ReadX509(const uint8 *der, size_t len)
{
	const unsigned char *p = der;
	X509	   *x;

	if (len == 0 || len > (size_t) LONG_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long) len);
	if (x != NULL && p != der + len)
	{
		X509_free(x);
		x = NULL;
	}
	return x;
}

/*
 * VerifySignature: NULL when sig is alg's signature of tbs under the key of
 * the DER certificate, else the reason: "wrong_algorithm" (alg is neither
 * ES256 nor PS256, or not the key's: ES256 needs a P-256 key, PS256 an RSA
 * key) or "bad_signature" (also for a certificate that does not parse).
 * ES256 signatures are COSE's raw r || s (64 bytes), turned into the DER
 * ECDSA-Sig-Value OpenSSL verifies; PS256 is RSASSA-PSS with SHA-256, MGF1
 * with SHA-256 and a 32-byte salt.
 */
static const char *
VerifySignature(const uint8 *der, size_t der_len, int64 alg,
				const uint8 *tbs, size_t tbs_len, const uint8 *sig, size_t sig_len)
{
	const char *reason = "bad_signature";
	X509	   *x = NULL;
	EVP_PKEY   *pkey;
	KeyFamily	family;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG  *es = NULL;
	BIGNUM	   *r = NULL,
			   *s = NULL;
	unsigned char *dsig = NULL;
	int			dlen = 0;

	x = ReadX509(der, der_len);
	if (x == NULL || (pkey = X509_get0_pubkey(x)) == NULL)
		goto done;
	family = FamilyOf(pkey);
	if (!((alg == HC1_ALG_ES256 && family == KEY_EC_P256) ||
		  (alg == HC1_ALG_PS256 && family == KEY_RSA)))
	{
		reason = "wrong_algorithm";
		goto done;
	}
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto done;
	if (alg == HC1_ALG_ES256)
	{
		if (sig_len != 64)
			goto done;
		r = BN_bin2bn(sig, 32, NULL);
		s = BN_bin2bn(sig + 32, 32, NULL);
		es = ECDSA_SIG_new();
		if (r == NULL || s == NULL || es == NULL || ECDSA_SIG_set0(es, r, s) != 1)
			goto done;
		r = s = NULL;			/* es owns them now */
		dlen = i2d_ECDSA_SIG(es, &dsig);
		if (dlen <= 0)
			goto done;
		if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
			EVP_DigestVerify(md, dsig, (size_t) dlen, tbs, tbs_len) == 1)
			reason = NULL;
	}
	else
	{
		if (sig_len != (size_t) EVP_PKEY_get_size(pkey))
			goto done;
		if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pkey) == 1 &&
			EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0 &&
			EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 &&
			EVP_DigestVerify(md, sig, sig_len, tbs, tbs_len) == 1)
			reason = NULL;
	}
done:
	OPENSSL_free(dsig);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	EVP_MD_CTX_free(md);		/* frees pctx too */
	X509_free(x);
	ERR_clear_error();
	return reason;
}

/* what a signer certificate holds, read by ReadCertificate */
typedef struct CertInfo
{
	const char *problem;		/* NULL when usable */
	KeyFamily	family;
	int			bits;
	char		key_name[64];	/* "EC prime256v1", "RSA", "ED25519"... */
	int64		not_before;		/* seconds since 1970 */
	int64		not_after;
	char		subject[HC1_SUBJECT_CHARS + 1];	/* RFC 2253 (ASCII), cut */
} CertInfo;

/* KeyName: a key's type as a message names it: "EC " and its curve, or the algorithm */
static void
KeyName(EVP_PKEY *pkey, char *buf, size_t len)
{
	int			id = EVP_PKEY_get_base_id(pkey);
	const char *sn = OBJ_nid2sn(id);
	char		group[48];

	if (id == EVP_PKEY_EC && EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1)
		snprintf(buf, len, "EC %s", group);
	else
		snprintf(buf, len, "%s", sn != NULL && id != NID_undef ? sn : "unknown");
}

/* UnixOf: an ASN1_TIME as seconds since 1970; false when unreadable */
static bool
UnixOf(const ASN1_TIME *t, int64 *secs)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*secs = DaysFromCivil((int64) tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * SECS_PER_DAY +
		tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return true;
}

/*
 * ReadCertificate: a signer certificate's key and validity, or the problem:
 * "not_der" (not one DER X.509 certificate), "key_type" (neither EC nor
 * RSA, or an EC key not on P-256), "key_size" (RSA under 2048 bits),
 * "validity" (unreadable dates, or not_before not before not_after).
 */
static void
ReadCertificate(const uint8 *der, size_t len, CertInfo *ci)
{
	X509	   *x;
	EVP_PKEY   *pkey;
	BIO		   *bio = NULL;
	int			n;

	memset(ci, 0, sizeof(*ci));
	x = ReadX509(der, len);
	if (x == NULL)
	{
		ci->problem = "not_der";
		goto done;
	}
	if ((pkey = X509_get0_pubkey(x)) == NULL)
	{
		ci->problem = "key_type";
		goto done;
	}
	ci->family = FamilyOf(pkey);
	ci->bits = EVP_PKEY_get_bits(pkey);
	KeyName(pkey, ci->key_name, sizeof(ci->key_name));
	if (ci->family != KEY_EC_P256 && ci->family != KEY_RSA)
	{
		ci->problem = "key_type";
		goto done;
	}
	if (ci->family == KEY_RSA && ci->bits < HC1_MIN_RSA_BITS)
	{
		ci->problem = "key_size";
		goto done;
	}
	if (!UnixOf(X509_get0_notBefore(x), &ci->not_before) ||
		!UnixOf(X509_get0_notAfter(x), &ci->not_after) ||
		ci->not_before >= ci->not_after)
	{
		ci->problem = "validity";
		goto done;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio != NULL && X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0)
	{
		n = BIO_read(bio, ci->subject, (int) sizeof(ci->subject) - 1);
		ci->subject[n > 0 ? n : 0] = '\0';
	}
done:
	BIO_free(bio);
	X509_free(x);
	ERR_clear_error();
}

/* ---------------------------------------------------------------------
 * hp_hc1_signature, hp_hc1_certificate
 * ---------------------------------------------------------------------
 */

/*
 * hp_hc1_signature(certificate bytea, alg bigint, tbs bytea, signature
 * bytea) -> text: NULL when the signature checks, else wrong_algorithm or
 * bad_signature
 */
PG_FUNCTION_INFO_V1(hp_hc1_signature);
Datum
hp_hc1_signature(PG_FUNCTION_ARGS)
{
	bytea	   *der = PG_GETARG_BYTEA_PP(0);
	int64		alg = PG_GETARG_INT64(1);
	bytea	   *tbs = PG_GETARG_BYTEA_PP(2);
	bytea	   *sig = PG_GETARG_BYTEA_PP(3);
	const char *reason;

	reason = VerifySignature((const uint8 *) VARDATA_ANY(der), VARSIZE_ANY_EXHDR(der), alg,
							 (const uint8 *) VARDATA_ANY(tbs), VARSIZE_ANY_EXHDR(tbs),
							 (const uint8 *) VARDATA_ANY(sig), VARSIZE_ANY_EXHDR(sig));
	if (reason == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}

#define CERT_NATTS 7

/*
 * hp_hc1_certificate(certificate bytea) -> (problem, family, key_bits,
 * key_name, not_before, not_after, subject): problem NULL when the
 * certificate can sign HC1 certificates (see ReadCertificate); family 'EC'
 * or 'RSA'; key_name the key's type for a message ("EC secp384r1").
 */
PG_FUNCTION_INFO_V1(hp_hc1_certificate);
Datum
hp_hc1_certificate(PG_FUNCTION_ARGS)
{
	bytea	   *der = PG_GETARG_BYTEA_PP(0);
	TupleDesc	td;
	Datum		values[CERT_NATTS];
	bool		nulls[CERT_NATTS];
	CertInfo	ci;

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	td = BlessTupleDesc(td);
	ReadCertificate((const uint8 *) VARDATA_ANY(der), VARSIZE_ANY_EXHDR(der), &ci);
	/* OpenSSL is done: from here on errors may be raised */
	memset(nulls, true, sizeof(nulls));
	if (ci.problem != NULL)
	{
		values[0] = CStringGetTextDatum(ci.problem);
		nulls[0] = false;
	}
	if (ci.family == KEY_EC_P256 || ci.family == KEY_RSA)
	{
		values[1] = CStringGetTextDatum(ci.family == KEY_RSA ? "RSA" : "EC");
		nulls[1] = false;
	}
	if (ci.bits > 0)
	{
		values[2] = Int32GetDatum(ci.bits);
		nulls[2] = false;
	}
	if (ci.key_name[0] != '\0')
	{
		values[3] = CStringGetTextDatum(ci.key_name);
		nulls[3] = false;
	}
	if (ci.problem == NULL)
	{
		values[4] = TimestampTzGetDatum(((TimestampTz) ci.not_before - HP_UNIX_TO_PG_SECS) * USECS_PER_SEC);
		values[5] = TimestampTzGetDatum(((TimestampTz) ci.not_after - HP_UNIX_TO_PG_SECS) * USECS_PER_SEC);
		values[6] = CStringGetTextDatum(ci.subject);
		nulls[4] = nulls[5] = nulls[6] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(td, values, nulls)));
}
