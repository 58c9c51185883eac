/*
 * guc.c
 *	  healthpass's configuration parameters (GUCs): their registration, their
 *	  check hooks and the C variables the rest of the extension reads.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "guc.h"

char	   *hp_master_key_file = NULL;
char	   *hp_issuer = NULL;
int			hp_clock_skew = 300;
char	   *hp_poster_font = NULL;

/* CheckIssuer: GUC check hook of healthpass.issuer */
static bool
CheckIssuer(char **newval, void **extra, GucSource source)
{
	size_t		n = strlen(*newval);

	if (n == 0 || n > 64)
	{
		GUC_check_errdetail("An issuer is 1 to 64 bytes long.");
		return false;
	}
	return true;
}

/* hp_guc_init: defines every healthpass.* parameter; called by _PG_init */
void
hp_guc_init(void)
{
	DefineCustomStringVariable("healthpass.master_key_file",
							   "File holding the 32-byte master key that encrypts healthpass signing keys.",
							   "Empty means " HP_DEFAULT_MASTER_KEY_NAME " in the data directory, created on first use.",
							   &hp_master_key_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("healthpass.issuer",
							   "Issuing authority written into the iss claim of HP1 tokens.",
							   NULL, &hp_issuer, "CN-44", PGC_SUSET, 0,
							   CheckIssuer, NULL, NULL);
	DefineCustomIntVariable("healthpass.clock_skew",
							"Clock skew allowed when verifying HP1 tokens.",
							NULL, &hp_clock_skew, 300, 0, 86400, PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomStringVariable("healthpass.poster_font",
							   "Font file (TrueType or OpenType, first face of a collection) that draws the text of PNG posters.",
							   "The default is WenQuanYi Micro Hei, Debian package fonts-wqy-microhei.",
							   &hp_poster_font, HP_DEFAULT_POSTER_FONT, PGC_SUSET, 0,
							   NULL, NULL, NULL);
}
