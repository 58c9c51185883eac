/*
 * hp1_cbor.c
 *	  Deterministic CBOR writing and strict CBOR reading (RFC 8949): definite
 *	  lengths and shortest heads only; the UTF-8 check of CBOR text.
 *	  PostgreSQL-free (see hp1_codec.h).
 */
#include <math.h>
#include <string.h>

#include "hp1_codec.h"

/* hp1_cbor_head: a head in its shortest form */
void
hp1_cbor_head(Hp1Buf *b, int major, uint64_t v)
{
	uint8_t    *o;
	int			n,
				i;

	if (!hp1_buf_reserve(b, 9))
		return;					/* out of memory: b->failed */
	o = b->data + b->len;
	if (v < 24)
	{
		o[0] = (uint8_t) ((major << 5) | (int) v);
		b->len += 1;
		return;
	}
	if (v <= 0xFF)
		n = 1;
	else if (v <= 0xFFFF)
		n = 2;
	else if (v <= 0xFFFFFFFFu)
		n = 4;
	else
		n = 8;
	o[0] = (uint8_t) ((major << 5) | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
	for (i = 0; i < n; i++)
		o[1 + i] = (uint8_t) (v >> (8 * (n - 1 - i)));
	b->len += 1 + n;
}

/* hp1_cbor_int: a signed integer (major 0 or 1) */
void
hp1_cbor_int(Hp1Buf *b, int64_t v)
{
	if (v >= 0)
		hp1_cbor_head(b, HP1_CBOR_UINT, (uint64_t) v);
	else
		hp1_cbor_head(b, HP1_CBOR_NINT, (uint64_t) (-(v + 1)));
}

/* hp1_cbor_bytes: a byte string */
void
hp1_cbor_bytes(Hp1Buf *b, const uint8_t *p, size_t n)
{
	hp1_cbor_head(b, HP1_CBOR_BYTES, n);
	hp1_buf_append(b, p, n);
}

/* hp1_cbor_text: a text string (the caller passes UTF-8) */
void
hp1_cbor_text(Hp1Buf *b, const char *p, size_t n)
{
	hp1_cbor_head(b, HP1_CBOR_TEXT, n);
	hp1_buf_append(b, p, n);
}

/* HalfExact: the binary16 bits of f when f is exactly representable */
static bool
HalfExact(float f, uint16_t *half)
{
	uint32_t	bits;
	uint32_t	sign,
				mant;
	int			e;

	memcpy(&bits, &f, 4);
	sign = (bits >> 16) & 0x8000u;
	e = (int) ((bits >> 23) & 0xFF);
	mant = bits & 0x7FFFFFu;
	if (e == 0 && mant == 0)
	{
		*half = (uint16_t) sign;
		return true;
	}
	if (e == 0xFF)
	{
		*half = (uint16_t) (sign | 0x7C00u | (mant ? 0x200u : 0));
		return true;
	}
	if (e == 0)
		return false;			/* float subnormals are far below binary16 */
	e -= 127;
	if (e >= -14 && e <= 15)
	{
		if (mant & 0x1FFFu)
			return false;
		*half = (uint16_t) (sign | (uint32_t) (e + 15) << 10 | (mant >> 13));
		return true;
	}
	if (e >= -24 && e < -14)
	{
		uint32_t	s = mant | 0x800000u;
		int			shift = -e - 1;

		if (s & ((1u << shift) - 1))
			return false;
		*half = (uint16_t) (sign | (s >> shift));
		return true;
	}
	return false;
}

/* hp1_cbor_double: a float in the shortest of binary16/32/64 that keeps its value */
void
hp1_cbor_double(Hp1Buf *b, double d)
{
	float		f = (float) d;
	uint8_t		o[9];
	int			i;

	if ((double) f == d)
	{
		uint16_t	h;
		uint32_t	bits;

		if (HalfExact(f, &h))
		{
			o[0] = 0xF9;
			o[1] = (uint8_t) (h >> 8);
			o[2] = (uint8_t) h;
			hp1_buf_append(b, o, 3);
			return;
		}
		memcpy(&bits, &f, 4);
		o[0] = 0xFA;
		for (i = 0; i < 4; i++)
			o[1 + i] = (uint8_t) (bits >> (8 * (3 - i)));
		hp1_buf_append(b, o, 5);
	}
	else
	{
		uint64_t	bits;

		memcpy(&bits, &d, 8);
		o[0] = 0xFB;
		for (i = 0; i < 8; i++)
			o[1 + i] = (uint8_t) (bits >> (8 * (7 - i)));
		hp1_buf_append(b, o, 9);
	}
}

/*
 * hp1_cbor_read_head: reads one head (and steps over string contents).
 * Strict: no indefinite lengths, no reserved values, shortest heads only.
 */
bool
hp1_cbor_read_head(const uint8_t **pp, const uint8_t *end, Hp1CborHead *h)
{
	const uint8_t *p = *pp;
	int			n,
				i;
	uint64_t	v;

	if (p >= end)
		return false;
	h->start = p;
	h->major = *p >> 5;
	h->info = *p & 31;
	p++;
	if (h->info < 24)
	{
		v = (uint64_t) h->info;
		n = 0;
	}
	else if (h->info <= 27)
	{
		n = 1 << (h->info - 24);
		if ((size_t) (end - p) < (size_t) n)
			return false;
		v = 0;
		for (i = 0; i < n; i++)
			v = (v << 8) | p[i];
		p += n;
		if (h->major != HP1_CBOR_SIMPLE)
		{
			/* shortest form: the value would not fit the next smaller head */
			if ((n == 1 && v < 24) || (n == 2 && v <= 0xFF) ||
				(n == 4 && v <= 0xFFFF) || (n == 8 && v <= 0xFFFFFFFFu))
				return false;
		}
		else if (n == 1 && v < 32)
			return false;
	}
	else
		return false;
	h->val = v;
	h->ptr = p;
	if (h->major == HP1_CBOR_BYTES || h->major == HP1_CBOR_TEXT)
	{
		if (v > (uint64_t) (end - p))
			return false;
		p += v;
	}
	*pp = p;
	return true;
}

/*
 * hp1_cbor_read_head_lax: reads one head as RFC 8949 allows it, for CBOR
 * written by other issuers (EU DCC "HC1" certificates): a head of any
 * length, an indefinite-length array or map (info 31, val 0), and the
 * "break" that ends one (major 7, info 31). Strings stay definite and
 * reserved values (info 28..30) and simple values 0..31 in two bytes stay
 * refused. The strict reader above is unchanged: HP1 never reads this way.
 */
bool
hp1_cbor_read_head_lax(const uint8_t **pp, const uint8_t *end, Hp1CborHead *h)
{
	const uint8_t *p = *pp;
	int			n,
				i;
	uint64_t	v;

	if (p >= end)
		return false;
	h->start = p;
	h->major = *p >> 5;
	h->info = *p & 31;
	p++;
	if (h->info < 24)
		v = (uint64_t) h->info;
	else if (h->info <= 27)
	{
		n = 1 << (h->info - 24);
		if ((size_t) (end - p) < (size_t) n)
			return false;
		v = 0;
		for (i = 0; i < n; i++)
			v = (v << 8) | p[i];
		p += n;
		if (h->major == HP1_CBOR_SIMPLE && n == 1 && v < 32)
			return false;
	}
	else if (h->info == 31 &&
			 (h->major == HP1_CBOR_ARRAY || h->major == HP1_CBOR_MAP || h->major == HP1_CBOR_SIMPLE))
		v = 0;
	else
		return false;
	h->val = v;
	h->ptr = p;
	if (h->major == HP1_CBOR_BYTES || h->major == HP1_CBOR_TEXT)
	{
		if (v > (uint64_t) (end - p))
			return false;
		p += v;
	}
	*pp = p;
	return true;
}

/* HalfToDouble: value of binary16 bits */
static double
HalfToDouble(uint16_t h)
{
	int			e = (h >> 10) & 0x1F;
	int			m = h & 0x3FF;
	double		v;

	if (e == 0)
		v = (double) m / 16777216.0;	/* m * 2^-24 */
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
	{
		int			k;

		v = 1.0 + m / 1024.0;
		for (k = e - 15; k > 0; k--)
			v *= 2.0;
		for (k = e - 15; k < 0; k++)
			v /= 2.0;
	}
	return (h & 0x8000) ? -v : v;
}

/* hp1_cbor_float_value: the value of a float head (info 25, 26 or 27) */
double
hp1_cbor_float_value(const Hp1CborHead *h)
{
	if (h->info == 25)
		return HalfToDouble((uint16_t) h->val);
	if (h->info == 26)
	{
		uint32_t	bits = (uint32_t) h->val;
		float		f;

		memcpy(&f, &bits, 4);
		return (double) f;
	}
	else
	{
		uint64_t	bits = h->val;
		double		d;

		memcpy(&d, &bits, 8);
		return d;
	}
}

/* hp1_utf8_valid: well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF) */
bool
hp1_utf8_valid(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;

	while (p < end)
	{
		uint8_t		c = *p;
		int			len;
		uint32_t	cp;

		if (c < 0x80)
		{
			if (c == 0)
				return false;	/* PostgreSQL text cannot hold NUL */
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
		{
			len = 2;
			cp = c & 0x1F;
		}
		else if (c >= 0xE0 && c <= 0xEF)
		{
			len = 3;
			cp = c & 0x0F;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			len = 4;
			cp = c & 0x07;
		}
		else
			return false;
		if (end - p < len)
			return false;
		for (int i = 1; i < len; i++)
		{
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += len;
	}
	return true;
}

/*
 * hp1_cbor_check_value: steps over one body value, checking that it is one
 * healthpass can carry: integers, UTF-8 text, byte strings, finite floats,
 * false/true/null, arrays, and maps with text keys in strictly ascending
 * order of their encoding (deterministic, so no duplicate keys).
 */
bool
hp1_cbor_check_value(const uint8_t **pp, const uint8_t *end, int depth)
{
	Hp1CborHead	h;
	uint64_t	i;

	if (!hp1_cbor_read_head(pp, end, &h))
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
			if (depth >= HP1_CBOR_MAX_DEPTH || h.val > (uint64_t) (end - *pp))
				return false;
			for (i = 0; i < h.val; i++)
				if (!hp1_cbor_check_value(pp, end, depth + 1))
					return false;
			return true;
		case HP1_CBOR_MAP:
			{
				const uint8_t *prev = NULL;
				size_t		prev_len = 0;

				if (depth >= HP1_CBOR_MAX_DEPTH || h.val > (uint64_t) (end - *pp) / 2)
					return false;
				for (i = 0; i < h.val; i++)
				{
					Hp1CborHead	k;
					size_t		klen;

					if (!hp1_cbor_read_head(pp, end, &k) || k.major != HP1_CBOR_TEXT ||
						!hp1_utf8_valid(k.ptr, (size_t) k.val))
						return false;
					klen = (size_t) (*pp - k.start);
					if (prev)
					{
						size_t		m = prev_len < klen ? prev_len : klen;
						int			c = memcmp(prev, k.start, m);

						if (c > 0 || (c == 0 && prev_len >= klen))
							return false;
					}
					prev = k.start;
					prev_len = klen;
					if (!hp1_cbor_check_value(pp, end, depth + 1))
						return false;
				}
				return true;
			}
		case HP1_CBOR_TAG:
			return false;
		default:
			if (h.info == 20 || h.info == 21 || h.info == 22)
				return true;
			if (h.info >= 25 && h.info <= 27)
			{
				double		d = hp1_cbor_float_value(&h);

				/*
				 * Any width: HP1 asks issuers for shortest integer forms,
				 * not shortest floats, and common CBOR encoders write
				 * binary32 or binary64 only. The signature covers these
				 * bytes, so a second encoding of a value forges nothing.
				 * hp1_cbor_double still writes the shortest form.
				 */
				return isfinite(d);
			}
			return false;
	}
}
