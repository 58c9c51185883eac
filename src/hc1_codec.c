/*
 * hc1_codec.c
 *	  Reading EU Digital COVID Certificates ("HC1:") without PostgreSQL
 *	  (see hc1.h): prefix, base45 and zlib with the HP1 codec's own
 *	  functions, then the COSE_Sign1 and its CWT claims with the HP1 CBOR
 *	  head reader in its RFC 8949 form (hp1_cbor_read_head_lax). Other
 *	  issuers' CBOR is not deterministic: any head length, map keys in any
 *	  order, indefinite-length arrays and maps are read; what is refused is
 *	  what cannot be turned into jsonb faithfully: text that is not UTF-8,
 *	  NaN and infinities, map keys that are not integers or text, and
 *	  duplicate keys (two readers could take different values).
 */
#include <math.h>
#include <string.h>

#include "hc1.h"

/* largest iat/exp accepted: 9999-12-31T23:59:59Z, as HP1 */
#define HC1_MAX_TIME UINT64_C(253402300799)
/* tag 100 (RFC 8943 days since 1970): 0001-01-01 .. 9999-12-31 */
#define HC1_MIN_DAYS (-719162)
#define HC1_MAX_DAYS 2932896

/* hc1_error_name: the reason verify_hc1 gives for a decoding error */
const char *
hc1_error_name(Hc1Error e)
{
	switch (e)
	{
		case HC1_OK:
			return NULL;
		case HC1_ERR_PREFIX:
			return "bad_prefix";
		case HC1_ERR_BASE45:
			return "bad_base45";
		case HC1_ERR_NOT_COMPRESSED:
			return "not_compressed";
		case HC1_ERR_MALFORMED:
		case HC1_ERR_MEMORY:
			break;
	}
	return "malformed";
}

/* ZlibHeader: the two bytes start a zlib stream (RFC 1950: deflate, window up to 32 KB, check bits) */
static bool
ZlibHeader(const uint8_t *b, size_t n)
{
	return n >= 2 && (b[0] & 0x0F) == 8 && (b[0] >> 4) <= 7 &&
		(((unsigned) b[0] << 8) | b[1]) % 31 == 0;
}

/* hc1_text_decode: "HC1:" + base45 + zlib to COSE bytes */
Hc1Error
hc1_text_decode(const char *text, size_t n, Hp1Buf *b45, Hp1Buf *inflated,
				const uint8_t **cose, size_t *cose_len)
{
	size_t		len;
	Hp1Error	e;

	if (n < HC1_PREFIX_LEN || memcmp(text, HC1_PREFIX, HC1_PREFIX_LEN) != 0)
		return HC1_ERR_PREFIX;
	text += HC1_PREFIX_LEN;
	n -= HC1_PREFIX_LEN;
	if (n > HC1_MAX_TEXT)
		return HC1_ERR_MALFORMED;
	hp1_buf_reset(b45);
	if (!hp1_buf_reserve(b45, hp1_base45_decoded_max(n)))
		return HC1_ERR_MEMORY;
	if (!hp1_base45_decode(text, n, b45->data, &len))
		return HC1_ERR_BASE45;
	b45->len = len;
	if (!ZlibHeader(b45->data, len))
		return HC1_ERR_NOT_COMPRESSED;
	e = hp1_inflate(b45->data, len, inflated);
	if (e == HP1_ERR_MEMORY)
		return HC1_ERR_MEMORY;
	if (e != HP1_OK)
		return HC1_ERR_MALFORMED;
	*cose = inflated->data;
	*cose_len = inflated->len;
	return HC1_OK;
}

/* IsInt: a head of an integer (major 0 or 1) */
static inline bool
IsInt(const Hp1CborHead *h)
{
	return h->major == HP1_CBOR_UINT || h->major == HP1_CBOR_NINT;
}

/* IntKey: an integer head as int64, false when it does not fit */
static bool
IntKey(const Hp1CborHead *h, int64_t *v)
{
	if (h->val > (uint64_t) INT64_MAX)
		return false;
	*v = h->major == HP1_CBOR_UINT ? (int64_t) h->val : -1 - (int64_t) h->val;
	return true;
}

/*
 * AtBreak: whether an indefinite container ends at *pp (and steps over the
 * break); a definite one ends after its count
 */
static bool
AtBreak(const uint8_t **pp, const uint8_t *end)
{
	if (*pp < end && **pp == 0xFF)
	{
		(*pp)++;
		return true;
	}
	return false;
}

/*
 * DecimalOf: the decimal text of an integer head, as a jsonb key shows it;
 * returns its length (buf holds 22 bytes at least)
 */
static size_t
DecimalOf(const Hp1CborHead *h, char *buf)
{
	char		tmp[24];
	size_t		n = 0,
				k = 0;
	uint64_t	v = h->val;
	bool		carry = false;

	if (h->major == HP1_CBOR_NINT)
	{
		/* -1 - val: print val + 1, which may be 2^64 */
		buf[k++] = '-';
		if (v == UINT64_MAX)
			carry = true;
		else
			v = v + 1;
	}
	if (carry)
	{
		memcpy(buf + k, "18446744073709551616", 20);
		return k + 20;
	}
	do
	{
		tmp[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		buf[k++] = tmp[--n];
	return k;
}

/* SameKey: two map keys (integer or text heads) name the same jsonb key */
static bool
SameKey(const Hp1CborHead *a, const Hp1CborHead *b)
{
	char		buf[24];
	size_t		n;

	if (a->major == HP1_CBOR_TEXT && b->major == HP1_CBOR_TEXT)
		return a->val == b->val && memcmp(a->ptr, b->ptr, (size_t) a->val) == 0;
	if (IsInt(a) && IsInt(b))
		return a->major == b->major && a->val == b->val;
	if (a->major == HP1_CBOR_TEXT)
	{
		const Hp1CborHead *t = a;

		a = b;
		b = t;
	}
	/* a integer, b text */
	n = DecimalOf(a, buf);
	return b->val == n && memcmp(b->ptr, buf, n) == 0;
}

static bool CheckTagged(uint64_t tag, const uint8_t **pp, const uint8_t *end, int depth);

/* hc1_check_value: see hc1.h */
bool
hc1_check_value(const uint8_t **pp, const uint8_t *end, int depth)
{
	Hp1CborHead h;

	if (!hp1_cbor_read_head_lax(pp, end, &h))
		return false;
	switch (h.major)
	{
		case HP1_CBOR_UINT:
		case HP1_CBOR_NINT:
		case HP1_CBOR_BYTES:
			return true;
		case HP1_CBOR_TEXT:
			return hp1_utf8_valid(h.ptr, (size_t) h.val);
		case HP1_CBOR_ARRAY:
			{
				bool		indefinite = h.info == 31;
				uint64_t	i;

				if (depth >= HC1_MAX_DEPTH)
					return false;
				if (!indefinite && h.val > (uint64_t) (end - *pp))
					return false;
				for (i = 0; indefinite || i < h.val; i++)
				{
					if (indefinite && AtBreak(pp, end))
						return true;
					if (!hc1_check_value(pp, end, depth + 1))
						return false;
				}
				return true;
			}
		case HP1_CBOR_MAP:
			{
				bool		indefinite = h.info == 31;
				const uint8_t *keys[HC1_MAX_MAP];
				size_t		nkeys = 0;

				if (depth >= HC1_MAX_DEPTH)
					return false;
				if (!indefinite && h.val > (uint64_t) (end - *pp) / 2)
					return false;
				for (uint64_t i = 0; indefinite || i < h.val; i++)
				{
					Hp1CborHead k;
					const uint8_t *kp = *pp;

					if (indefinite && AtBreak(pp, end))
						return true;
					if (nkeys >= HC1_MAX_MAP)
						return false;
					if (!hp1_cbor_read_head_lax(pp, end, &k))
						return false;
					if (k.major == HP1_CBOR_TEXT)
					{
						if (!hp1_utf8_valid(k.ptr, (size_t) k.val))
							return false;
					}
					else if (!IsInt(&k))
						return false;
					/* no duplicate: compare with every earlier key */
					for (size_t j = 0; j < nkeys; j++)
					{
						const uint8_t *q = keys[j];
						Hp1CborHead prev;

						hp1_cbor_read_head_lax(&q, end, &prev);
						if (SameKey(&prev, &k))
							return false;
					}
					keys[nkeys++] = kp;
					if (!hc1_check_value(pp, end, depth + 1))
						return false;
				}
				return true;
			}
		case HP1_CBOR_TAG:
			if (depth >= HC1_MAX_DEPTH)
				return false;
			return CheckTagged(h.val, pp, end, depth + 1);
		default:
			if (h.info == 20 || h.info == 21 || h.info == 22 || h.info == 23)
				return true;	/* false, true, null, undefined */
			if (h.info >= 25 && h.info <= 27)
				return isfinite(hp1_cbor_float_value(&h));
			return false;		/* other simple values; a stray break */
	}
}

/*
 * CheckTagged: the value a tag wraps. The tags of dates that the server
 * rewrites must wrap what they say: 0 (RFC 3339 text), 1 (seconds since
 * 1970, a whole number up to 9999), 100 (days since 1970) and 1004 (a full
 * date as text, RFC 8943); any other tag any value.
 */
static bool
CheckTagged(uint64_t tag, const uint8_t **pp, const uint8_t *end, int depth)
{
	const uint8_t *p = *pp;
	Hp1CborHead h;

	if (tag != 0 && tag != 1 && tag != 100 && tag != 1004)
		return hc1_check_value(pp, end, depth);
	if (!hp1_cbor_read_head_lax(&p, end, &h))
		return false;
	switch (tag)
	{
		case 0:
		case 1004:
			if (h.major != HP1_CBOR_TEXT || !hp1_utf8_valid(h.ptr, (size_t) h.val))
				return false;
			break;
		case 1:
			if (h.major != HP1_CBOR_UINT || h.val > HC1_MAX_TIME)
				return false;
			break;
		default:
			if (h.major == HP1_CBOR_UINT ? h.val > (uint64_t) HC1_MAX_DAYS
				: h.major != HP1_CBOR_NINT || h.val > (uint64_t) (-1 - HC1_MIN_DAYS))
				return false;
			break;
	}
	*pp = p;
	return true;
}

/*
 * ParseHeader: a header map (protected: the bstr's contents, all of them;
 * unprotected: the map in the array). Labels are integers or text; alg (1)
 * is an integer, kid (4) a byte string of 1 to HC1_MAX_KID bytes; other
 * parameters are checked and left alone. A protected alg or kid is kept
 * over an unprotected one.
 */
static bool
ParseHeader(const uint8_t **pp, const uint8_t *end, Hc1Cert *c, bool prot,
			bool *have_alg, bool *have_kid)
{
	const uint8_t *p = *pp;
	Hp1CborHead h;
	bool		seen_alg = false,
				seen_kid = false;

	/* the whole map is checked first: well formed, no duplicate labels */
	if (!hc1_check_value(pp, end, 0))
		return false;
	if (!hp1_cbor_read_head_lax(&p, end, &h) || h.major != HP1_CBOR_MAP)
		return false;
	for (uint64_t i = 0; h.info == 31 || i < h.val; i++)
	{
		Hp1CborHead k,
					v;
		const uint8_t *vp;
		int64_t		label;

		if (h.info == 31 && AtBreak(&p, end))
			break;
		hp1_cbor_read_head_lax(&p, end, &k);
		vp = p;
		hc1_check_value(&p, end, 1);
		if (!IsInt(&k) || !IntKey(&k, &label))
			continue;
		if (label == 1)
		{
			int64_t		alg;

			if (!hp1_cbor_read_head_lax(&vp, end, &v) || !IsInt(&v) || !IntKey(&v, &alg))
				return false;
			seen_alg = true;
			if (!*have_alg || prot)
				c->alg = alg;
		}
		else if (label == 4)
		{
			if (!hp1_cbor_read_head_lax(&vp, end, &v) || v.major != HP1_CBOR_BYTES ||
				v.val < 1 || v.val > HC1_MAX_KID)
				return false;
			seen_kid = true;
			if (!*have_kid || prot)
			{
				c->kid = v.ptr;
				c->kid_len = (size_t) v.val;
				c->kid_protected = prot;
			}
		}
	}
	*have_alg |= seen_alg;
	*have_kid |= seen_kid;
	return true;
}

/*
 * ParseClaims: the CWT claims map (checked whole first): exp (4) and iat
 * (6) are whole seconds up to 9999, iss (1) text, and the hcert (-260) a
 * map whose key 1 is the certificate's map. Other claims are left alone.
 */
static bool
ParseClaims(const uint8_t *p, const uint8_t *end, Hc1Cert *c)
{
	const uint8_t *q = p;
	Hp1CborHead h;
	int			seen = 0;

	if (!hc1_check_value(&q, end, 0) || q != end)
		return false;
	if (!hp1_cbor_read_head_lax(&p, end, &h) || h.major != HP1_CBOR_MAP)
		return false;
	for (uint64_t i = 0; h.info == 31 || i < h.val; i++)
	{
		Hp1CborHead k,
					v;
		const uint8_t *vp;
		int64_t		key;

		if (h.info == 31 && AtBreak(&p, end))
			break;
		hp1_cbor_read_head_lax(&p, end, &k);
		vp = p;
		hc1_check_value(&p, end, 1);
		if (!IsInt(&k) || !IntKey(&k, &key))
			continue;
		hp1_cbor_read_head_lax(&vp, end, &v);
		switch (key)
		{
			case HC1_CLAIM_ISS:
				if (v.major != HP1_CBOR_TEXT || v.val == 0)
					return false;
				c->iss = (const char *) v.ptr;
				c->iss_len = (size_t) v.val;
				break;
			case HC1_CLAIM_EXP:
			case HC1_CLAIM_IAT:
				if (v.major != HP1_CBOR_UINT || v.val > HC1_MAX_TIME)
					return false;
				if (key == HC1_CLAIM_EXP)
					c->exp = v.val;
				else
					c->iat = v.val;
				seen |= key == HC1_CLAIM_EXP ? 1 : 2;
				break;
			case HC1_CLAIM_HCERT:
				{
					bool		found = false;

					if (v.major != HP1_CBOR_MAP)
						return false;
					for (uint64_t j = 0; v.info == 31 || j < v.val; j++)
					{
						Hp1CborHead hk,
									hv;
						const uint8_t *start;

						if (v.info == 31 && AtBreak(&vp, end))
							break;
						hp1_cbor_read_head_lax(&vp, end, &hk);
						start = vp;
						hc1_check_value(&vp, end, 2);
						if (hk.major == HP1_CBOR_UINT && hk.val == 1)
						{
							const uint8_t *t = start;

							if (!hp1_cbor_read_head_lax(&t, end, &hv) || hv.major != HP1_CBOR_MAP)
								return false;
							c->dcc = start;
							c->dcc_len = (size_t) (vp - start);
							found = true;
						}
					}
					if (!found)
						return false;
					seen |= 4;
				}
				break;
			default:
				break;
		}
	}
	return seen == 7;
}

/* hc1_parse: see hc1.h */
Hc1Error
hc1_parse(const uint8_t *cose, size_t n, Hc1Cert *c)
{
	const uint8_t *p = cose;
	const uint8_t *end = cose + n;
	Hp1CborHead h;
	bool		have_alg = false,
				have_kid = false;
	bool		indefinite;

	memset(c, 0, sizeof(*c));
	if (n > HP1_MAX_COSE)
		return HC1_ERR_MALFORMED;
	if (!hp1_cbor_read_head_lax(&p, end, &h))
		return HC1_ERR_MALFORMED;
	/* CWT tag 61 around a COSE_Sign1 tag 18, either, or neither */
	if (h.major == HP1_CBOR_TAG && h.val == 61 && !hp1_cbor_read_head_lax(&p, end, &h))
		return HC1_ERR_MALFORMED;
	if (h.major == HP1_CBOR_TAG && h.val == 18 && !hp1_cbor_read_head_lax(&p, end, &h))
		return HC1_ERR_MALFORMED;
	if (h.major != HP1_CBOR_ARRAY || (h.info != 31 && h.val != 4))
		return HC1_ERR_MALFORMED;
	indefinite = h.info == 31;

	/* protected: a bstr holding a map, or empty */
	if (!hp1_cbor_read_head_lax(&p, end, &h) || h.major != HP1_CBOR_BYTES)
		return HC1_ERR_MALFORMED;
	c->protected_hdr = h.ptr;
	c->protected_len = (size_t) h.val;
	if (h.val > 0)
	{
		const uint8_t *q = h.ptr;

		if (!ParseHeader(&q, h.ptr + h.val, c, true, &have_alg, &have_kid) ||
			q != h.ptr + h.val)
			return HC1_ERR_MALFORMED;
	}
	/* unprotected: a map */
	if (p >= end || (*p >> 5) != HP1_CBOR_MAP || !ParseHeader(&p, end, c, false, &have_alg, &have_kid))
		return HC1_ERR_MALFORMED;
	/* payload and signature */
	if (!hp1_cbor_read_head_lax(&p, end, &h) || h.major != HP1_CBOR_BYTES)
		return HC1_ERR_MALFORMED;
	c->payload = h.ptr;
	c->payload_len = (size_t) h.val;
	if (!hp1_cbor_read_head_lax(&p, end, &h) || h.major != HP1_CBOR_BYTES ||
		h.val == 0 || h.val > HC1_MAX_SIG)
		return HC1_ERR_MALFORMED;
	c->sig = h.ptr;
	c->sig_len = (size_t) h.val;
	if (indefinite && !AtBreak(&p, end))
		return HC1_ERR_MALFORMED;
	if (p != end || !have_alg || !have_kid)
		return HC1_ERR_MALFORMED;
	if (!ParseClaims(c->payload, c->payload + c->payload_len, c))
		return HC1_ERR_MALFORMED;
	return HC1_OK;
}
