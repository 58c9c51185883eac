/*
 * hp1_codec.h
 *	  The HP1 wire format without PostgreSQL: base45 (RFC 9285), strict
 *	  CBOR (RFC 8949), COSE_Sign1 with Ed25519 (RFC 9052, RFC 8032) and the
 *	  zlib layer. hp1_base45.c, hp1_cbor.c and hp1_cose.c include only the C
 *	  library, libsodium and zlib, so test/scripts/20_token_codec.sh links
 *	  them into a stand-alone unit test.
 */
#ifndef HP1_CODEC_H
#define HP1_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* growable byte buffer; cxt is the owner's memory context (opaque here) */
typedef struct HpBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	void	   *cxt;
} HpBuf;

/*
 * Provided by the program that links the codecs: grows b->data to at least
 * newcap bytes, keeping its contents (palloc/repalloc in the server,
 * realloc in the unit test). Never returns without memory.
 */
extern void hp_buf_grow(HpBuf *b, size_t newcap);

extern void hp_buf_reserve(HpBuf *b, size_t extra);
extern void hp_buf_append(HpBuf *b, const void *p, size_t n);

/* ---- base45 (RFC 9285) ---- */
extern size_t hp_base45_encoded_len(size_t n);
extern void hp_base45_encode(const uint8_t *in, size_t n, char *out);
extern size_t hp_base45_decoded_max(size_t n);
extern bool hp_base45_decode(const char *in, size_t n, uint8_t *out, size_t *outlen);

/* ---- CBOR ---- */
#define HP_CBOR_UINT	0
#define HP_CBOR_NINT	1
#define HP_CBOR_BYTES	2
#define HP_CBOR_TEXT	3
#define HP_CBOR_ARRAY	4
#define HP_CBOR_MAP		5
#define HP_CBOR_TAG		6
#define HP_CBOR_SIMPLE	7

/* deepest nesting of arrays and maps accepted inside a body */
#define HP_CBOR_MAX_DEPTH 16

extern void hp_cbor_head(HpBuf *b, int major, uint64_t v);
extern void hp_cbor_int(HpBuf *b, int64_t v);
extern void hp_cbor_bytes(HpBuf *b, const uint8_t *p, size_t n);
extern void hp_cbor_text(HpBuf *b, const char *p, size_t n);
extern void hp_cbor_double(HpBuf *b, double d);

/* one decoded item head */
typedef struct HpCborHead
{
	int			major;			/* 0..7 */
	int			info;			/* additional information, 0..27 */
	uint64_t	val;			/* argument: value, length, count, tag, bits */
	const uint8_t *start;		/* first byte of the head */
	const uint8_t *ptr;			/* string contents (major 2, 3) */
} HpCborHead;

extern bool hp_cbor_read_head(const uint8_t **pp, const uint8_t *end, HpCborHead *h);
extern double hp_cbor_float_value(const HpCborHead *h);
extern bool hp_utf8_valid(const uint8_t *p, size_t n);
extern bool hp_cbor_check_value(const uint8_t **pp, const uint8_t *end, int depth);

/* ---- COSE_Sign1 / HP1 ---- */
#define HP1_KID_LEN		8
#define HP1_CTI_LEN		16
#define HP1_SIG_LEN		64
#define HP1_PREFIX		"HP1:"
#define HP1_PREFIX_LEN	4
/* largest COSE_Sign1 accepted (decompressed), against zip bombs */
#define HP1_MAX_COSE	65536
/* CWT claim key of the body (private use) */
#define HP1_BODY_CLAIM	(-65537)

typedef enum Hp1Error
{
	HP1_OK = 0,
	HP1_ERR_PREFIX,				/* missing or wrong "HP1:" prefix */
	HP1_ERR_BASE45,				/* not base45 */
	HP1_ERR_ZLIB,				/* damaged zlib stream */
	HP1_ERR_SIZE,				/* too large */
	HP1_ERR_CBOR				/* not an HP1 COSE_Sign1 */
} Hp1Error;

/* a parsed COSE_Sign1: pointers into the bytes it was parsed from */
typedef struct Hp1Token
{
	const uint8_t *protected_hdr;	/* contents of the protected bstr */
	size_t		protected_len;
	const uint8_t *kid;
	size_t		kid_len;
	const uint8_t *payload;		/* contents of the payload bstr */
	size_t		payload_len;
	const uint8_t *sig;			/* 64 bytes */
	const char *iss;
	size_t		iss_len;
	uint64_t	iat;
	uint64_t	exp;
	const uint8_t *cti;			/* 16 bytes */
	const uint8_t *body;		/* encoded body map */
	size_t		body_len;
	const char *kind;			/* the body's "k" */
	size_t		kind_len;
} Hp1Token;

extern const char *hp1_error_detail(Hp1Error e);
extern void hp1_ed25519_keypair(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64]);
extern void hp1_ed25519_sign(const uint8_t sk[64], const uint8_t *msg, size_t len,
							 uint8_t sig[HP1_SIG_LEN]);
extern bool hp1_ed25519_verify(const uint8_t pk[32], const uint8_t *msg, size_t len,
							   const uint8_t sig[HP1_SIG_LEN]);
extern void hp1_kid(const uint8_t pk[32], uint8_t kid[HP1_KID_LEN]);
extern void hp1_protected(HpBuf *b, const uint8_t *kid, size_t kid_len);
extern void hp1_claims_head(HpBuf *b, const char *iss, size_t iss_len,
							uint64_t iat, uint64_t exp, const uint8_t cti[HP1_CTI_LEN]);
extern void hp1_sig_structure(HpBuf *b, const uint8_t *prot, size_t prot_len,
							  const uint8_t *payload, size_t payload_len);
extern void hp1_sign(HpBuf *cose, HpBuf *scratch, const uint8_t sk[64],
					 const uint8_t *prot, size_t prot_len,
					 const uint8_t *payload, size_t payload_len);
extern bool hp1_verify(const Hp1Token *t, HpBuf *scratch, const uint8_t pk[32]);
extern Hp1Error hp1_parse(const uint8_t *cose, size_t n, Hp1Token *t);
extern bool hp1_deflate(const uint8_t *in, size_t n, HpBuf *out);
extern Hp1Error hp1_inflate(const uint8_t *in, size_t n, HpBuf *out);
extern Hp1Error hp1_text_decode(const char *text, size_t n, HpBuf *b45, HpBuf *inflated,
								const uint8_t **cose, size_t *cose_len);
extern size_t hp1_text_len(size_t zlib_len);
extern void hp1_text_write(const uint8_t *zlib, size_t zlib_len, char *out);

#endif							/* HP1_CODEC_H */
