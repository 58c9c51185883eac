/*
 * 20_token_codec.c: unit test of the PostgreSQL-free HP1 codecs
 * (src/hp1_base45.c, src/hp1_cbor.c, src/hp1_cose.c), printing TAP.
 * RFC 9285 base45 vectors, RFC 8032 Ed25519 vectors, RFC 8949 CBOR
 * examples, the deterministic HP1 vector and the verdicts of the thirteen HP1
 * vector tokens (read from standard input, see 20_token_codec.sh), a
 * single-character change at every position of the valid vector tokens, and
 * what the codec does when its allocator returns NULL. Links the codec
 * files alone: the allocator is malloc's, installed with hp1_set_allocator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hp1_codec.h"

static int	test_no = 0;
static int	failures = 0;

/*
 * The codec's allocator here: malloc, realloc and free, which return NULL
 * when memory runs out; the codec then marks the buffer failed and the
 * tests that read it fail. fail_after makes allocations fail on purpose
 * (test_out_of_memory): -1 never, otherwise after that many more.
 */
static long fail_after = -1;

static void *
TestAlloc(size_t size, void *cxt)
{
	(void) cxt;
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	return malloc(size);
}

static void *
TestRealloc(void *ptr, size_t size)
{
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	return realloc(ptr, size);
}

static void
ok(int cond, const char *fmt, const char *arg)
{
	test_no++;
	if (!cond)
		failures++;
	printf("%s %d - ", cond ? "ok" : "not ok", test_no);
	printf(fmt, arg);
	printf("\n");
}

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t		n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
	return n;
}

static char *
tohex(const uint8_t *p, size_t n)
{
	static char buf[4][70000];
	static int	k = 0;
	char	   *o = buf[k++ % 4];

	for (size_t i = 0; i < n; i++)
		sprintf(o + 2 * i, "%02x", p[i]);
	o[2 * n] = 0;
	return o;
}

/* ---- base45 ---- */
static void
test_base45(void)
{
	static const char *const pairs[][2] = {
		{"AB", "BB8"}, {"Hello!!", "%69 VD92EX0"}, {"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"}, {"", ""}
	};
	static const char *const bad[] = {"GGW", "qed8wex0", "QED8WEX", "A", ":::", "Z:"};
	char		out[64];
	uint8_t		dec[64];
	size_t		n;

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
	{
		size_t		len = strlen(pairs[i][0]);

		hp1_base45_encode((const uint8_t *) pairs[i][0], len, out);
		out[hp1_base45_encoded_len(len)] = 0;
		ok(strcmp(out, pairs[i][1]) == 0, "base45 encodes RFC 9285 example \"%s\"", pairs[i][0]);
		ok(hp1_base45_decode(pairs[i][1], strlen(pairs[i][1]), dec, &n) && n == len &&
		   memcmp(dec, pairs[i][0], n) == 0, "base45 decodes \"%s\"", pairs[i][1]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!hp1_base45_decode(bad[i], strlen(bad[i]), dec, &n), "base45 rejects \"%s\"", bad[i]);
	/* every 2-byte value round-trips */
	{
		int			good = 1;

		for (unsigned v = 0; v < 65536; v++)
		{
			uint8_t		in[2] = {(uint8_t) (v >> 8), (uint8_t) v};

			hp1_base45_encode(in, 2, out);
			if (!hp1_base45_decode(out, 3, dec, &n) || n != 2 || memcmp(in, dec, 2) != 0)
				good = 0;
		}
		ok(good, "base45 round-trips all %s two-byte values", "65536");
	}
}

/* ---- Ed25519 ---- */
static void
test_ed25519(void)
{
	/* RFC 8032 section 7.1: TEST 1, 2, 3 and SHA(abc) */
	static const char *const v[][4] = {
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
		"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
		{"833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
			"ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
			"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		"dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"}
	};
	static const char *const names[] = {"TEST 1", "TEST 2", "TEST 3", "TEST SHA(abc)"};

	for (int i = 0; i < 4; i++)
	{
		uint8_t		seed[32],
					pk[32],
					sk[64],
					msg[64],
					sig[64],
					want[64];
		size_t		mlen = unhex(v[i][2], msg);

		unhex(v[i][0], seed);
		unhex(v[i][3], want);
		hp1_ed25519_keypair(seed, pk, sk);
		ok(strcmp(tohex(pk, 32), v[i][1]) == 0, "RFC 8032 %s: public key from secret key", names[i]);
		hp1_ed25519_sign(sk, msg, mlen, sig);
		ok(memcmp(sig, want, 64) == 0, "RFC 8032 %s: signature", names[i]);
		ok(hp1_ed25519_verify(pk, msg, mlen, sig), "RFC 8032 %s: verifies", names[i]);
		sig[i % 64] ^= 0x01;
		ok(!hp1_ed25519_verify(pk, msg, mlen, sig), "RFC 8032 %s: a changed signature fails", names[i]);
	}
}

/* ---- CBOR ---- */
static void
test_cbor(void)
{
	static const struct
	{
		long long	v;
		const char *hex;
	}			ints[] = {
		{0, "00"}, {23, "17"}, {24, "1818"}, {100, "1864"}, {1000, "1903e8"},
		{1000000, "1a000f4240"}, {1000000000000LL, "1b000000e8d4a51000"},
		{-1, "20"}, {-10, "29"}, {-100, "3863"}, {-1000, "3903e7"}, {-65537, "3a00010000"}
	};
	static const struct
	{
		double		v;
		const char *hex;
	}			floats[] = {
		{0.0, "f90000"}, {-0.0, "f98000"}, {1.0, "f93c00"}, {1.1, "fb3ff199999999999a"},
		{1.5, "f93e00"}, {65504.0, "f97bff"}, {100000.0, "fa47c35000"},
		{3.4028234663852886e+38, "fa7f7fffff"}, {1.0e+300, "fb7e37e43c8800759c"},
		{5.960464477539063e-8, "f90001"}, {0.00006103515625, "f90400"}, {-4.0, "f9c400"},
		{-4.1, "fbc010666666666666"}
	};
	static const char *const bad[] = {
		"1817", "190017", "1a000000ff", "1b00000000ffffffff", "9f01ff", "5f4101ff",
		"1c", "f800", "a2616101616101", "a2616201616101", "62c328", "c100", "f7", "4201",
		/* no JSON form: infinities and NaN in every width */
		"f97c00", "f9fc00", "f97e00", "fa7f800000", "fb7ff8000000000000"
	};
	/* floats wider than needed, as other encoders write them: read, same value */
	static const struct
	{
		const char *hex;
		double		v;
	}			wide[] = {
		{"fa00000000", 0.0}, {"fa3fc00000", 1.5}, {"fb3ff0000000000000", 1.0},
		{"fb3ff8000000000000", 1.5}, {"fa42120000", 36.5}, {"fb4042400000000000", 36.5}
	};
	Hp1Buf		b = {0};
	char		name[64];

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
	{
		b.len = 0;
		hp1_cbor_int(&b, ints[i].v);
		snprintf(name, sizeof(name), "%lld", ints[i].v);
		ok(strcmp(tohex(b.data, b.len), ints[i].hex) == 0, "CBOR writes RFC 8949 example %s", name);
	}
	for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++)
	{
		Hp1CborHead	h;
		const uint8_t *p;

		b.len = 0;
		hp1_cbor_double(&b, floats[i].v);
		snprintf(name, sizeof(name), "%.17g", floats[i].v);
		ok(strcmp(tohex(b.data, b.len), floats[i].hex) == 0, "CBOR writes float %s in its shortest form", name);
		p = b.data;
		ok(hp1_cbor_read_head(&p, b.data + b.len, &h) && hp1_cbor_float_value(&h) == floats[i].v,
		   "CBOR reads float %s back", name);
		p = b.data;
		ok(hp1_cbor_check_value(&p, b.data + b.len, 0) && p == b.data + b.len,
		   "CBOR body reader accepts float %s in its shortest form", name);
	}
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
	{
		uint8_t		in[16];
		size_t		n = unhex(wide[i].hex, in);
		const uint8_t *p = in;
		Hp1CborHead	h;

		ok(hp1_cbor_check_value(&p, in + n, 0) && p == in + n,
		   "CBOR body reader accepts float %s in a wider form", wide[i].hex);
		p = in;
		ok(hp1_cbor_read_head(&p, in + n, &h) && hp1_cbor_float_value(&h) == wide[i].v,
		   "CBOR reads %s as the value it holds", wide[i].hex);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		uint8_t		in[16];
		size_t		n = unhex(bad[i], in);
		const uint8_t *p = in;

		ok(!hp1_cbor_check_value(&p, in + n, 0), "CBOR reader rejects %s", bad[i]);
	}
	hp1_buf_free(&b);
}

/* ---- HP1 vectors ---- */
typedef struct VKey
{
	uint8_t		kid[8];
	uint8_t		pk[32];
	char		iss[65];		/* the issuer the key was published under */
}			VKey;

static VKey keys[8];
static int	nkeys = 0;
static const uint64_t verify_at = 1893456000;	/* 2030-01-01T00:00:00Z */
static const uint64_t skew = 300;

/* Verdict: the spec's verdict at verify_at (keys valid 2025..2040, nothing revoked) */
static const char *
Verdict(const char *text, size_t n)
{
	static Hp1Buf b45,
				inflated,
				scratch;
	const uint8_t *cose;
	size_t		cose_len;
	Hp1Token	t;
	int			i;

	if (hp1_text_decode(text, n, &b45, &inflated, &cose, &cose_len) != HP1_OK)
		return "malformed";
	if (hp1_parse(cose, cose_len, &t) != HP1_OK)
		return "malformed";
	for (i = 0; i < nkeys; i++)
		if (t.kid_len == 8 && memcmp(keys[i].kid, t.kid, 8) == 0)
			break;
	if (i == nkeys)
		return "unknown_key";
	if (t.iat < 1735689600 || t.iat >= 2208988800)
		return "key_expired";
	if (!hp1_verify(&t, &scratch, keys[i].pk))
		return "bad_signature";
	if (t.iss_len != strlen(keys[i].iss) || memcmp(t.iss, keys[i].iss, t.iss_len) != 0)
		return "issuer_mismatch";
	if (verify_at >= t.exp + skew)
		return "expired";
	if (t.iat > verify_at + skew)
		return "not_yet_valid";
	return "valid";
}

static void
test_deterministic(char *line)
{
	char	   *want[4];
	uint8_t		seed[32],
				pk[32],
				sk[64],
				kid[8],
				cti[16];
	Hp1Buf		prot = {0},
				payload = {0},
				cose = {0},
				scratch = {0};
	Hp1Token	t;

	want[0] = strtok(line, "\t");
	for (int i = 1; i < 4; i++)
		want[i] = strtok(NULL, "\t\n");
	unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed);
	unhex("00112233445566778899aabbccddeeff", cti);
	hp1_ed25519_keypair(seed, pk, sk);
	hp1_kid(pk, kid);
	ok(strcmp(tohex(kid, 8), "21fe31dfa154a261") == 0, "kid of the RFC 8032 TEST 1 key is %s", "21fe31dfa154a261");
	hp1_protected(&prot, kid, 8);
	ok(strcmp(tohex(prot.data, prot.len), want[0]) == 0, "deterministic vector: %s", "protected_hex");
	hp1_claims_head(&payload, "CN-44", 5, 1767225600, 2082758400, cti);
	hp1_cbor_head(&payload, HP1_CBOR_MAP, 5);
	hp1_cbor_text(&payload, "c", 1);
	hp1_cbor_text(&payload, "green", 5);
	hp1_cbor_text(&payload, "d", 1);
	hp1_cbor_text(&payload, "4401**********123X", 18);
	hp1_cbor_text(&payload, "k", 1);
	hp1_cbor_text(&payload, "health", 6);
	hp1_cbor_text(&payload, "n", 1);
	hp1_cbor_text(&payload, "\xe5\xbc\xa0*\xe6\x98\x8e", 7);
	hp1_cbor_text(&payload, "v", 1);
	hp1_cbor_int(&payload, 1);
	ok(strcmp(tohex(payload.data, payload.len), want[1]) == 0, "deterministic vector: %s", "payload_hex");
	hp1_sign(&cose, &scratch, sk, prot.data, prot.len, payload.data, payload.len);
	ok(strcmp(tohex(cose.data + cose.len - 64, 64), want[2]) == 0, "deterministic vector: %s", "signature_hex");
	ok(strcmp(tohex(cose.data, cose.len), want[3]) == 0, "deterministic vector: %s", "cose_hex");
	ok(hp1_parse(cose.data, cose.len, &t) == HP1_OK && t.iat == 1767225600 && t.exp == 2082758400 &&
	   t.kind_len == 6 && memcmp(t.kind, "health", 6) == 0 && hp1_verify(&t, &scratch, pk),
	   "deterministic vector parses back and verifies%s", "");
	/* the zlib layer round-trips it */
	{
		Hp1Buf		z = {0},
					back = {0};

		ok(hp1_deflate(cose.data, cose.len, &z) && z.data[0] == 0x78 &&
		   hp1_inflate(z.data, z.len, &back) == HP1_OK && back.len == cose.len &&
		   memcmp(back.data, cose.data, cose.len) == 0, "zlib layer round-trips the COSE bytes%s", "");
		/* non-zero padding bits after the last block are refused */
		if (z.len > 5)
		{
			z.data[z.len - 5] |= 0x80;
			ok(hp1_inflate(z.data, z.len, &back) != HP1_OK ||
			   memcmp(back.data, cose.data, cose.len) != 0, "a change in the deflate stream is refused%s", "");
		}
		hp1_buf_free(&z);
		hp1_buf_free(&back);
	}
	hp1_buf_free(&prot);
	hp1_buf_free(&payload);
	hp1_buf_free(&cose);
	hp1_buf_free(&scratch);
}

/*
 * test_inflate_limit: the 65536-byte limit on inflated tokens does not depend
 * on how large a reused output buffer already is (found by
 * test/fuzz/hp1_fuzz.c: a reused 128 KB buffer let a zip bomb inflate past
 * the limit and changed which error a damaged one got)
 */
static void
test_inflate_limit(void)
{
	static const size_t sizes[] = {65536, 65537, 200000};
	uint8_t    *big = calloc(200000, 1);
	Hp1Buf		z = {0};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		Hp1Error	want = sizes[i] > HP1_MAX_COSE ? HP1_ERR_SIZE : HP1_OK;
		char		name[64];

		hp1_deflate(big, sizes[i], &z);
		for (int damaged = 0; damaged < 2; damaged++)
		{
			Hp1Buf		fresh = {0},
						reused = {0};
			Hp1Error	a,
						b;

			if (damaged)
				z.data[z.len - 1] ^= 1; /* Adler-32 */
			hp1_buf_reserve(&reused, 262144);
			a = hp1_inflate(z.data, z.len, &fresh);
			b = hp1_inflate(z.data, z.len, &reused);
			snprintf(name, sizeof(name), "%s%zu bytes of zeros", damaged ? "damaged " : "", sizes[i]);
			ok(a == b && a == (damaged && want == HP1_OK ? HP1_ERR_ZLIB : want) &&
			   fresh.len <= HP1_MAX_COSE + 1 && reused.len <= HP1_MAX_COSE + 1,
			   "inflate limit holds with a fresh and a large reused buffer: %s", name);
			hp1_buf_free(&fresh);
			hp1_buf_free(&reused);
		}
	}
	hp1_buf_free(&z);
	free(big);
}

/*
 * test_out_of_memory: when the allocator returns NULL, the codec marks the
 * buffer failed, skips later writes to it and reports the failure; it
 * never writes through NULL (the server's allocator raises instead)
 */
static void
test_out_of_memory(void)
{
	static const uint8_t seed[32] = {1};
	static const uint8_t cti[HP1_CTI_LEN] = {2};
	uint8_t		pk[32],
				sk[64],
				kid[HP1_KID_LEN];
	char		text[512];
	size_t		tlen;
	const uint8_t *cose;
	size_t		cose_len;
	Hp1Token	t;
	Hp1Buf		b = {0},
				prot = {0},
				payload = {0},
				signed_cose = {0},
				scratch = {0},
				z = {0},
				b45 = {0},
				inflated = {0};
	char		big[300];

	hp1_ed25519_keypair(seed, pk, sk);
	hp1_kid(pk, kid);

	/* no allocator installed: every allocation fails */
	hp1_set_allocator(NULL, NULL, NULL);
	hp1_cbor_text(&b, "abc", 3);
	ok(b.failed && b.len == 0 && b.data == NULL, "without an allocator a write fails and marks the buffer%s", "");
	hp1_set_allocator(TestAlloc, TestRealloc, free);
	hp1_cbor_text(&b, "abc", 3);
	ok(b.failed && b.len == 0, "a failed buffer stays failed%s", "");
	hp1_buf_reset(&b);
	hp1_cbor_text(&b, "abc", 3);
	ok(!b.failed && b.len == 4 && memcmp(b.data, "\x63" "abc", 4) == 0,
	   "hp1_buf_reset clears the mark%s", "");
	hp1_buf_free(&b);

	/* growing fails midway: what was written stays, later writes are skipped */
	memset(big, 'x', sizeof(big));
	fail_after = 1;
	hp1_cbor_text(&b, big, sizeof(big));
	hp1_cbor_int(&b, 1);
	fail_after = -1;
	ok(b.failed && b.len == 3 && b.cap == 256 && b.data != NULL && b.data[0] == 0x79,
	   "a failed realloc keeps the buffer and skips later writes%s", "");
	hp1_buf_free(&b);

	/* a token to sign, compress and decode */
	hp1_protected(&prot, kid, HP1_KID_LEN);
	hp1_claims_head(&payload, "CN-44", 5, 1767225600, 2082758400, cti);
	hp1_cbor_head(&payload, HP1_CBOR_MAP, 2);
	hp1_cbor_text(&payload, "k", 1);
	hp1_cbor_text(&payload, "health", 6);
	hp1_cbor_text(&payload, "v", 1);
	hp1_cbor_int(&payload, 1);

	fail_after = 0;
	ok(!hp1_sign(&signed_cose, &scratch, sk, prot.data, prot.len, payload.data, payload.len) &&
	   scratch.failed && signed_cose.data == NULL, "hp1_sign reports a scratch buffer that cannot grow%s", "");
	fail_after = 1;
	ok(!hp1_sign(&signed_cose, &scratch, sk, prot.data, prot.len, payload.data, payload.len) &&
	   !scratch.failed && signed_cose.failed, "hp1_sign reports an output buffer that cannot grow%s", "");
	fail_after = -1;
	ok(hp1_sign(&signed_cose, &scratch, sk, prot.data, prot.len, payload.data, payload.len) &&
	   !signed_cose.failed, "hp1_sign succeeds again once memory is back%s", "");

	ok(hp1_parse(signed_cose.data, signed_cose.len, &t) == HP1_OK, "the token parses%s", "");
	hp1_buf_free(&scratch);
	fail_after = 0;
	ok(!hp1_verify(&t, &scratch, pk) && scratch.failed, "hp1_verify is false with scratch->failed when scratch cannot grow%s", "");
	fail_after = -1;
	ok(hp1_verify(&t, &scratch, pk) && !scratch.failed, "hp1_verify checks once memory is back%s", "");

	fail_after = 0;
	ok(!hp1_deflate(signed_cose.data, signed_cose.len, &z) && z.failed, "hp1_deflate is false when its output cannot grow%s", "");
	fail_after = -1;
	ok(hp1_deflate(signed_cose.data, signed_cose.len, &z) && !z.failed && z.data[0] == 0x78,
	   "hp1_deflate compresses once memory is back%s", "");
	tlen = hp1_text_len(z.len);
	if (tlen >= sizeof(text))
		tlen = 0;
	hp1_text_write(z.data, z.len, text);

	fail_after = 0;
	ok(hp1_text_decode(text, tlen, &b45, &inflated, &cose, &cose_len) == HP1_ERR_MEMORY,
	   "hp1_text_decode reports HP1_ERR_MEMORY when base45 has no memory%s", "");
	fail_after = 1;
	ok(hp1_text_decode(text, tlen, &b45, &inflated, &cose, &cose_len) == HP1_ERR_MEMORY,
	   "hp1_text_decode reports HP1_ERR_MEMORY when inflate has no memory%s", "");
	fail_after = -1;
	ok(hp1_text_decode(text, tlen, &b45, &inflated, &cose, &cose_len) == HP1_OK &&
	   cose_len == signed_cose.len && memcmp(cose, signed_cose.data, cose_len) == 0,
	   "hp1_text_decode decodes once memory is back%s", "");
	ok(strstr(hp1_error_detail(HP1_ERR_MEMORY), "memory") != NULL,
	   "HP1_ERR_MEMORY has its own detail: %s", hp1_error_detail(HP1_ERR_MEMORY));

	hp1_buf_free(&prot);
	hp1_buf_free(&payload);
	hp1_buf_free(&signed_cose);
	hp1_buf_free(&scratch);
	hp1_buf_free(&z);
	hp1_buf_free(&b45);
	hp1_buf_free(&inflated);
}

static void
test_flips(const char *name, const char *token)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:a\x01";
	size_t		n = strlen(token);
	char	   *copy = strdup(token);
	int			accepted = 0,
				tried = 0;

	for (size_t i = 0; i < n; i++)
	{
		for (const char *c = alphabet; *c; c++)
		{
			if (*c == token[i])
				continue;
			copy[i] = *c;
			tried++;
			if (strcmp(Verdict(copy, n), "valid") == 0)
				accepted++;
		}
		copy[i] = token[i];
	}
	printf("# %s: %d changed tokens tried\n", name, tried);
	ok(accepted == 0, "no single-character change of %s is accepted", name);
	free(copy);
}

int
main(void)
{
	char		line[70000];

	if (sodium_init() < 0)
		return 1;
	hp1_set_allocator(TestAlloc, TestRealloc, free);
	test_base45();
	test_ed25519();
	test_cbor();
	test_inflate_limit();
	test_out_of_memory();
	while (fgets(line, sizeof(line), stdin))
	{
		char	   *tag = strtok(line, "\t");

		if (strcmp(tag, "key") == 0)
		{
			unhex(strtok(NULL, "\t\n"), keys[nkeys].kid);
			unhex(strtok(NULL, "\t\n"), keys[nkeys].pk);
			snprintf(keys[nkeys].iss, sizeof(keys[nkeys].iss), "%s", strtok(NULL, "\t\n"));
			nkeys++;
		}
		else if (strcmp(tag, "det") == 0)
			test_deterministic(line + 4);
		else if (strcmp(tag, "case") == 0)
		{
			char	   *name = strtok(NULL, "\t");
			char	   *expect = strtok(NULL, "\t");
			char	   *token = strtok(NULL, "\n");
			const char *got = Verdict(token, strlen(token));
			char		desc[200];

			snprintf(desc, sizeof(desc), "vector %s: %s (got %s)", name, expect, got);
			ok(strcmp(got, expect) == 0, "%s", desc);
			if (strcmp(expect, "valid") == 0)
				test_flips(name, token);
		}
	}
	printf("1..%d\n", test_no);
	return failures ? 1 : 0;
}
