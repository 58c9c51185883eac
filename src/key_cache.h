/*
 * key_cache.h
 *	  The per-backend key, revocation and signer caches (key_cache.c).
 */
#ifndef HP_KEY_CACHE_H
#define HP_KEY_CACHE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "hp1_codec.h"

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

/* registers the invalidation callback and the wipe at exit; called by _PG_init */
extern void hp_key_cache_init(void);

/* the cached keys with this kid: their count, the first in *first */
extern int	hp_keys_lookup(const uint8 *kid, size_t kid_len, const HpKey **first);

/* the issuer a key vouches for */
extern const char *hp_key_issuer(const HpKey *k);

/* whether a token id is on the revocation list */
extern bool hp_token_is_revoked(const uint8 *cti);

/* the active local signing key, decrypted (made on first use) */
extern const HpSigner *hp_signer_active(TimestampTz now);

/* a local, unrevoked signing key by kid, decrypted */
extern const HpSigner *hp_signer_for_kid(const uint8 *kid, size_t kid_len);

#endif							/* HP_KEY_CACHE_H */
