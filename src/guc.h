/*
 * guc.h
 *	  healthpass's configuration parameters (guc.c).
 */
#ifndef HP_GUC_H
#define HP_GUC_H

/* healthpass.master_key_file: empty means the default file in the data directory */
extern char *hp_master_key_file;

/* healthpass.issuer: the iss claim this server writes */
extern char *hp_issuer;

/* healthpass.clock_skew: seconds of clock skew a verification allows */
extern int	hp_clock_skew;

/* healthpass.poster_font: the font file that draws PNG posters' text */
extern char *hp_poster_font;

/* the default poster font: WenQuanYi Micro Hei (Debian fonts-wqy-microhei) */
#define HP_DEFAULT_POSTER_FONT "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

/* the name of the default master key file in the data directory */
#define HP_DEFAULT_MASTER_KEY_NAME "healthpass_master.key"

/* defines the parameters; called by _PG_init */
extern void hp_guc_init(void);

#endif							/* HP_GUC_H */
