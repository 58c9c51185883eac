/*
 * healthpass.c
 *	  Module entry point: the magic block, start-up (_PG_init: libsodium, the
 *	  codec's allocator, the GUCs, the key cache's callbacks) and version().
 */
#include "postgres.h"

#include <sodium.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "codec_memory.h"
#include "guc.h"
#include "healthpass.h"
#include "key_cache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* _PG_init: start every concern once per backend; no preload is needed. */
void
_PG_init(void)
{
	if (sodium_init() < 0)
		elog(ERROR, "libsodium could not be initialised");
	hp_codec_memory_init();
	hp_guc_init();
	hp_key_cache_init();
}

/* version(): the extension's version, from healthpass.control */
PG_FUNCTION_INFO_V1(healthpass_version);
Datum
healthpass_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(HEALTHPASS_VERSION));
}
