/*
 * qr.h
 *	  What qr.c shares with the other image makers (poster.c): the QR
 *	  encoder, the option checks and the PNG writer.
 */
#ifndef HP_QR_H
#define HP_QR_H

#include "postgres.h"

#include <qrencode.h>

/* sane range of the module size in pixels (documented in doc/qr.md) */
#define HP_QR_MODULE_PX_MIN 1
#define HP_QR_MODULE_PX_MAX 64

/* a QR symbol: size x size modules, row major, 1 = dark */
typedef struct HpQrMatrix
{
	int			size;
	uint8	   *dark;
} HpQrMatrix;

/* 'L', 'M', 'Q' or 'H' (either case) to libqrencode's level, else 22023 */
extern QRecLevel HpQrParseLevel(text *level);

/* an integer option must lie in [lo, hi], else 22023 naming it */
extern void HpQrCheckRange(const char *opt, int32 value, int lo, int hi, const char *what);

/* the QR symbol of data at level, in the smallest version, palloc'd */
extern void HpQrEncode(text *data, QRecLevel level, HpQrMatrix *m);

/*
 * HpPngGrey: a greyscale PNG of width x height pixels, bit_depth 1 (rows
 * of (width + 7) / 8 bytes, most significant bit first, 1 = white) or 8
 * (rows of width bytes, 255 = white), as a palloc'd bytea
 */
extern bytea *HpPngGrey(const uint8 *pixels, uint32 width, uint32 height, int bit_depth);

#endif							/* HP_QR_H */
