/*
 * hc1.h
 *	  EU Digital COVID Certificates ("HC1:") without PostgreSQL: the text
 *	  layers (prefix, base45, zlib), the COSE_Sign1 structure (optionally in
 *	  a CWT tag 61), its headers, the CWT claims and the hcert payload,
 *	  read from the bytes of another issuer (src/hc1_codec.c). It reuses
 *	  the HP1 codec's base45 decoder, strict inflate (with its 65536-byte
 *	  output limit) and CBOR head reader (its RFC 8949 form, lax heads), and
 *	  includes only the C library and hp1_codec.h, so it links alone like
 *	  the HP1 codec. The signature itself (ES256, PS256 with OpenSSL) and
 *	  the jsonb of the payload are the server's side (src/hc1.c).
 */
#ifndef HC1_H
#define HC1_H

#include "hp1_codec.h"

#define HC1_PREFIX		"HC1:"
#define HC1_PREFIX_LEN	4
/* longest certificate text read: a QR code holds at most 4296 characters */
#define HC1_MAX_TEXT	8192
/* longest kid and signature read (an RSA-8192 signature is 1024 bytes) */
#define HC1_MAX_KID		64
#define HC1_MAX_SIG		1024
/* deepest nesting of arrays, maps and tags read in the CWT claims */
#define HC1_MAX_DEPTH	16
/* most entries of one map checked for duplicate keys */
#define HC1_MAX_MAP		256

/* COSE algorithm identifiers (RFC 9053) */
#define HC1_ALG_ES256	(-7)
#define HC1_ALG_PS256	(-37)

/* CWT claim keys (RFC 8392) and the hcert claim of the EU DCC */
#define HC1_CLAIM_ISS	1
#define HC1_CLAIM_EXP	4
#define HC1_CLAIM_IAT	6
#define HC1_CLAIM_HCERT	(-260)

typedef enum Hc1Error
{
	HC1_OK = 0,
	HC1_ERR_PREFIX,				/* not "HC1:" */
	HC1_ERR_BASE45,				/* not base45 */
	HC1_ERR_NOT_COMPRESSED,		/* the bytes are not a zlib stream */
	HC1_ERR_MALFORMED,			/* longer than HC1_MAX_TEXT, damaged zlib, inflating
								 * past 65536 bytes, not the CBOR/COSE an HC1 is */
	HC1_ERR_MEMORY				/* the allocator returned NULL (never in the server) */
} Hc1Error;

/* a parsed HC1: pointers into the COSE bytes it was parsed from */
typedef struct Hc1Cert
{
	const uint8_t *protected_hdr;	/* contents of the protected bstr */
	size_t		protected_len;
	const uint8_t *payload;		/* contents of the payload bstr (the CWT claims) */
	size_t		payload_len;
	const uint8_t *sig;
	size_t		sig_len;
	const uint8_t *kid;			/* from the protected header, else the unprotected one */
	size_t		kid_len;
	bool		kid_protected;
	int64_t		alg;			/* from the protected header, else the unprotected one */
	const char *iss;			/* claim 1, NULL when absent (not verified against anything) */
	size_t		iss_len;
	uint64_t	iat;			/* claim 6, seconds since 1970 */
	uint64_t	exp;			/* claim 4 */
	const uint8_t *dcc;			/* hcert (claim -260) key 1: the certificate's map */
	size_t		dcc_len;
} Hc1Cert;

/*
 * hc1_text_decode: "HC1:" + base45 + zlib to COSE bytes, which end up in
 * inflated (*cose points into it); b45 holds the compressed bytes.
 */
extern Hc1Error hc1_text_decode(const char *text, size_t n, Hp1Buf *b45, Hp1Buf *inflated,
								const uint8_t **cose, size_t *cose_len);

/* hc1_parse: a COSE_Sign1 (tag 61 and tag 18 optional) with the claims an HC1 has */
extern Hc1Error hc1_parse(const uint8_t *cose, size_t n, Hc1Cert *c);

/*
 * hc1_check_value: steps over one CBOR value as hc1_parse accepts it
 * (well formed, UTF-8 text, finite floats, map keys integers or text
 * without duplicates, at most HC1_MAX_DEPTH deep); the server turns such a
 * value into jsonb without further checks.
 */
extern bool hc1_check_value(const uint8_t **pp, const uint8_t *end, int depth);

/* hc1_error_name: the reason verify_hc1 gives for a decoding error */
extern const char *hc1_error_name(Hc1Error e);

#endif							/* HC1_H */
