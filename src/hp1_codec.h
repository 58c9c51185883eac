/*
 * hp1_codec.h
 *	  The HP1 wire format without PostgreSQL: base45 (RFC 9285), strict
 *	  CBOR (RFC 8949), COSE_Sign1 with Ed25519 (RFC 9052, RFC 8032) and the
 *	  zlib layer. The codec files (src/hp1_*.c) include only the C library,
 *	  libsodium and zlib, and call nothing of the extension: memory comes
 *	  through an injected allocator (hp1_set_allocator), so they link alone
 *	  into the unit test (test/scripts/20_token_codec.sh) and the fuzzer
 *	  (test/fuzz/run-fuzz.sh). Every exported name starts with hp1_ (types
 *	  Hp1, macros HP1_).
 *
 *	  zlib keeps one deflate and one inflate stream per process, allocated by
 *	  zlib itself (malloc) and kept for the process's life; libsodium manages
 *	  its own memory too.
 */
#ifndef HP1_CODEC_H
#define HP1_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory (hp1_buf.c) ---- */

/*
 * The codec allocates through three functions that the program linking it
 * installs once, before any other hp1_ call, with hp1_set_allocator() (the
 * way PostGIS's liblwgeom takes lwalloc/lwrealloc/lwfree): the extension
 * installs palloc-backed ones in _PG_init (src/codec_memory.c), the unit
 * test and the fuzzer malloc-backed ones. Until then every allocation fails.
 *
 * alloc gets the buffer's cxt (opaque here: a memory context in the server,
 * unused by malloc). alloc and realloc return the memory, or NULL when there
 * is none; the palloc-backed ones raise an ERROR instead and never return
 * NULL. free takes what alloc or realloc returned.
 */
typedef void *(*Hp1AllocFn) (size_t size, void *cxt);
typedef void *(*Hp1ReallocFn) (void *ptr, size_t size);
typedef void (*Hp1FreeFn) (void *ptr);

extern void hp1_set_allocator(Hp1AllocFn alloc, Hp1ReallocFn realloc_fn, Hp1FreeFn free_fn);

/*
 * A growable byte buffer; {0} is an empty one. When the allocator returns
 * NULL the buffer keeps what it had and is marked failed: every later write
 * to it is skipped, the functions that fill it report the failure
 * (hp1_deflate and hp1_sign false, hp1_inflate and hp1_text_decode
 * HP1_ERR_MEMORY, hp1_verify false with scratch->failed set), and
 * hp1_buf_reset() clears the mark. Only malloc-backed programs see it.
 */
typedef struct Hp1Buf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	void	   *cxt;			/* passed to the allocator (opaque here) */
	bool		failed;			/* an allocation failed: contents incomplete */
} Hp1Buf;

/* room for extra more bytes; false (and b->failed) when there is none */
extern bool hp1_buf_reserve(Hp1Buf *b, size_t extra);
extern void hp1_buf_append(Hp1Buf *b, const void *p, size_t n);
/* empty again (keeps the memory), and no longer failed */
extern void hp1_buf_reset(Hp1Buf *b);
/* gives the memory back to the allocator; the buffer is {0} but for cxt */
extern void hp1_buf_free(Hp1Buf *b);

/* ---- base45 (RFC 9285) ---- */
extern size_t hp1_base45_encoded_len(size_t n);
extern void hp1_base45_encode(const uint8_t *in, size_t n, char *out);
extern size_t hp1_base45_decoded_max(size_t n);
extern bool hp1_base45_decode(const char *in, size_t n, uint8_t *out, size_t *outlen);

/* ---- CBOR ---- */
#define HP1_CBOR_UINT	0
#define HP1_CBOR_NINT	1
#define HP1_CBOR_BYTES	2
#define HP1_CBOR_TEXT	3
#define HP1_CBOR_ARRAY	4
#define HP1_CBOR_MAP		5
#define HP1_CBOR_TAG		6
#define HP1_CBOR_SIMPLE	7

/* deepest nesting of arrays and maps accepted inside a body */
#define HP1_CBOR_MAX_DEPTH 16

extern void hp1_cbor_head(Hp1Buf *b, int major, uint64_t v);
extern void hp1_cbor_int(Hp1Buf *b, int64_t v);
extern void hp1_cbor_bytes(Hp1Buf *b, const uint8_t *p, size_t n);
extern void hp1_cbor_text(Hp1Buf *b, const char *p, size_t n);
extern void hp1_cbor_double(Hp1Buf *b, double d);

/* one decoded item head */
typedef struct Hp1CborHead
{
	int			major;			/* 0..7 */
	int			info;			/* additional information, 0..27 */
	uint64_t	val;			/* argument: value, length, count, tag, bits */
	const uint8_t *start;		/* first byte of the head */
	const uint8_t *ptr;			/* string contents (major 2, 3) */
} Hp1CborHead;

extern bool hp1_cbor_read_head(const uint8_t **pp, const uint8_t *end, Hp1CborHead *h);
/* RFC 8949 as other issuers write it: any head length, indefinite arrays and maps */
extern bool hp1_cbor_read_head_lax(const uint8_t **pp, const uint8_t *end, Hp1CborHead *h);
extern double hp1_cbor_float_value(const Hp1CborHead *h);
extern bool hp1_utf8_valid(const uint8_t *p, size_t n);
extern bool hp1_cbor_check_value(const uint8_t **pp, const uint8_t *end, int depth);

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
	HP1_ERR_CBOR,				/* not an HP1 COSE_Sign1 */
	HP1_ERR_MEMORY				/* the allocator returned NULL (never in the
								 * server, whose allocator raises) */
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
extern void hp1_protected(Hp1Buf *b, const uint8_t *kid, size_t kid_len);
extern void hp1_claims_head(Hp1Buf *b, const char *iss, size_t iss_len,
							uint64_t iat, uint64_t exp, const uint8_t cti[HP1_CTI_LEN]);
extern void hp1_sig_structure(Hp1Buf *b, const uint8_t *prot, size_t prot_len,
							  const uint8_t *payload, size_t payload_len);
extern bool hp1_sign(Hp1Buf *cose, Hp1Buf *scratch, const uint8_t sk[64],
					 const uint8_t *prot, size_t prot_len,
					 const uint8_t *payload, size_t payload_len);
extern bool hp1_verify(const Hp1Token *t, Hp1Buf *scratch, const uint8_t pk[32]);
extern Hp1Error hp1_parse(const uint8_t *cose, size_t n, Hp1Token *t);
extern bool hp1_deflate(const uint8_t *in, size_t n, Hp1Buf *out);
extern Hp1Error hp1_inflate(const uint8_t *in, size_t n, Hp1Buf *out);
extern Hp1Error hp1_text_decode(const char *text, size_t n, Hp1Buf *b45, Hp1Buf *inflated,
								const uint8_t **cose, size_t *cose_len);
extern size_t hp1_text_len(size_t zlib_len);
extern void hp1_text_write(const uint8_t *zlib, size_t zlib_len, char *out);

#endif							/* HP1_CODEC_H */
