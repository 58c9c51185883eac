/*
 * 20_token_raw.c: the raw baseline of test/bench/20_token.sh: a loop of
 * libsodium crypto_sign_detached or crypto_sign_verify_detached over a
 * message as long as an HP1 Sig_structure. Prints nanoseconds per call.
 * usage: 20_token_raw sign|verify N MSG_LEN
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zlib.h>

int
main(int argc, char **argv)
{
	unsigned char pk[32],
				sk[64],
				sig[64];
	unsigned char *msg;
	long		n,
				len,
				i,
				good = 0;
	struct timespec t0,
				t1;

	if (argc != 4 || sodium_init() < 0)
		return 2;
	n = atol(argv[2]);
	len = atol(argv[3]);
	msg = malloc(len);
	randombytes_buf(msg, len);
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, msg, len, sk);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (strcmp(argv[1], "sign") == 0)
		for (i = 0; i < n; i++)
		{
			msg[i % len] ^= 1;	/* a different message each time, like tokens */
			crypto_sign_detached(sig, NULL, msg, len, sk);
			good += sig[0] & 1;
		}
	else if (strcmp(argv[1], "signzip") == 0)
	{
		z_stream	z;
		unsigned char out[4096];

		memset(&z, 0, sizeof(z));
		deflateInit2(&z, 9, Z_DEFLATED, 15, 3, Z_DEFAULT_STRATEGY);
		for (i = 0; i < n; i++)
		{
			msg[i % len] ^= 1;
			crypto_sign_detached(sig, NULL, msg, len, sk);
			memcpy(msg + len - 64, sig, 64);	/* the COSE ends with the signature */
			deflateReset(&z);
			z.next_in = msg;
			z.avail_in = len;
			z.next_out = out;
			z.avail_out = sizeof(out);
			deflate(&z, Z_FINISH);
			good += out[0] & 1;
		}
	}
	else
	{
		/* n different signed messages, like n different tokens */
		unsigned char *msgs = malloc(n * len);
		unsigned char *sigs = malloc(n * 64);

		for (i = 0; i < n; i++)
		{
			randombytes_buf(msgs + i * len, len);
			crypto_sign_detached(sigs + i * 64, NULL, msgs + i * len, len, sk);
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < n; i++)
			good += crypto_sign_verify_detached(sigs + i * 64, msgs + i * len, len, pk) == 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
	fprintf(stderr, "%ld\n", good);
	return 0;
}
