/*
 * hp1_cose.c
 *	  HP1 tokens without PostgreSQL: COSE_Sign1 with Ed25519 (RFC 9052,
 *	  RFC 8032), the CWT claims, the zlib layer and the "HP1:" text form, as
 *	  ../shared/spec/hp1-token.md defines them. Decoding is strict, so that
 *	  the COSE bytes have one form only: shortest CBOR heads and floats, keys
 *	  in deterministic order, no trailing bytes; the deflate stream must have
 *	  zero padding bits and nothing after it. Deflate itself is not canonical
 *	  (a back-reference may point at other, equal bytes), so two texts can
 *	  carry the same COSE bytes: the signature covers those bytes, and a token
 *	  is named by its cti, never by its text.
 */
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "hp1_codec.h"

/* largest iat/exp accepted: 9999-12-31T23:59:59Z */
#define HP1_MAX_TIME UINT64_C(253402300799)

/* hp1_error_detail: a sentence that says which layer of a token is wrong */
const char *
hp1_error_detail(Hp1Error e)
{
	switch (e)
	{
		case HP1_OK:
			return "The token is well formed.";
		case HP1_ERR_PREFIX:
			return "An HP1 token starts with \"HP1:\" in upper case.";
		case HP1_ERR_BASE45:
			return "The text after the prefix is not base45 (RFC 9285).";
		case HP1_ERR_ZLIB:
			return "The zlib stream is damaged.";
		case HP1_ERR_SIZE:
			return "The token is larger than 65536 bytes.";
		case HP1_ERR_MEMORY:
			return "There was no memory to decode the token.";
		case HP1_ERR_CBOR:
			break;
	}
	return "The bytes are not a COSE_Sign1 structure with the claims HP1 requires.";
}

/* hp1_kid: the first 8 bytes of SHA-256 over the public key */
void
hp1_kid(const uint8_t pk[32], uint8_t kid[HP1_KID_LEN])
{
	uint8_t		h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, 32);
	memcpy(kid, h, HP1_KID_LEN);
}

/* hp1_ed25519_keypair: the key pair of a 32-byte seed (RFC 8032 secret key) */
void
hp1_ed25519_keypair(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}

/* hp1_ed25519_sign: pure Ed25519 signature of msg */
void
hp1_ed25519_sign(const uint8_t sk[64], const uint8_t *msg, size_t len, uint8_t sig[HP1_SIG_LEN])
{
	crypto_sign_detached(sig, NULL, msg, len, sk);
}

/* hp1_ed25519_verify: whether sig is pk's signature of msg */
bool
hp1_ed25519_verify(const uint8_t pk[32], const uint8_t *msg, size_t len, const uint8_t sig[HP1_SIG_LEN])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

/* hp1_protected: the protected header map {1: -8, 4: kid} */
void
hp1_protected(Hp1Buf *b, const uint8_t *kid, size_t kid_len)
{
	hp1_cbor_head(b, HP1_CBOR_MAP, 2);
	hp1_cbor_int(b, 1);
	hp1_cbor_int(b, -8);
	hp1_cbor_int(b, 4);
	hp1_cbor_bytes(b, kid, kid_len);
}

/*
 * hp1_claims_head: the claims map up to the body's key; the caller appends
 * the body map. Keys in the order of their encoding: 1, 4, 6, 7, -65537.
 */
void
hp1_claims_head(Hp1Buf *b, const char *iss, size_t iss_len,
				uint64_t iat, uint64_t exp, const uint8_t cti[HP1_CTI_LEN])
{
	hp1_cbor_head(b, HP1_CBOR_MAP, 5);
	hp1_cbor_int(b, 1);
	hp1_cbor_text(b, iss, iss_len);
	hp1_cbor_int(b, 4);
	hp1_cbor_head(b, HP1_CBOR_UINT, exp);
	hp1_cbor_int(b, 6);
	hp1_cbor_head(b, HP1_CBOR_UINT, iat);
	hp1_cbor_int(b, 7);
	hp1_cbor_bytes(b, cti, HP1_CTI_LEN);
	hp1_cbor_int(b, HP1_BODY_CLAIM);
}

/* hp1_sig_structure: ["Signature1", protected, h'', payload] */
void
hp1_sig_structure(Hp1Buf *b, const uint8_t *prot, size_t prot_len,
				  const uint8_t *payload, size_t payload_len)
{
	hp1_cbor_head(b, HP1_CBOR_ARRAY, 4);
	hp1_cbor_text(b, "Signature1", 10);
	hp1_cbor_bytes(b, prot, prot_len);
	hp1_cbor_bytes(b, NULL, 0);
	hp1_cbor_bytes(b, payload, payload_len);
}

/*
 * hp1_sign: signs and writes the tagged COSE_Sign1 into cose (replacing it);
 * false when scratch or cose could not grow (see Hp1Buf)
 */
bool
hp1_sign(Hp1Buf *cose, Hp1Buf *scratch, const uint8_t sk[64],
		 const uint8_t *prot, size_t prot_len,
		 const uint8_t *payload, size_t payload_len)
{
	uint8_t		sig[HP1_SIG_LEN];

	hp1_buf_reset(scratch);
	hp1_sig_structure(scratch, prot, prot_len, payload, payload_len);
	if (scratch->failed)
		return false;
	hp1_ed25519_sign(sk, scratch->data, scratch->len, sig);

	hp1_buf_reset(cose);
	hp1_cbor_head(cose, HP1_CBOR_TAG, 18);
	hp1_cbor_head(cose, HP1_CBOR_ARRAY, 4);
	hp1_cbor_bytes(cose, prot, prot_len);
	hp1_cbor_head(cose, HP1_CBOR_MAP, 0);
	hp1_cbor_bytes(cose, payload, payload_len);
	hp1_cbor_bytes(cose, sig, HP1_SIG_LEN);
	return !cose->failed;
}

/*
 * hp1_verify: whether t's signature checks under pk; false too when scratch
 * could not grow (scratch->failed tells)
 */
bool
hp1_verify(const Hp1Token *t, Hp1Buf *scratch, const uint8_t pk[32])
{
	hp1_buf_reset(scratch);
	hp1_sig_structure(scratch, t->protected_hdr, t->protected_len, t->payload, t->payload_len);
	if (scratch->failed)
		return false;
	return hp1_ed25519_verify(pk, scratch->data, scratch->len, t->sig);
}

/* KeyAfter: whether the encoded map key [k, kend) sorts after [prev, prev_len) */
static bool
KeyAfter(const uint8_t *prev, size_t prev_len, const uint8_t *k, size_t klen)
{
	size_t		m = prev_len < klen ? prev_len : klen;
	int			c;

	if (prev == NULL)
		return true;
	c = memcmp(prev, k, m);
	return c < 0 || (c == 0 && prev_len < klen);
}

/* ParseProtected: {1: -8, 4: kid} and nothing else */
static bool
ParseProtected(const uint8_t *p, const uint8_t *end, Hp1Token *t)
{
	Hp1CborHead	h;

	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_MAP || h.val != 2)
		return false;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_UINT || h.val != 1)
		return false;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_NINT || h.val != 7)
		return false;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_UINT || h.val != 4)
		return false;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_BYTES ||
		h.val < 1 || h.val > 64)
		return false;
	t->kid = h.ptr;
	t->kid_len = (size_t) h.val;
	return p == end;
}

/* ParseBody: a valid body map with "k" (text) and "v" (unsigned) */
static bool
ParseBody(const uint8_t **pp, const uint8_t *end, Hp1Token *t)
{
	const uint8_t *p = *pp;
	Hp1CborHead	h;
	uint64_t	i;
	bool		have_v = false;

	t->body = p;
	if (!hp1_cbor_check_value(pp, end, 0))
		return false;
	t->body_len = (size_t) (*pp - p);
	t->kind = NULL;
	/* second pass over the top level, already validated */
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_MAP)
		return false;
	for (i = 0; i < h.val; i++)
	{
		Hp1CborHead	k,
					v;
		const uint8_t *vp;

		hp1_cbor_read_head(&p, end, &k);
		vp = p;
		hp1_cbor_read_head(&vp, end, &v);
		if (k.val == 1 && k.ptr[0] == 'k')
		{
			if (v.major != HP1_CBOR_TEXT || v.val == 0)
				return false;
			t->kind = (const char *) v.ptr;
			t->kind_len = (size_t) v.val;
		}
		else if (k.val == 1 && k.ptr[0] == 'v')
		{
			if (v.major != HP1_CBOR_UINT)
				return false;
			have_v = true;
		}
		hp1_cbor_check_value(&p, end, 1);
	}
	return t->kind != NULL && have_v;
}

/* ParseClaims: the CWT claims map; unknown claims are checked and ignored */
static bool
ParseClaims(const uint8_t *p, const uint8_t *end, Hp1Token *t)
{
	Hp1CborHead	h;
	uint64_t	i;
	const uint8_t *prev = NULL;
	size_t		prev_len = 0;
	int			seen = 0;

	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_MAP ||
		h.val > (uint64_t) (end - p) / 2)
		return false;
	for (i = 0; i < h.val; i++)
	{
		Hp1CborHead	k,
					v;
		int64_t		key;

		if (!hp1_cbor_read_head(&p, end, &k) ||
			(k.major != HP1_CBOR_UINT && k.major != HP1_CBOR_NINT))
			return false;
		if (!KeyAfter(prev, prev_len, k.start, (size_t) (p - k.start)))
			return false;
		prev = k.start;
		prev_len = (size_t) (p - k.start);
		if (k.val > INT32_MAX)
			key = INT32_MIN;	/* some claim we do not know */
		else
			key = k.major == HP1_CBOR_UINT ? (int64_t) k.val : -1 - (int64_t) k.val;
		switch (key)
		{
			case 1:
				if (!hp1_cbor_read_head(&p, end, &v) || v.major != HP1_CBOR_TEXT || v.val == 0 ||
					!hp1_utf8_valid(v.ptr, (size_t) v.val))
					return false;
				t->iss = (const char *) v.ptr;
				t->iss_len = (size_t) v.val;
				seen |= 1;
				break;
			case 4:
			case 6:
				if (!hp1_cbor_read_head(&p, end, &v) || v.major != HP1_CBOR_UINT ||
					v.val > HP1_MAX_TIME)
					return false;
				if (key == 4)
					t->exp = v.val;
				else
					t->iat = v.val;
				seen |= key == 4 ? 2 : 4;
				break;
			case 7:
				if (!hp1_cbor_read_head(&p, end, &v) || v.major != HP1_CBOR_BYTES ||
					v.val != HP1_CTI_LEN)
					return false;
				t->cti = v.ptr;
				seen |= 8;
				break;
			case HP1_BODY_CLAIM:
				if (!ParseBody(&p, end, t))
					return false;
				seen |= 16;
				break;
			default:
				if (!hp1_cbor_check_value(&p, end, 0))
					return false;
				break;
		}
	}
	return p == end && seen == 31;
}

/* hp1_parse: a tagged COSE_Sign1 as HP1 defines it, with nothing after it */
Hp1Error
hp1_parse(const uint8_t *cose, size_t n, Hp1Token *t)
{
	const uint8_t *p = cose;
	const uint8_t *end = cose + n;
	Hp1CborHead	h;

	if (n > HP1_MAX_COSE)
		return HP1_ERR_SIZE;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_TAG || h.val != 18)
		return HP1_ERR_CBOR;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_ARRAY || h.val != 4)
		return HP1_ERR_CBOR;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_BYTES)
		return HP1_ERR_CBOR;
	t->protected_hdr = h.ptr;
	t->protected_len = (size_t) h.val;
	if (!ParseProtected(h.ptr, h.ptr + h.val, t))
		return HP1_ERR_CBOR;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_MAP || h.val != 0)
		return HP1_ERR_CBOR;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_BYTES)
		return HP1_ERR_CBOR;
	t->payload = h.ptr;
	t->payload_len = (size_t) h.val;
	if (!hp1_cbor_read_head(&p, end, &h) || h.major != HP1_CBOR_BYTES || h.val != HP1_SIG_LEN)
		return HP1_ERR_CBOR;
	t->sig = h.ptr;
	if (p != end)
		return HP1_ERR_CBOR;
	if (!ParseClaims(t->payload, t->payload + t->payload_len, t))
		return HP1_ERR_CBOR;
	return HP1_OK;
}

/*
 * One deflate and one inflate stream per process, reset between uses. The
 * window stays 32 KB (windowBits 15), so the zlib header starts with 0x78 as
 * the spec requires; memLevel 3 keeps the hash table at 2 KB (cleared on
 * every reset) and one deflate block up to 512 symbols: tokens are small,
 * and the default memLevel 8 clears 64 KB per token for nothing.
 */
#define HP1_DEFLATE_MEMLEVEL 3
static z_stream deflater;
static bool deflater_ready = false;
static z_stream inflater;
static bool inflater_ready = false;

/* hp1_deflate: zlib (RFC 1950) of in into out (replacing it); false on a zlib error or out of memory */
bool
hp1_deflate(const uint8_t *in, size_t n, Hp1Buf *out)
{
	uLong		bound;

	if (!deflater_ready)
	{
		memset(&deflater, 0, sizeof(deflater));
		if (deflateInit2(&deflater, Z_BEST_COMPRESSION, Z_DEFLATED, 15, HP1_DEFLATE_MEMLEVEL,
						 Z_DEFAULT_STRATEGY) != Z_OK)
			return false;
		deflater_ready = true;
	}
	else if (deflateReset(&deflater) != Z_OK)
		return false;
	bound = deflateBound(&deflater, (uLong) n);
	hp1_buf_reset(out);
	if (!hp1_buf_reserve(out, bound))
		return false;
	deflater.next_in = (Bytef *) in;
	deflater.avail_in = (uInt) n;
	deflater.next_out = out->data;
	deflater.avail_out = (uInt) bound;
	if (deflate(&deflater, Z_FINISH) != Z_STREAM_END)
		return false;
	out->len = (size_t) (deflater.next_out - out->data);
	return true;
}

/* StreamBit: bit pos of a deflate stream (least significant bit first), -1 past its end */
static int
StreamBit(const uint8_t *in, size_t n, size_t pos)
{
	if (pos / 8 >= n)
		return -1;
	return (in[pos / 8] >> (pos % 8)) & 1;
}

/*
 * hp1_inflate: strict zlib decoding into out (replacing it). Besides what
 * zlib checks (header, codes, Adler-32), the padding bits that deflate
 * ignores (after a stored block's header and after the last block) must be
 * zero, and nothing may follow the stream.
 */
Hp1Error
hp1_inflate(const uint8_t *in, size_t n, Hp1Buf *out)
{
	int			rc;

	if (!inflater_ready)
	{
		memset(&inflater, 0, sizeof(inflater));
		if (inflateInit2(&inflater, 15) != Z_OK)
			return HP1_ERR_ZLIB;
		inflater_ready = true;
	}
	else if (inflateReset(&inflater) != Z_OK)
		return HP1_ERR_ZLIB;
	hp1_buf_reset(out);
	inflater.next_in = (Bytef *) in;
	inflater.avail_in = (uInt) n;
	for (;;)
	{
		size_t		room;

		if (out->len > HP1_MAX_COSE)
			return HP1_ERR_SIZE;
		if (out->cap - out->len < 512 &&
			!hp1_buf_reserve(out, out->cap < 2048 ? 2048 : out->cap))
			return HP1_ERR_MEMORY;
		/* one byte past the limit at most, however large a reused buffer is */
		room = out->cap - out->len;
		if (room > HP1_MAX_COSE + 1 - out->len)
			room = HP1_MAX_COSE + 1 - out->len;
		inflater.next_out = out->data + out->len;
		inflater.avail_out = (uInt) room;
		rc = inflate(&inflater, Z_BLOCK);
		out->len = (size_t) (inflater.next_out - out->data);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && !(rc == Z_BUF_ERROR && inflater.avail_out == 0))
			return HP1_ERR_ZLIB;
		if ((inflater.data_type & 128) && (inflater.data_type & 63) < 8)
		{
			size_t		used = n - inflater.avail_in;
			int			unused = inflater.data_type & 7;

			if (inflater.data_type & 64)
			{
				/* after the last block: the rest of this byte is padding */
				if (unused > 0 && (in[used - 1] >> (8 - unused)) != 0)
					return HP1_ERR_ZLIB;
			}
			else
			{
				/* a stored block's header is padded to the byte boundary */
				size_t		pos = used * 8 - (size_t) unused;

				if (StreamBit(in, n, pos + 1) == 0 && StreamBit(in, n, pos + 2) == 0)
				{
					size_t		q;

					for (q = pos + 3; q % 8 != 0; q++)
						if (StreamBit(in, n, q) == 1)
							return HP1_ERR_ZLIB;
				}
			}
		}
	}
	if (out->len > HP1_MAX_COSE)
		return HP1_ERR_SIZE;
	if (inflater.avail_in != 0)
		return HP1_ERR_ZLIB;
	return HP1_OK;
}

/*
 * hp1_text_decode: "HP1:" + base45 + optional zlib to COSE bytes, which end
 * up in b45 or inflated (*cose points into one of them).
 */
Hp1Error
hp1_text_decode(const char *text, size_t n, Hp1Buf *b45, Hp1Buf *inflated,
				const uint8_t **cose, size_t *cose_len)
{
	size_t		len;

	if (n < HP1_PREFIX_LEN || memcmp(text, HP1_PREFIX, HP1_PREFIX_LEN) != 0)
		return HP1_ERR_PREFIX;
	text += HP1_PREFIX_LEN;
	n -= HP1_PREFIX_LEN;
	if (n > (size_t) HP1_MAX_COSE / 2 * 3 + 2)
		return HP1_ERR_SIZE;
	hp1_buf_reset(b45);
	if (!hp1_buf_reserve(b45, hp1_base45_decoded_max(n)))
		return HP1_ERR_MEMORY;
	if (!hp1_base45_decode(text, n, b45->data, &len))
		return HP1_ERR_BASE45;
	b45->len = len;
	if (len > 0 && b45->data[0] == 0x78)
	{
		Hp1Error	e = hp1_inflate(b45->data, len, inflated);

		if (e != HP1_OK)
			return e;
		*cose = inflated->data;
		*cose_len = inflated->len;
	}
	else
	{
		*cose = b45->data;
		*cose_len = len;
	}
	return HP1_OK;
}

/* hp1_text_len: characters of the text form of zlib_len compressed bytes */
size_t
hp1_text_len(size_t zlib_len)
{
	return HP1_PREFIX_LEN + hp1_base45_encoded_len(zlib_len);
}

/* hp1_text_write: "HP1:" + base45, hp1_text_len() characters, no NUL */
void
hp1_text_write(const uint8_t *zlib, size_t zlib_len, char *out)
{
	memcpy(out, HP1_PREFIX, HP1_PREFIX_LEN);
	hp1_base45_encode(zlib, zlib_len, out + HP1_PREFIX_LEN);
}
