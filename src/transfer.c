/*
 * transfer.c
 *	  Sealing keys for cross-border transfers (seed 002: "codes recognised,
 *	  data not interconnected"; the transfer is encrypted all the way): an
 *	  X25519 key pair per database whose secret half is sealed under the
 *	  master key like a signing key, and libsodium's sealed boxes
 *	  (crypto_box_seal: an ephemeral X25519 key, XSalsa20-Poly1305) to close
 *	  a package to a destination's public key and to open one with ours.
 *
 * The secret half never reaches SQL: C makes a random seed, derives the key
 * pair, seals the seed under the master key and hands SQL the public key
 * and the sealed seed. Opening unseals the seed into sodium_malloc memory,
 * derives the secret key there, opens the box and wipes both.
 */
#include "postgres.h"

#include <sodium.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "hp1_codec.h"
#include "master_key.h"

/* the largest package a transfer carries (personal data, a few tests) */
#define HP_TRANSFER_MAX 65536

/* NoSecureMemory: raises when libsodium cannot allocate guarded memory */
static void
NoSecureMemory(void)
{
	ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
					errdetail("libsodium could not allocate guarded memory for the key.")));
}

/*
 * SecretKey: the X25519 secret key of a seed in sodium_malloc memory (and
 * its public key); the seed is freed whatever happens.
 */
static uint8 *
SecretKey(uint8 *seed, uint8 *pk)
{
	uint8	   *sk = sodium_malloc(crypto_box_SECRETKEYBYTES);

	if (sk != NULL)
		crypto_box_seed_keypair(pk, sk, seed);
	sodium_free(seed);
	if (sk == NULL)
		NoSecureMemory();
	return sk;
}

/* _sealing_key_material(): a new X25519 key pair, its seed sealed under the master key */
PG_FUNCTION_INFO_V1(hp_sealing_key_material);
Datum
hp_sealing_key_material(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	uint8	   *seed;
	uint8	   *sk;
	uint8		pk[crypto_box_PUBLICKEYBYTES];
	uint8		kid[HP1_KID_LEN];
	bytea	   *box = palloc(VARHDRSZ + HP_SEALED_SEED_LEN);
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	StaticAssertStmt(crypto_box_SEEDBYTES == 32, "an X25519 seed is 32 bytes");
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	seed = sodium_malloc(crypto_box_SEEDBYTES);
	sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	if (seed == NULL || sk == NULL)
	{
		if (seed != NULL)
			sodium_free(seed);
		if (sk != NULL)
			sodium_free(sk);
		NoSecureMemory();
	}
	randombytes_buf(seed, crypto_box_SEEDBYTES);
	crypto_box_seed_keypair(pk, sk, seed);
	sodium_free(sk);
	hp1_kid(pk, kid);
	SET_VARSIZE(box, VARHDRSZ + HP_SEALED_SEED_LEN);
	PG_TRY();
	{
		hp_seal_seed(kid, seed, (uint8 *) VARDATA(box));
	}
	PG_FINALLY();
	{
		sodium_free(seed);
	}
	PG_END_TRY();
	values[0] = PointerGetDatum(cstring_to_text_with_len((char *) kid, HP1_KID_LEN));
	values[1] = PointerGetDatum(cstring_to_text_with_len((char *) pk, crypto_box_PUBLICKEYBYTES));
	values[2] = PointerGetDatum(box);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(td), values, nulls)));
}

/* _seal_box(public_key, message): a sealed box only the key's owner opens */
PG_FUNCTION_INFO_V1(hp_seal_box);
Datum
hp_seal_box(PG_FUNCTION_ARGS)
{
	bytea	   *pk = PG_GETARG_BYTEA_PP(0);
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	size_t		mlen = VARSIZE_ANY_EXHDR(msg);
	bytea	   *out;

	if (VARSIZE_ANY_EXHDR(pk) != crypto_box_PUBLICKEYBYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sealing key of %zu bytes is not an X25519 public key", VARSIZE_ANY_EXHDR(pk)),
				 errdetail("An X25519 public key is 32 bytes.")));
	if (mlen > HP_TRANSFER_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("package of %zu bytes is too large to seal", mlen),
				 errdetail("A transfer package holds at most %d bytes.", HP_TRANSFER_MAX)));
	out = palloc(VARHDRSZ + crypto_box_SEALBYTES + mlen);
	SET_VARSIZE(out, VARHDRSZ + crypto_box_SEALBYTES + mlen);
	if (crypto_box_seal((uint8 *) VARDATA(out), (const uint8 *) VARDATA_ANY(msg), mlen,
						(const uint8 *) VARDATA_ANY(pk)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the package cannot be sealed to this key"),
				 errdetail("libsodium refused the public key (a low-order point).")));
	PG_RETURN_BYTEA_P(out);
}

/*
 * _open_box(kid, secret_box, sealed): the message of a sealed box made for
 * our key kid, or NULL when it does not open (another key, altered, not a
 * box). The sealed seed must belong to kid (the master key's associated
 * data), so a row cannot lend its secret to another kid.
 */
PG_FUNCTION_INFO_V1(hp_open_box);
Datum
hp_open_box(PG_FUNCTION_ARGS)
{
	bytea	   *kid = PG_GETARG_BYTEA_PP(0);
	bytea	   *sbox = PG_GETARG_BYTEA_PP(1);
	bytea	   *sealed = PG_GETARG_BYTEA_PP(2);
	size_t		slen = VARSIZE_ANY_EXHDR(sealed);
	uint8	   *seed;
	uint8	   *sk;
	uint8		pk[crypto_box_PUBLICKEYBYTES];
	uint8		derived_kid[HP1_KID_LEN];
	bytea	   *out;
	int			rc;

	if (VARSIZE_ANY_EXHDR(kid) != HP1_KID_LEN ||
		slen < crypto_box_SEALBYTES || slen > crypto_box_SEALBYTES + HP_TRANSFER_MAX)
		PG_RETURN_NULL();
	/* everything that may raise comes before the secret is live */
	out = palloc(VARHDRSZ + slen - crypto_box_SEALBYTES);
	seed = hp_unseal_seed((const uint8 *) VARDATA_ANY(kid), (const uint8 *) VARDATA_ANY(sbox),
						  VARSIZE_ANY_EXHDR(sbox));
	if (seed == NULL)
		PG_RETURN_NULL();
	sk = SecretKey(seed, pk);
	hp1_kid(pk, derived_kid);
	rc = sodium_memcmp(derived_kid, VARDATA_ANY(kid), HP1_KID_LEN) == 0
		? crypto_box_seal_open((uint8 *) VARDATA(out), (const uint8 *) VARDATA_ANY(sealed), slen, pk, sk)
		: -1;
	sodium_free(sk);
	if (rc != 0)
		PG_RETURN_NULL();
	SET_VARSIZE(out, VARHDRSZ + slen - crypto_box_SEALBYTES);
	PG_RETURN_BYTEA_P(out);
}
