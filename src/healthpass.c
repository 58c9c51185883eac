/*
 * healthpass.c
 *	  Module entry point: the magic block, start-up (GUCs) and version.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "healthpass.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* _PG_init: register every concern's GUCs; no preload is needed. */
void
_PG_init(void)
{
	hp_token_init();
}

/* version(): the extension's version, from healthpass.control */
PG_FUNCTION_INFO_V1(healthpass_version);
Datum
healthpass_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(HEALTHPASS_VERSION));
}
