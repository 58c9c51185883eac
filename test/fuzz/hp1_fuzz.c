/*
 * hp1_fuzz.c
 *	  libFuzzer target for the verifier side of HP1 (src/hp1_*.c): the path
 *	  that verify_token() runs on attacker-controlled QR contents. Built
 *	  from the codec files alone, with malloc installed as the codec's
 *	  allocator (hp1_set_allocator).
 *
 *	  An input that starts with "HP1:" is a token text: it goes through
 *	  hp1_text_decode (prefix, base45, strict inflate) and hp1_parse
 *	  (COSE_Sign1, protected header, claims, body), and its signature is
 *	  checked against the test trust list (the RFC 8032 test 1 and test 2
 *	  keys of test/vectors/hp1-vectors.json). Any other input is COSE bytes,
 *	  as verify_token(pass) gets them; it is also wrapped into a text both
 *	  uncompressed and compressed, and the three verdicts must agree. Raw
 *	  inputs also go straight into the base45, UTF-8 and CBOR body readers.
 *
 *	  Properties checked on every input (abort() when one fails):
 *	  - base45: a text that decodes re-encodes to exactly itself;
 *	  - the step-by-step decode agrees with hp1_text_decode, the zlib layer
 *	    round-trips what it inflated, and refuses a byte after the stream;
 *	  - CBOR: a value the strict reader accepts re-encodes canonically
 *	    (shortest heads, map keys sorted by their encoding; floats of any width) to
 *	    the same bytes, and so do the protected header, the claims, the body
 *	    and the whole COSE_Sign1 of a token that parses;
 *	  - UTF-8: hp1_utf8_valid agrees with an independent decoder;
 *	  - signatures: a parsed token re-signed with the test key verifies; a
 *	    changed COSE byte never verifies, and a flipped bit of its zlib
 *	    stream or a changed character of its text never verifies to other
 *	    COSE bytes (deflate is not canonical: the same bytes may come back);
 *	    likewise for any input text that verifies as it is.
 *	  Every decoded layer is copied into a buffer of its exact size first, so
 *	  AddressSanitizer sees any read past the end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hp1_codec.h"

/* the vectors' trust list: RFC 8032 test 1 and test 2 keys, valid 2025..2040 */
typedef struct FuzzKey
{
	uint8_t		pk[32];
	uint8_t		sk[64];
	uint8_t		kid[HP1_KID_LEN];
} FuzzKey;

static FuzzKey keys[2];

#define KEY_NOT_BEFORE	UINT64_C(1735689600)	/* 2025-01-01 */
#define KEY_NOT_AFTER	UINT64_C(2208988800)	/* 2040-01-01 */
#define VERIFY_AT		UINT64_C(1893456000)	/* 2030-01-01, the vectors' verify_at */
#define SKEW			300

typedef enum Verdict
{
	V_MALFORMED,
	V_UNKNOWN_KEY,
	V_KEY_EXPIRED,
	V_BAD_SIGNATURE,
	V_EXPIRED,
	V_NOT_YET_VALID,
	V_VALID
} Verdict;

static const char b45_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/* reused between runs, as the server reuses its scratch buffers */
static Hp1Buf s_b45,
			s_inflated,
			s_scratch;

/* Fail: a property does not hold; libFuzzer keeps the input as a crash */
static void
Fail(const char *what, int line)
{
	fprintf(stderr, "hp1_fuzz: property failed (hp1_fuzz.c:%d): %s\n", line, what);
	abort();
}

#define CHECK(cond, what) do { if (!(cond)) Fail(what, __LINE__); } while (0)

/*
 * The codec's allocator here (installed by LLVMFuzzerInitialize): malloc and
 * realloc, where running out of memory is a failure of the run, never a
 * verdict on the input
 */
static void *
FuzzAlloc(size_t size, void *cxt)
{
	void	   *p = malloc(size);

	(void) cxt;
	if (p == NULL)
		Fail("out of memory", __LINE__);
	return p;
}

static void *
FuzzRealloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size);

	if (p == NULL)
		Fail("out of memory", __LINE__);
	return p;
}

/* Copy: bytes in a heap block of exactly their size (NULL stays legal for 0) */
static uint8_t *
Copy(const void *p, size_t n)
{
	uint8_t    *c = malloc(n ? n : 1);

	if (c == NULL)
		abort();
	if (n)
		memcpy(c, p, n);
	return c;
}

/* Alloc: an uninitialised heap block of exactly n bytes */
static char *
Alloc(size_t n)
{
	char	   *c = malloc(n ? n : 1);

	if (c == NULL)
		abort();
	return c;
}

/* Hash: FNV-1a, to pick the positions that the change checks try */
static uint64_t
Hash(const uint8_t *p, size_t n)
{
	uint64_t	h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(1099511628211);
	return h;
}

/* Within: [p, p+n) lies inside [base, base+len) */
static bool
Within(const void *p, size_t n, const uint8_t *base, size_t len)
{
	const uint8_t *q = p;

	return q >= base && q <= base + len && n <= (size_t) (base + len - q);
}

/* ---------------------------------------------------------------------
 * independent UTF-8 reference: decode leniently, re-encode shortest
 * ---------------------------------------------------------------------
 */

/* RefUtf8: well-formed UTF-8 without NUL, by decoding and re-encoding */
static bool
RefUtf8(const uint8_t *p, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		uint8_t		c = p[i];
		size_t		len;
		uint32_t	cp;
		uint8_t		enc[4];
		size_t		elen;

		if (c < 0x80)
			len = 1, cp = c;
		else if ((c & 0xE0) == 0xC0)
			len = 2, cp = c & 0x1F;
		else if ((c & 0xF0) == 0xE0)
			len = 3, cp = c & 0x0F;
		else if ((c & 0xF8) == 0xF0)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++)
		{
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		if (cp < 0x80)
			enc[0] = (uint8_t) cp, elen = 1;
		else if (cp < 0x800)
			enc[0] = (uint8_t) (0xC0 | cp >> 6), enc[1] = (uint8_t) (0x80 | (cp & 0x3F)), elen = 2;
		else if (cp < 0x10000)
			enc[0] = (uint8_t) (0xE0 | cp >> 12), enc[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F)),
				enc[2] = (uint8_t) (0x80 | (cp & 0x3F)), elen = 3;
		else
			enc[0] = (uint8_t) (0xF0 | cp >> 18), enc[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3F)),
				enc[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F)), enc[3] = (uint8_t) (0x80 | (cp & 0x3F)),
				elen = 4;
		if (elen != len || memcmp(enc, p + i, len) != 0)
			return false;		/* overlong */
		i += len;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * canonical CBOR re-encoder (RFC 8949 section 4.2.1)
 * ---------------------------------------------------------------------
 */

typedef struct MapEntry
{
	Hp1Buf		key;
	Hp1Buf		val;
} MapEntry;

/* EntryCmp: bytewise order of the encoded keys, a prefix first */
static int
EntryCmp(const void *a, const void *b)
{
	const Hp1Buf *x = &((const MapEntry *) a)->key;
	const Hp1Buf *y = &((const MapEntry *) b)->key;
	size_t		m = x->len < y->len ? x->len : y->len;
	int			c = memcmp(x->data, y->data, m);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

/*
 * Canon: reads one value (any well-formed strict CBOR that the readers can
 * accept) and writes its canonical encoding with the codec's writers;
 * false when the bytes are not such a value or a map repeats a key.
 */
static bool
Canon(const uint8_t **pp, const uint8_t *end, Hp1Buf *out, int depth)
{
	Hp1CborHead	h;
	const uint8_t *start = *pp;

	if (depth > 64 || !hp1_cbor_read_head(pp, end, &h))
		return false;
	switch (h.major)
	{
		case HP1_CBOR_UINT:
		case HP1_CBOR_NINT:
			hp1_cbor_head(out, h.major, h.val);
			return true;
		case HP1_CBOR_BYTES:
			hp1_cbor_bytes(out, h.ptr, (size_t) h.val);
			return true;
		case HP1_CBOR_TEXT:
			hp1_cbor_text(out, (const char *) h.ptr, (size_t) h.val);
			return true;
		case HP1_CBOR_ARRAY:
			if (h.val > (uint64_t) (end - *pp))
				return false;
			hp1_cbor_head(out, HP1_CBOR_ARRAY, h.val);
			for (uint64_t i = 0; i < h.val; i++)
				if (!Canon(pp, end, out, depth + 1))
					return false;
			return true;
		case HP1_CBOR_MAP:
			{
				MapEntry   *e;
				size_t		n = (size_t) h.val;
				bool		good = true;

				if (h.val > (uint64_t) (end - *pp) / 2)
					return false;
				e = calloc(n ? n : 1, sizeof(MapEntry));
				if (e == NULL)
					abort();
				for (size_t i = 0; i < n && good; i++)
					good = Canon(pp, end, &e[i].key, depth + 1) &&
						Canon(pp, end, &e[i].val, depth + 1);
				if (good)
				{
					qsort(e, n, sizeof(MapEntry), EntryCmp);
					for (size_t i = 1; i < n; i++)
						if (EntryCmp(&e[i - 1], &e[i]) == 0)
							good = false;
				}
				if (good)
				{
					hp1_cbor_head(out, HP1_CBOR_MAP, n);
					for (size_t i = 0; i < n; i++)
					{
						hp1_buf_append(out, e[i].key.data, e[i].key.len);
						hp1_buf_append(out, e[i].val.data, e[i].val.len);
					}
				}
				for (size_t i = 0; i < n; i++)
				{
					hp1_buf_free(&e[i].key);
					hp1_buf_free(&e[i].val);
				}
				free(e);
				return good;
			}
		case HP1_CBOR_TAG:
			hp1_cbor_head(out, HP1_CBOR_TAG, h.val);
			return Canon(pp, end, out, depth + 1);
		default:
			if (h.info < 24)
				hp1_cbor_head(out, HP1_CBOR_SIMPLE, h.val);
			else if (h.info == 24)
			{
				uint8_t		s[2] = {0xF8, (uint8_t) h.val};

				hp1_buf_append(out, s, 2);
			}
			else
			{
				double		d = hp1_cbor_float_value(&h);

				if (!isfinite(d))
					return false;	/* the writer has no NaN/infinity forms */
				/* floats are accepted in any width: keep the bytes as read */
				hp1_buf_append(out, start, (size_t) (*pp - start));
			}
			return true;
	}
}

/* CheckCanonical: the value at [p, end) is exactly its canonical encoding */
static void
CheckCanonical(const uint8_t *p, size_t n, const char *what)
{
	const uint8_t *q = p;
	Hp1Buf		c = {0};

	CHECK(Canon(&q, p + n, &c, 0), what);
	CHECK(q == p + n && c.len == n && memcmp(c.data, p, n) == 0, what);
	hp1_buf_free(&c);
}

/* ---------------------------------------------------------------------
 * tokens
 * ---------------------------------------------------------------------
 */

/* CheckToken: the parsed fields lie where they should and re-encode to the input */
static void
CheckToken(const uint8_t *cose, size_t n, const Hp1Token *t)
{
	Hp1Buf		b = {0};

	CHECK(n <= HP1_MAX_COSE, "a parsed token is within the size limit");
	CHECK(Within(t->protected_hdr, t->protected_len, cose, n), "protected header inside the token");
	CHECK(Within(t->kid, t->kid_len, t->protected_hdr, t->protected_len), "kid inside the protected header");
	CHECK(Within(t->payload, t->payload_len, cose, n), "payload inside the token");
	CHECK(Within(t->sig, HP1_SIG_LEN, cose, n), "signature inside the token");
	CHECK(Within(t->iss, t->iss_len, t->payload, t->payload_len), "iss inside the payload");
	CHECK(Within(t->cti, HP1_CTI_LEN, t->payload, t->payload_len), "cti inside the payload");
	CHECK(Within(t->body, t->body_len, t->payload, t->payload_len), "body inside the payload");
	CHECK(Within(t->kind, t->kind_len, t->body, t->body_len), "kind inside the body");
	CHECK(t->iss_len > 0 && RefUtf8((const uint8_t *) t->iss, t->iss_len), "iss is non-empty UTF-8");
	CHECK(t->kind_len > 0 && RefUtf8((const uint8_t *) t->kind, t->kind_len), "kind is non-empty UTF-8");
	CHECK(t->iat <= UINT64_C(253402300799) && t->exp <= UINT64_C(253402300799), "times within year 9999");

	hp1_protected(&b, t->kid, t->kid_len);
	CHECK(b.len == t->protected_len && memcmp(b.data, t->protected_hdr, b.len) == 0,
		  "the protected header re-encodes to itself");
	CheckCanonical(t->payload, t->payload_len, "the claims are canonical CBOR");
	CheckCanonical(t->body, t->body_len, "the body is canonical CBOR");

	/* claims with just the five HP1 claims: the issuer's writer gives the same bytes */
	if (t->payload_len > 0 && t->payload[0] == 0xA5)
	{
		b.len = 0;
		hp1_claims_head(&b, t->iss, t->iss_len, t->iat, t->exp, t->cti);
		hp1_buf_append(&b, t->body, t->body_len);
		CHECK(b.len == t->payload_len && memcmp(b.data, t->payload, b.len) == 0,
			  "the five claims re-encode with hp1_claims_head");
	}

	/* the whole COSE_Sign1 */
	b.len = 0;
	hp1_cbor_head(&b, HP1_CBOR_TAG, 18);
	hp1_cbor_head(&b, HP1_CBOR_ARRAY, 4);
	hp1_cbor_bytes(&b, t->protected_hdr, t->protected_len);
	hp1_cbor_head(&b, HP1_CBOR_MAP, 0);
	hp1_cbor_bytes(&b, t->payload, t->payload_len);
	hp1_cbor_bytes(&b, t->sig, HP1_SIG_LEN);
	CHECK(b.len == n && memcmp(b.data, cose, n) == 0, "the COSE_Sign1 re-encodes to itself");
	hp1_buf_free(&b);
}

/* FindKey: the trust-list key with t's kid, or NULL */
static const FuzzKey *
FindKey(const Hp1Token *t)
{
	for (int i = 0; i < 2; i++)
		if (t->kid_len == HP1_KID_LEN && memcmp(t->kid, keys[i].kid, HP1_KID_LEN) == 0)
			return &keys[i];
	return NULL;
}

/* TokenVerdict: the spec's verdict on a parsed token at VERIFY_AT */
static Verdict
TokenVerdict(const Hp1Token *t)
{
	const FuzzKey *k = FindKey(t);

	if (k == NULL)
	{
		/* the Sig_structure path runs for unknown kids too */
		(void) hp1_verify(t, &s_scratch, keys[0].pk);
		return V_UNKNOWN_KEY;
	}
	if (t->iat < KEY_NOT_BEFORE || t->iat >= KEY_NOT_AFTER)
		return V_KEY_EXPIRED;
	if (!hp1_verify(t, &s_scratch, k->pk))
		return V_BAD_SIGNATURE;
	if (VERIFY_AT >= t->exp + SKEW)
		return V_EXPIRED;
	if (t->iat > VERIFY_AT + SKEW)
		return V_NOT_YET_VALID;
	return V_VALID;
}

/* CoseVerdict: parse, check and judge COSE bytes (an exact-size block) */
static Verdict
CoseVerdict(const uint8_t *cose, size_t n, Hp1Token *t)
{
	Hp1Error	e = hp1_parse(cose, n, t);

	if (e != HP1_OK)
	{
		CHECK(e == (n > HP1_MAX_COSE ? HP1_ERR_SIZE : HP1_ERR_CBOR), "hp1_parse fails with CBOR or SIZE");
		return V_MALFORMED;
	}
	CheckToken(cose, n, t);
	return TokenVerdict(t);
}

/* SignedBy: whether COSE bytes parse and verify under pk (bytes copied to an exact block) */
static bool
SignedBy(const uint8_t *cose, size_t n, const uint8_t pk[32])
{
	uint8_t    *c = Copy(cose, n);
	Hp1Token	t;
	bool		r = hp1_parse(c, n, &t) == HP1_OK && hp1_verify(&t, &s_scratch, pk);

	free(c);
	return r;
}

/*
 * TextForges: whether a token text decodes, parses and verifies under pk
 * to COSE bytes other than [cose, cose+n). Deflate is not canonical (a
 * back-reference may point at other, equal bytes; see hp1_cose.c), so a
 * changed text may carry the very same signed bytes: that is no forgery.
 */
static bool
TextForges(const char *text, size_t n, const uint8_t pk[32], const uint8_t *cose, size_t cose_n)
{
	const uint8_t *got;
	size_t		got_len;

	if (hp1_text_decode(text, n, &s_b45, &s_inflated, &got, &got_len) != HP1_OK)
		return false;
	if (got_len == cose_n && memcmp(got, cose, cose_n) == 0)
		return false;
	return SignedBy(got, got_len, pk);
}

/*
 * CheckTextChanges: no changed character of a text that verifies under pk
 * (to the COSE bytes cose) verifies to other bytes; tries a few positions
 * (and replacement characters) picked from h
 */
static void
CheckTextChanges(const char *text, size_t n, const uint8_t pk[32],
				 const uint8_t *cose, size_t cose_n, uint64_t h)
{
	char	   *c = (char *) Copy(text, n);

	for (int k = 0; k < 4 && n > 0; k++, h = h * UINT64_C(6364136223846793005) + 1442695040888963407u)
	{
		size_t		pos = (size_t) ((h >> 17) % n);
		char		r = b45_chars[(h >> 7) % 45];

		if (r == text[pos])
			r = (char) (text[pos] ^ 0x20);	/* e.g. 'A' -> 'a', '0' -> 0x10 */
		c[pos] = r;
		CHECK(!TextForges(c, n, pk, cose, cose_n), "a token text with one changed character verifies to other bytes");
		c[pos] = text[pos];
	}
	free(c);
}

/*
 * CheckZlibChanges: no single-bit flip of a zlib stream of the COSE bytes
 * cose, which verify under pk, verifies to other bytes
 */
static void
CheckZlibChanges(const uint8_t *z, size_t n, const uint8_t pk[32],
				 const uint8_t *cose, size_t cose_n, uint64_t h)
{
	uint8_t    *c = Copy(z, n);
	Hp1Buf		out = {0};

	for (int k = 0; k < 4 && n > 0; k++, h = h * UINT64_C(6364136223846793005) + 1442695040888963407u)
	{
		size_t		pos = (size_t) ((h >> 17) % n);
		uint8_t		bit = (uint8_t) (1u << ((h >> 9) % 8));

		c[pos] ^= bit;
		CHECK(hp1_inflate(c, n, &out) != HP1_OK ||
			  (out.len == cose_n && memcmp(out.data, cose, cose_n) == 0) ||
			  !SignedBy(out.data, out.len, pk),
			  "a zlib stream with one flipped bit verifies to other bytes");
		c[pos] ^= bit;
	}
	hp1_buf_free(&out);
	free(c);
}

/* CheckCoseChanges: no changed byte of a COSE_Sign1 that verifies under pk verifies */
static void
CheckCoseChanges(const uint8_t *cose, size_t n, const uint8_t pk[32], uint64_t h)
{
	uint8_t    *c = Copy(cose, n);

	for (int k = 0; k < 4 && n > 0; k++, h = h * UINT64_C(6364136223846793005) + 1442695040888963407u)
	{
		size_t		pos = (size_t) ((h >> 17) % n);
		uint8_t		x = (uint8_t) (1 + (h >> 5) % 255);

		c[pos] ^= x;
		CHECK(!SignedBy(c, n, pk), "a COSE_Sign1 with one changed byte still verifies");
		c[pos] ^= x;
	}
	free(c);
}

/*
 * CheckResign: a parsed token's protected header and claims, signed with
 * the test 1 key by the issuer's code, give the same bytes but the
 * signature, verify through every layer, and no change of them verifies.
 */
static void
CheckResign(const uint8_t *cose, size_t n, const Hp1Token *t, uint64_t h)
{
	Hp1Buf		signed_cose = {0},
				z = {0},
				scratch = {0};
	char	   *text;
	size_t		tlen;

	hp1_sign(&signed_cose, &scratch, keys[0].sk, t->protected_hdr, t->protected_len,
			 t->payload, t->payload_len);
	CHECK(signed_cose.len == n && memcmp(signed_cose.data, cose, n - HP1_SIG_LEN) == 0,
		  "hp1_sign lays out the parsed token identically");
	CHECK(SignedBy(signed_cose.data, signed_cose.len, keys[0].pk), "a re-signed token verifies");
	CheckCoseChanges(signed_cose.data, signed_cose.len, keys[0].pk, h);

	CHECK(hp1_deflate(signed_cose.data, signed_cose.len, &z) && z.len > 0 && z.data[0] == 0x78,
		  "hp1_deflate writes a zlib stream");
	CheckZlibChanges(z.data, z.len, keys[0].pk, signed_cose.data, signed_cose.len, h ^ 0x5bd1e995u);
	tlen = hp1_text_len(z.len);
	text = Alloc(tlen);
	hp1_text_write(z.data, z.len, text);
	{
		const uint8_t *got;
		size_t		got_len;

		CHECK(hp1_text_decode(text, tlen, &s_b45, &s_inflated, &got, &got_len) == HP1_OK &&
			  got_len == signed_cose.len && memcmp(got, signed_cose.data, got_len) == 0 &&
			  SignedBy(got, got_len, keys[0].pk), "a re-signed token text decodes and verifies");
	}
	CheckTextChanges(text, tlen, keys[0].pk, signed_cose.data, signed_cose.len, h ^ 0x9e3779b9u);
	free(text);
	hp1_buf_free(&signed_cose);
	hp1_buf_free(&z);
	hp1_buf_free(&scratch);
}

/*
 * TextVerdict: the verdict on a token text through the server's call
 * (hp1_text_decode), cross-checked against each layer decoded on its own;
 * deep runs the signature change checks too (once per input is enough)
 */
static Verdict
TextVerdict(const char *text, size_t n, uint64_t h, bool deep)
{
	const uint8_t *cose = NULL;
	size_t		cose_len = 0;
	Hp1Error	e = hp1_text_decode(text, n, &s_b45, &s_inflated, &cose, &cose_len);
	const char *body;
	size_t		blen;
	uint8_t    *raw;
	size_t		rawlen = 0;
	bool		b45ok;
	Verdict		v;
	Hp1Token	t;
	uint8_t    *exact;

	if (n < HP1_PREFIX_LEN || memcmp(text, HP1_PREFIX, HP1_PREFIX_LEN) != 0)
	{
		CHECK(e == HP1_ERR_PREFIX, "a text without the prefix is refused for it");
		return V_MALFORMED;
	}
	CHECK(e != HP1_ERR_PREFIX, "a text with the prefix passes it");
	body = text + HP1_PREFIX_LEN;
	blen = n - HP1_PREFIX_LEN;
	if (blen > (size_t) HP1_MAX_COSE / 2 * 3 + 2)
	{
		CHECK(e == HP1_ERR_SIZE, "an over-long text is refused for its size");
		return V_MALFORMED;
	}

	/* base45 on its own, into a block of exactly the promised size */
	raw = malloc(hp1_base45_decoded_max(blen));
	if (raw == NULL)
		abort();
	b45ok = hp1_base45_decode(body, blen, raw, &rawlen);
	CHECK(b45ok == (e != HP1_ERR_BASE45), "base45 verdicts agree");
	if (!b45ok)
	{
		free(raw);
		return V_MALFORMED;
	}
	CHECK(rawlen <= hp1_base45_decoded_max(blen), "base45 stays within hp1_base45_decoded_max");
	{
		char	   *again = malloc(hp1_base45_encoded_len(rawlen) + 1);

		if (again == NULL)
			abort();
		hp1_base45_encode(raw, rawlen, again);
		CHECK(hp1_base45_encoded_len(rawlen) == blen && memcmp(again, body, blen) == 0,
			  "base45 encode(decode(x)) == x");
		free(again);
	}

	/* the zlib layer on its own, from an exact copy */
	if (rawlen > 0 && raw[0] == 0x78)
	{
		uint8_t    *z = Copy(raw, rawlen);
		Hp1Buf		out = {0};
		Hp1Error	ze = hp1_inflate(z, rawlen, &out);

		CHECK(ze == e, "inflate verdicts agree");
		if (ze == HP1_OK)
		{
			Hp1Buf		z2 = {0},
						back = {0};

			CHECK(out.len <= HP1_MAX_COSE, "inflate keeps to the size limit");
			CHECK(e == HP1_OK && cose_len == out.len && memcmp(cose, out.data, out.len) == 0,
				  "hp1_text_decode gives the inflated bytes");
			CHECK(hp1_deflate(out.data, out.len, &z2) && hp1_inflate(z2.data, z2.len, &back) == HP1_OK &&
				  back.len == out.len && memcmp(back.data, out.data, out.len) == 0,
				  "the zlib layer round-trips");
			hp1_buf_free(&z2);
			hp1_buf_free(&back);
		}
		hp1_buf_free(&out);
		free(z);
	}
	else
		CHECK(e == HP1_OK && cose_len == rawlen && memcmp(cose, raw, rawlen) == 0,
			  "an uncompressed token is taken as it is");
	free(raw);
	if (e != HP1_OK)
		return V_MALFORMED;

	exact = Copy(cose, cose_len);
	v = CoseVerdict(exact, cose_len, &t);
	if (deep && v != V_MALFORMED)
		CheckResign(exact, cose_len, &t, h);
	if (deep && v == V_VALID)
		CheckTextChanges(text, n, FindKey(&t)->pk, exact, cose_len, h);
	free(exact);
	return v;
}

/* RawInput: COSE bytes, as verify_token(pass) gets them, plus the raw readers */
static void
RawInput(const uint8_t *data, size_t size, uint64_t h)
{
	Hp1Token	t;
	Verdict		v = CoseVerdict(data, size, &t);
	const uint8_t *p = data;
	size_t		tlen;
	char	   *text;

	if (v != V_MALFORMED)
		CheckResign(data, size, &t, h);
	if (v == V_VALID)
		CheckCoseChanges(data, size, FindKey(&t)->pk, h);

	/* the same bytes as an uncompressed token text */
	tlen = hp1_text_len(size);
	text = Alloc(tlen);
	hp1_text_write(data, size, text);
	{
		Verdict		tv = TextVerdict(text, tlen, h, false);

		CHECK(tv == v || (size > 0 && data[0] == 0x78), "an uncompressed text gets the verdict of its bytes");
	}
	free(text);

	/* and compressed */
	if (size <= HP1_MAX_COSE)
	{
		Hp1Buf		z = {0};

		CHECK(hp1_deflate(data, size, &z), "hp1_deflate succeeds");
		tlen = hp1_text_len(z.len);
		text = Alloc(tlen);
		hp1_text_write(z.data, z.len, text);
		CHECK(TextVerdict(text, tlen, h, false) == v, "a compressed text gets the verdict of its bytes");
		free(text);
		/* nothing may follow the stream: the input's first byte appended is refused */
		if (size > 0)
		{
			Hp1Buf		out = {0};
			uint8_t    *zx;

			hp1_buf_append(&z, data, 1);
			zx = Copy(z.data, z.len);
			CHECK(hp1_inflate(zx, z.len, &out) == HP1_ERR_ZLIB, "a byte after the zlib stream is refused");
			free(zx);
			hp1_buf_free(&out);
		}
		hp1_buf_free(&z);
	}

	/* the body reader on any CBOR value: what it accepts is canonical */
	if (hp1_cbor_check_value(&p, data + size, 0))
	{
		CHECK(p > data && p <= data + size, "the body reader moves forward within the input");
		CheckCanonical(data, (size_t) (p - data), "an accepted body value is canonical CBOR");
	}

	/* UTF-8 against the reference */
	CHECK(hp1_utf8_valid(data, size) == RefUtf8(data, size), "hp1_utf8_valid agrees with the reference");

	/* base45 on the raw bytes */
	{
		uint8_t    *out = malloc(hp1_base45_decoded_max(size));
		size_t		olen = 0;

		if (out == NULL)
			abort();
		if (hp1_base45_decode((const char *) data, size, out, &olen))
		{
			char	   *again = malloc(hp1_base45_encoded_len(olen) + 1);

			if (again == NULL)
				abort();
			hp1_base45_encode(out, olen, again);
			CHECK(hp1_base45_encoded_len(olen) == size && memcmp(again, data, size) == 0,
				  "base45 encode(decode(x)) == x");
			free(again);
		}
		free(out);
	}
}

/* LLVMFuzzerInitialize: libsodium and the two test keys */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t seeds[2][32] = {
		/* RFC 8032 section 7.1 TEST 1 and TEST 2 secret keys */
		{0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60},
		{0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda, 0x9d, 0xb6, 0xc3, 0x46, 0xec, 0x11, 0x4e, 0x0f,
		0x5b, 0x8a, 0x31, 0x9f, 0x35, 0xab, 0xa6, 0x24, 0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8, 0xa6, 0xfb}
	};

	(void) argc;
	(void) argv;
	if (sodium_init() < 0)
		abort();
	hp1_set_allocator(FuzzAlloc, FuzzRealloc, free);
	for (int i = 0; i < 2; i++)
	{
		hp1_ed25519_keypair(seeds[i], keys[i].pk, keys[i].sk);
		hp1_kid(keys[i].pk, keys[i].kid);
	}
	/* a server backend's scratch buffer may be large from earlier work: the
	 * inflate checks compare this one with a fresh buffer */
	hp1_buf_reserve(&s_inflated, 4 * (size_t) HP1_MAX_COSE);
	return 0;
}

/* LLVMFuzzerTestOneInput: one input, as a token text or as COSE bytes */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	h = Hash(data, size);

	if (size >= HP1_PREFIX_LEN && memcmp(data, HP1_PREFIX, HP1_PREFIX_LEN) == 0)
		(void) TextVerdict((const char *) data, size, h, true);
	else
	{
		(void) TextVerdict((const char *) data, size, h, false);	/* the prefix check */
		RawInput(data, size, h);
	}
	return 0;
}
