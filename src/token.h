/*
 * token.h
 *	  Server-side HP1 declarations shared by keys.c, token.c, pass.c and
 *	  base45.c: GUCs, the per-backend key and revocation caches, signing,
 *	  and the CBOR <-> jsonb bridges.
 */
#ifndef HP_TOKEN_H
#define HP_TOKEN_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "hp1_codec.h"

/* GUCs */
extern char *hp_master_key_file;
extern char *hp_issuer;
extern int	hp_clock_skew;

/* one trusted public key (local or imported), as cached per backend */
typedef struct HpKey
{
	uint8		kid[HP1_KID_LEN];
	uint8		pk[32];
	TimestampTz not_before;
	TimestampTz not_after;
	char		status;			/* 'a' active, 'r' retired, 'x' revoked */
	bool		local;			/* ours: has an encrypted secret key */
	int64		key_id;
	bytea	   *secret_box;		/* nonce || XChaCha20-Poly1305(seed), local keys */
	char	   *issuer;			/* imported keys: the issuer the key was published
								 * under (own keys belong to healthpass.issuer) */
} HpKey;

/* a decrypted signing key, valid until the key cache is invalidated */
typedef struct HpSigner
{
	uint8		kid[HP1_KID_LEN];
	const uint8 *sk;			/* 64 bytes in sodium_malloc memory */
	uint8		prot[32];		/* encoded protected header */
	size_t		prot_len;
} HpSigner;

/* seconds between 1970-01-01 and 2000-01-01 */
#define HP_UNIX_TO_PG_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

extern void hp_token_init(void);
extern int	hp_keys_lookup(const uint8 *kid, size_t kid_len, const HpKey **first);
extern bool hp_token_is_revoked(const uint8 *cti);
extern const HpSigner *hp_signer_active(TimestampTz now);
extern const HpSigner *hp_signer_for_kid(const uint8 *kid, size_t kid_len);

/* per-backend scratch buffers (TopMemoryContext) */
extern HpBuf *hp_scratch(int i);

extern Jsonb *hp_cbor_to_jsonb(const uint8 *body, size_t len);
extern char *hp_quote_token(const char *s, size_t len);
extern const char *hp_key_issuer(const HpKey *k);
extern TimestampTz hp_unix_to_timestamptz(uint64 secs);

#endif							/* HP_TOKEN_H */
