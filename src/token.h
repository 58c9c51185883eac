/*
 * token.h
 *	  What token.c shares with pass.c and base45.c: the CBOR -> jsonb
 *	  bridge, quoting a token for a message, and token times.
 */
#ifndef HP_TOKEN_H
#define HP_TOKEN_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "hp1_codec.h"

/* seconds between 1970-01-01 and 2000-01-01 */
#define HP_UNIX_TO_PG_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

extern Jsonb *hp_cbor_to_jsonb(const uint8 *body, size_t len);
extern char *hp_quote_token(const char *s, size_t len);
extern TimestampTz hp_unix_to_timestamptz(uint64 secs);

#endif							/* HP_TOKEN_H */
