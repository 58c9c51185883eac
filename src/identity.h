/*
 * identity.h
 *	  Identity documents: the shared validators behind normalize_document()
 *	  and the cn_resident_id type.
 *
 * Every validator works on UTF-8 text and reports a problem as a detail
 * sentence (palloc'd, UTF-8) instead of raising, so the type's input can
 * turn it into a soft error and the SQL functions into a hard one.
 */
#ifndef HP_IDENTITY_H
#define HP_IDENTITY_H

#include "postgres.h"

#include "quote.h"

/* longest canonical form of any kind, in bytes, without the NUL */
#define HP_DOC_MAXLEN 32

/* the document kinds, in the order document_kinds() lists them */
typedef enum HpDocKind
{
	HP_DOC_CN_RESIDENT_ID,
	HP_DOC_HKID,
	HP_DOC_MACAU_ID,
	HP_DOC_HOME_RETURN_PERMIT,
	HP_DOC_HK_MACAU_PERMIT,
	HP_DOC_CN_PASSPORT,
	HP_DOC_PASSPORT,			/* any other country's passport */
	HP_DOC_USCC,
	HP_DOC_ORG_CODE,
	HP_DOC_PLATE,
	HP_DOC_NKINDS
} HpDocKind;

/* kind name as used in SQL ("hkid"), or NULL when out of range */
extern const char *hp_doc_kind_name(int kind);

/* kind by SQL name; -1 when unknown */
extern int	hp_doc_kind_lookup(const char *name, int len);

/*
 * Validate a number typed by a person (UTF-8, any case, full-width forms,
 * separators): writes the canonical form into out (HP_DOC_MAXLEN + 1
 * bytes) and returns NULL, or returns the detail sentence.
 */
extern char *hp_doc_normalize(int kind, const char *in, int len, char *out);

/*
 * Parse a resident ID number that is already plain ASCII (18 characters,
 * lower-case x allowed, or 15 digits): stores the first 17 digits as an
 * integer in *value and returns NULL, or returns the detail sentence.
 */
extern char *hp_resident_id_parse(const char *s, int len, int64 *value);

/* the ISO 7064 MOD 11-2 check character of the 17-digit value */
extern char hp_resident_id_check_char(int64 value);

/* write the canonical 18-character form of value into out (19 bytes) */
extern void hp_resident_id_format(int64 value, char *out);

/* the masked form 4401**********123X of a stored value */
extern char *hp_mask_resident_id(int64 value);

/* a UTF-8 detail converted to the database encoding for ereport */
extern char *hp_detail_to_server(const char *detail);

#endif							/* HP_IDENTITY_H */
