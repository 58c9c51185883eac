/*
 * master_key.h
 *	  The master key and the seeds sealed under it (master_key.c).
 */
#ifndef HP_MASTER_KEY_H
#define HP_MASTER_KEY_H

#include "postgres.h"

/*
 * bytes of a sealed seed (signing_key.secret_box for Ed25519, sealing_key
 * for X25519): a 24-byte nonce,
 * then XChaCha20-Poly1305 of the 32-byte seed with its 16-byte tag
 */
#define HP_SEALED_SEED_LEN 72

/*
 * the seed in a sealed box, in sodium_malloc memory (free it with
 * sodium_free), or NULL when the box does not open under the master key
 * for this kid; raises when the master key file cannot be read
 */
extern uint8 *hp_unseal_seed(const uint8 *kid, const uint8 *box, size_t box_len);

/* seals a 32-byte seed for kid into box (HP_SEALED_SEED_LEN bytes) */
extern void hp_seal_seed(const uint8 *kid, const uint8 *seed, uint8 *box);

#endif							/* HP_MASTER_KEY_H */
