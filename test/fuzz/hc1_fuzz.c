/*
 * hc1_fuzz.c
 *	  libFuzzer target for the HC1 (EU DCC) decoding path (src/hc1_codec.c
 *	  over the HP1 codec's base45, inflate and CBOR readers): what
 *	  verify_hc1() runs on another issuer's certificate text before any
 *	  signature is checked. Built from the PostgreSQL-free files alone, with
 *	  malloc installed as the codec's allocator.
 *
 *	  Every input goes three ways: as certificate text (hc1_text_decode,
 *	  then hc1_parse of the COSE bytes it inflated to), as COSE bytes
 *	  (hc1_parse) and as one CBOR value (hc1_check_value). Every decoded
 *	  layer is copied into a buffer of its exact size first, so
 *	  AddressSanitizer sees any read past the end. Properties (abort() when
 *	  one fails): a parsed certificate's pointers (protected header, payload,
 *	  signature, kid, issuer, hcert) lie inside the bytes parsed; a value
 *	  hc1_check_value accepts ends inside the input; the text layers agree
 *	  with parsing their own output again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc1.h"

static void
Fail(const char *what, int line)
{
	fprintf(stderr, "hc1_fuzz: property failed at line %d: %s\n", line, what);
	abort();
}

static void *
FuzzAlloc(size_t size, void *cxt)
{
	void	   *p = malloc(size ? size : 1);

	(void) cxt;
	if (p == NULL)
		Fail("out of memory", __LINE__);
	return p;
}

static void *
FuzzRealloc(void *old, size_t size)
{
	void	   *p = realloc(old, size ? size : 1);

	if (p == NULL)
		Fail("out of memory", __LINE__);
	return p;
}

static void
FuzzFree(void *p)
{
	free(p);
}

/* Inside: [p, p + n) lies within [base, base + len) (or p is NULL, n 0) */
static int
Inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
	const uint8_t *q = p;

	if (q == NULL)
		return n == 0;
	return q >= base && n <= len && q <= base + len - n;
}

/* CheckParsed: hc1_parse on an exact-size copy; every pointer inside it */
static void
CheckParsed(const uint8_t *bytes, size_t n)
{
	uint8_t    *copy = malloc(n ? n : 1);
	Hc1Cert		c;

	if (copy == NULL)
		Fail("out of memory", __LINE__);
	memcpy(copy, bytes, n);
	memset(&c, 0, sizeof(c));
	if (hc1_parse(copy, n, &c) == HC1_OK)
	{
		if (!Inside(c.protected_hdr, c.protected_len, copy, n) ||
			!Inside(c.payload, c.payload_len, copy, n) ||
			!Inside(c.sig, c.sig_len, copy, n) ||
			!Inside(c.kid, c.kid_len, copy, n) ||
			!Inside(c.iss, c.iss_len, copy, n) ||
			!Inside(c.dcc, c.dcc_len, copy, n))
			Fail("a parsed certificate points outside its bytes", __LINE__);
		if (c.sig_len > HC1_MAX_SIG || c.kid_len > HC1_MAX_KID)
			Fail("a signature or kid over its limit was accepted", __LINE__);
		/* parsing the same bytes again gives the same answer */
		{
			Hc1Cert		again;

			memset(&again, 0, sizeof(again));
			if (hc1_parse(copy, n, &again) != HC1_OK || again.payload != c.payload ||
				again.sig_len != c.sig_len || again.alg != c.alg || again.exp != c.exp)
				Fail("parsing is not deterministic", __LINE__);
		}
	}
	free(copy);
}

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	hp1_set_allocator(FuzzAlloc, FuzzRealloc, FuzzFree);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size ? size : 1);
	Hp1Buf		b45 = {0},
				inflated = {0};
	const uint8_t *cose = NULL;
	size_t		cose_len = 0;
	uint8_t    *raw;
	const uint8_t *p;

	if (text == NULL)
		Fail("out of memory", __LINE__);
	memcpy(text, data, size);

	/* 1. certificate text */
	if (hc1_text_decode(text, size, &b45, &inflated, &cose, &cose_len) == HC1_OK)
	{
		if (!Inside(cose, cose_len, inflated.data, inflated.len))
			Fail("the COSE bytes lie outside the inflated buffer", __LINE__);
		CheckParsed(cose, cose_len);
	}
	hp1_buf_free(&b45);
	hp1_buf_free(&inflated);
	free(text);

	/* 2. COSE bytes, and 3. one CBOR value */
	CheckParsed(data, size);
	raw = malloc(size ? size : 1);
	if (raw == NULL)
		Fail("out of memory", __LINE__);
	memcpy(raw, data, size);
	p = raw;
	if (hc1_check_value(&p, raw + size, 0) && !(p > raw && p <= raw + size))
		Fail("an accepted CBOR value ends outside the input", __LINE__);
	free(raw);
	return 0;
}
