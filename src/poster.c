/*
 * poster.c
 *	  The printable poster as a PNG: a QR code with lines of text drawn
 *	  under it, centred, by FreeType in the font healthpass.poster_font
 *	  (hp_poster_png, behind venue_poster_png).
 *
 * Memory: FreeType allocates with malloc.  The library and the face are the
 * only FreeType objects; they are cached for the backend's life (the face
 * is replaced when the setting names another file).  Glyphs are loaded into
 * the face's own glyph slot and copied at once into a palloc'd pixel buffer,
 * so no FreeType object is ever held across a call that can raise an error,
 * and an error raised anywhere leaks nothing.  The symbol comes from qr.c's
 * encoder and the PNG from qr.c's writer (qr.h).
 */
#include "postgres.h"

#include <errno.h>
#include <sys/stat.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "guc.h"
#include "qr.h"
#include "quote.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* the quiet zone around the symbol, in modules (what the QR standard asks) */
#define HP_POSTER_QUIET		4
/* at most so many lines (elements of lines), each of so many characters */
#define HP_POSTER_MAX_LINES 64
#define HP_POSTER_MAX_CHARS 500
/* and at most so many pixels (bytes, at 8 bits a pixel) an image */
#define HP_POSTER_MAX_PIXELS (64 * 1024 * 1024)

/*
 * How glyphs are loaded: always from the outline (an embedded bitmap would
 * come at one size only, and perhaps 1-bit), with the font's own hinting.
 * FT_LOAD_TARGET_LIGHT (the auto-hinter) draws much the same CJK text at a
 * quarter of the speed.
 */
#define HP_POSTER_LOAD		(FT_LOAD_NO_BITMAP)

/* one element of lines: its characters, glyphs and their advances */
typedef struct HpPosterRun
{
	int			size;			/* pixel size of its font */
	bool		title;			/* the first element drawn: the larger size */
	int			n;				/* characters, control characters left out */
	pg_wchar   *cp;				/* code points, tab and line breaks as ' ' */
	FT_UInt    *glyph;			/* glyph indexes, 0 (.notdef) when missing */
	FT_Pos	   *advance;		/* advances, 26.6 pixels */
} HpPosterRun;

/* one line of text as drawn: characters [start, end) of a run */
typedef struct HpPosterLine
{
	int			run;
	int			start;
	int			end;
	int64		width;			/* 26.6 pixels */
	int64		baseline;		/* pixels from the top of the image */
} HpPosterLine;

/* the font, per backend: FreeType's library and the face of hp_ft_path */
static FT_Library hp_ft_library = NULL;
static FT_Face hp_ft_face = NULL;
static char *hp_ft_path = NULL;

static void HpPosterFontError(const char *path, const char *detail) pg_attribute_noreturn();

/* HpPosterFontError: the poster font cannot be used; the detail says why */
static void
HpPosterFontError(const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_FILE),
			 errmsg("poster font \"%s\" cannot be opened",
					hp_quote(path, (int) strlen(path), 200, true)),
			 errdetail("%s", detail),
			 errhint("Install the Debian package fonts-wqy-microhei, or set healthpass.poster_font to the path of a TrueType or OpenType font.")));
}

/*
 * HpPosterFace: the face of the font healthpass.poster_font names (face 0
 * of a collection), loaded once and kept until the setting changes.
 */
static FT_Face
HpPosterFace(void)
{
	const char *path = hp_poster_font != NULL ? hp_poster_font : "";
	char	   *copy;
	struct stat st;
	FT_Face		face = NULL;
	FT_Error	err;

	if (hp_ft_face != NULL && strcmp(hp_ft_path, path) == 0)
		return hp_ft_face;

	/* another font: let the old one go */
	if (hp_ft_face != NULL)
	{
		FT_Done_Face(hp_ft_face);
		hp_ft_face = NULL;
		pfree(hp_ft_path);
		hp_ft_path = NULL;
	}
	if (hp_ft_library == NULL)
	{
		FT_Library	library;

		if (FT_Init_FreeType(&library) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("The font renderer could not be started.")));
		hp_ft_library = library;
	}

	if (path[0] == '\0')
		HpPosterFontError(path, "The setting healthpass.poster_font is empty.");
	if (stat(path, &st) != 0)
		HpPosterFontError(path, psprintf("The file that the setting healthpass.poster_font names cannot be read: %s.",
										 strerror(errno)));
	if (!S_ISREG(st.st_mode))
		HpPosterFontError(path, "The setting healthpass.poster_font names a directory or special file, not a font file.");

	/* copied first: nothing may fail between FT_New_Face and keeping it */
	copy = MemoryContextStrdup(TopMemoryContext, path);
	err = FT_New_Face(hp_ft_library, path, 0, &face);
	if (err != 0)
	{
		pfree(copy);
		HpPosterFontError(path, psprintf("The file that the setting healthpass.poster_font names is not a font that FreeType can read (error 0x%02X).",
										 (unsigned int) err));
	}
	if (!FT_IS_SCALABLE(face))
	{
		FT_Done_Face(face);
		pfree(copy);
		HpPosterFontError(path, "The file that the setting healthpass.poster_font names is a bitmap font, which cannot draw text at any size.");
	}
	if ((face->charmap == NULL || face->charmap->encoding != FT_ENCODING_UNICODE) &&
		FT_Select_Charmap(face, FT_ENCODING_UNICODE) != 0)
	{
		FT_Done_Face(face);
		pfree(copy);
		HpPosterFontError(path, "The file that the setting healthpass.poster_font names is a font without a Unicode character map.");
	}
	hp_ft_face = face;
	hp_ft_path = copy;
	return face;
}

/* HpPosterSetSize: the face at size pixels; its ascent and line height */
static void
HpPosterSetSize(FT_Face face, int size, int *ascent, int *line_height)
{
	FT_Error	err = FT_Set_Pixel_Sizes(face, 0, (FT_UInt) size);
	int64		asc,
				desc,
				height;

	if (err != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("poster font cannot be scaled to %d pixels", size),
				 errdetail("FreeType reported error 0x%02X for the font named by healthpass.poster_font.",
						   (unsigned int) err)));
	/* 26.6 to whole pixels, rounding up: a line never clips its glyphs */
	asc = (face->size->metrics.ascender + 63) >> 6;
	desc = (-face->size->metrics.descender + 63) >> 6;
	height = (face->size->metrics.height + 63) >> 6;
	/* a broken font's metrics must not make lines of no or absurd height */
	asc = Max(asc, (int64) size * 3 / 4);
	asc = Min(asc, (int64) size * 2);
	desc = Max(desc, 0);
	desc = Min(desc, (int64) size);
	height = Max(height, asc + desc);
	height = Min(height, (int64) size * 3);
	*ascent = (int) asc;
	*line_height = (int) height;
}

/* HpPosterLoad: glyph gi into the face's glyph slot, rendered if asked */
static FT_GlyphSlot
HpPosterLoad(FT_Face face, FT_UInt gi, pg_wchar cp, bool render)
{
	FT_Error	err = FT_Load_Glyph(face, gi, HP_POSTER_LOAD | (render ? FT_LOAD_RENDER : 0));

	if (err != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("poster font cannot draw character U+%04X", (unsigned int) cp),
				 errdetail("FreeType reported error 0x%02X for glyph %u of the font named by healthpass.poster_font.",
						   (unsigned int) err, (unsigned int) gi)));
	return face->glyph;
}

/*
 * HpPosterInvisible: characters drawn as nothing: controls (other than tab
 * and line breaks, which are spaces) and the invisible format characters
 * (zero-width spaces and joiners, text-direction marks, the byte-order
 * mark, the soft hyphen), which a font would show as boxes
 */
static bool
HpPosterInvisible(pg_wchar c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xAD || c == 0x061C ||
		c == 0x180E || (c >= 0x200B && c <= 0x200F) ||
		(c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) ||
		c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB);
}

/* HpPosterSpace: a space: a line may break there, and drops it at its ends */
static inline bool
HpPosterSpace(pg_wchar c)
{
	return c == ' ' || c == 0x3000;
}

/* HpPosterCjk: a CJK character: a line may break before or after it */
static bool
HpPosterCjk(pg_wchar c)
{
	return (c >= 0x2E80 && c <= 0x9FFF) ||	/* radicals to unified ideographs */
		(c >= 0xAC00 && c <= 0xD7AF) || /* Hangul syllables */
		(c >= 0xF900 && c <= 0xFAFF) || /* compatibility ideographs */
		(c >= 0xFE30 && c <= 0xFE4F) || /* compatibility forms */
		(c >= 0xFF00 && c <= 0xFFEF) || /* full-width forms */
		(c >= 0x20000 && c <= 0x3FFFF); /* supplementary ideographs */
}

/* HpPosterNoStart: punctuation a line must not start with (closing, stops) */
static bool
HpPosterNoStart(pg_wchar c)
{
	static const pg_wchar set[] = {
		0x3001, 0x3002, 0xFF0C, 0xFF0E, 0xFF1A, 0xFF1B, 0xFF01, 0xFF1F, /* 、。，．：；！？ */
		0xFF09, 0x3009, 0x300B, 0x300D, 0x300F, 0x3011, 0x3015, 0x3017, /* ）〉》」』】〕〗 */
		0x201D, 0x2019, 0x2026, 0x00B7, 0x30FB, 0xFF05, 0x30FC, /* ”’…·・％ー */
		',', '.', ':', ';', '!', '?', ')', ']', '}', '%'
	};

	for (size_t i = 0; i < lengthof(set); i++)
		if (set[i] == c)
			return true;
	return false;
}

/* HpPosterNoEnd: punctuation a line must not end with (opening) */
static bool
HpPosterNoEnd(pg_wchar c)
{
	static const pg_wchar set[] = {
		0xFF08, 0x3008, 0x300A, 0x300C, 0x300E, 0x3010, 0x3014, 0x3016, /* （〈《「『【〔〖 */
		0x201C, 0x2018, '(', '[', '{'
	};

	for (size_t i = 0; i < lengthof(set); i++)
		if (set[i] == c)
			return true;
	return false;
}

/* HpPosterBreakBefore: may a line of run r end before its character i? */
static bool
HpPosterBreakBefore(const HpPosterRun *r, int i)
{
	pg_wchar	a = r->cp[i - 1];
	pg_wchar	b = r->cp[i];

	if (HpPosterSpace(a) || HpPosterSpace(b))
		return true;
	/* after the hyphen inside a word (not after a dash between spaces) */
	if (a == '-' && i >= 2 && !HpPosterSpace(r->cp[i - 2]) && !HpPosterNoStart(b))
		return true;
	if (HpPosterNoStart(b) || HpPosterNoEnd(a))
		return false;
	return HpPosterCjk(a) || HpPosterCjk(b);
}

/*
 * HpPosterDecode: one element of lines as a run: converted to UTF-8 and
 * split into code points, control characters dropped, with each glyph and
 * its advance at the run's size (which the face must be set to)
 */
static void
HpPosterDecode(FT_Face face, text *t, HpPosterRun *r)
{
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *server = VARDATA_ANY(t);
	char	   *utf8 = pg_server_to_any(server, len, PG_UTF8);
	int			ulen = utf8 == server ? len : (int) strlen(utf8);
	FT_UInt		space = FT_Get_Char_Index(face, ' ');
	FT_Pos		max_advance = (FT_Pos) r->size * 4 * 64;

	/* a character is at least one byte */
	r->cp = palloc(sizeof(pg_wchar) * Max(ulen, 1));
	r->glyph = palloc(sizeof(FT_UInt) * Max(ulen, 1));
	r->advance = palloc(sizeof(FT_Pos) * Max(ulen, 1));
	r->n = 0;
	for (int i = 0; i < ulen;)
	{
		const unsigned char *p = (const unsigned char *) utf8 + i;
		int			l = pg_utf_mblen(p);
		pg_wchar	c;
		FT_GlyphSlot slot;

		if (i + l > ulen)
			break;				/* cannot happen: text is valid UTF-8 */
		c = utf8_to_unicode(p);
		i += l;
		if (c == '\t' || c == '\n' || c == '\r')
			c = ' ';
		else if (HpPosterInvisible(c))
			continue;
		r->cp[r->n] = c;
		r->glyph[r->n] = c == ' ' ? space : FT_Get_Char_Index(face, c);
		slot = HpPosterLoad(face, r->glyph[r->n], c, false);
		/* a font's advances are trusted only within sane bounds */
		r->advance[r->n] = Min(Max(slot->advance.x, 0), max_advance);
		r->n++;
	}
	if (utf8 != server)
		pfree(utf8);
}

/* HpPosterWidth: the width of characters [start, end) of run r, 26.6 */
static int64
HpPosterWidth(const HpPosterRun *r, int start, int end)
{
	int64		w = 0;

	for (int i = start; i < end; i++)
		w += r->advance[i];
	return w;
}

/* HpPosterTrim: [start, end) without the spaces at either end */
static void
HpPosterTrim(const HpPosterRun *r, int *start, int *end)
{
	while (*start < *end && HpPosterSpace(r->cp[*start]))
		(*start)++;
	while (*end > *start && HpPosterSpace(r->cp[*end - 1]))
		(*end)--;
}

/*
 * HpPosterWrap: run ri broken into lines of at most avail (26.6) appended
 * to lines: greedy, ending a line at the last space or CJK boundary that
 * fits, or anywhere in a word longer than the line.  An empty run is one
 * empty line.
 */
static void
HpPosterWrap(const HpPosterRun *r, int ri, int64 avail,
			 HpPosterLine **lines, int *nlines, int *maxlines)
{
	int			start = 0;
	bool		any = false;

	for (;;)
	{
		int			end,
					i,
					last_break = -1;
		int64		w = 0;
		HpPosterLine *line;

		while (start < r->n && HpPosterSpace(r->cp[start]))
			start++;
		if (start >= r->n && any)
			break;
		for (i = start; i < r->n; i++)
		{
			if (i > start && HpPosterBreakBefore(r, i))
				last_break = i;
			/* spaces may hang past the end: the line drops them */
			if (w + r->advance[i] > avail && !HpPosterSpace(r->cp[i]))
				break;
			w += r->advance[i];
		}
		if (i >= r->n)
			end = r->n;
		else if (last_break > start)
			end = last_break;
		else
			end = Max(i, start + 1);	/* a word wider than the line */

		if (*nlines == *maxlines)
		{
			*maxlines *= 2;
			*lines = repalloc(*lines, sizeof(HpPosterLine) * *maxlines);
		}
		line = &(*lines)[(*nlines)++];
		line->run = ri;
		line->start = start;
		line->end = end;
		HpPosterTrim(r, &line->start, &line->end);
		line->width = HpPosterWidth(r, line->start, line->end);
		line->baseline = 0;
		any = true;
		start = end;
	}
}

/* HpPosterBlit: the rendered glyph in slot, darkening pixels (8-bit grey) */
static void
HpPosterBlit(uint8 *pixels, int width, int height, FT_GlyphSlot slot,
			 int64 x0, int64 y0)
{
	const FT_Bitmap *bm = &slot->bitmap;
	int			pitch = bm->pitch < 0 ? -bm->pitch : bm->pitch;

	if (bm->pixel_mode != FT_PIXEL_MODE_GRAY && bm->pixel_mode != FT_PIXEL_MODE_MONO)
		return;					/* not asked for: nothing sensible to draw */
	for (unsigned int row = 0; row < bm->rows; row++)
	{
		int64		y = y0 + row;
		const unsigned char *src;

		if (y < 0 || y >= height)
			continue;
		/* a negative pitch means the rows are stored bottom up */
		src = bm->buffer + (size_t) (bm->pitch < 0 ? bm->rows - 1 - row : row) * pitch;
		for (unsigned int col = 0; col < bm->width; col++)
		{
			int64		x = x0 + col;
			unsigned int cover;
			uint8	   *dst;

			if (x < 0 || x >= width)
				continue;
			if (bm->pixel_mode == FT_PIXEL_MODE_MONO)
				cover = (src[col >> 3] & (0x80 >> (col & 7))) ? 255 : 0;
			else
				cover = src[col];
			if (cover == 0)
				continue;
			dst = pixels + (size_t) y * width + x;
			*dst = (uint8) ((*dst * (255 - cover) + 127) / 255);
		}
	}
}

/*
 * hp_poster_png(code, level, module_px, lines): the QR code of code at
 * level, module_px pixels a module in a 4-module quiet zone, with lines
 * drawn under it, centred: the first (the title) at 4 modules a line, the
 * rest at 0.7 of that.  The image is as wide as the code, or wider (up to
 * twice) for long lines; longer lines wrap.  An 8-bit greyscale PNG.
 */
PG_FUNCTION_INFO_V1(hp_poster_png);
Datum
hp_poster_png(PG_FUNCTION_ARGS)
{
	text	   *code = PG_GETARG_TEXT_PP(0);
	QRecLevel	level = HpQrParseLevel(PG_GETARG_TEXT_PP(1));
	int32		px = PG_GETARG_INT32(2);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(3);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	HpPosterRun *runs;
	int			nruns = 0;
	HpPosterLine *lines;
	int			nlines = 0;
	int			maxlines = 16;
	HpQrMatrix	m;
	FT_Face		face;
	int			title_size,
				body_size;
	int			title_ascent,
				title_height,
				body_ascent,
				body_height;
	int			qr_width;
	int64		natural = 0;
	int64		width64;
	int64		height64;
	int			width,
				height;
	int			quiet;
	int			qr_left;
	uint8	   *pixels;
	bytea	   *png;

	HpQrCheckRange("module_px", px, HP_QR_MODULE_PX_MIN, HP_QR_MODULE_PX_MAX,
				   "module size in pixels");
	if (ARR_ELEMTYPE(arr) != TEXTOID)
		elog(ERROR, "poster lines must be a text array");
	nelems = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (nelems > HP_POSTER_MAX_LINES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too many poster lines: %d", nelems),
				 errdetail("A poster has at most %d lines of text.", HP_POSTER_MAX_LINES)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	for (int i = 0; i < nelems; i++)
	{
		text	   *t;
		int			chars;

		if (nulls[i])
			continue;
		t = DatumGetTextPP(elems[i]);
		chars = pg_mbstrlen_with_len(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		if (chars > HP_POSTER_MAX_CHARS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("poster line %d is too long: \"%s\"", i + 1,
							hp_quote_value(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t))),
					 errdetail("A poster line has at most %d characters; this one has %d.",
							   HP_POSTER_MAX_CHARS, chars)));
	}

	HpQrEncode(code, level, &m);
	quiet = HP_POSTER_QUIET * px;
	qr_width = (m.size + 2 * HP_POSTER_QUIET) * px;

	/* the texts: decoded and measured, the title at 4 modules, the rest 0.7 */
	face = HpPosterFace();
	title_size = 4 * px;
	body_size = Max((28 * px + 5) / 10, 1);
	HpPosterSetSize(face, body_size, &body_ascent, &body_height);
	HpPosterSetSize(face, title_size, &title_ascent, &title_height);
	runs = palloc(sizeof(HpPosterRun) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
	{
		HpPosterRun *r = &runs[nruns];
		int			start,
					end;

		if (nulls[i])
			continue;
		r->title = nruns == 0;
		r->size = r->title ? title_size : body_size;
		if (nruns == 1)
			HpPosterSetSize(face, body_size, &body_ascent, &body_height);
		HpPosterDecode(face, DatumGetTextPP(elems[i]), r);
		start = 0;
		end = r->n;
		HpPosterTrim(r, &start, &end);
		natural = Max(natural, HpPosterWidth(r, start, end));
		nruns++;
		CHECK_FOR_INTERRUPTS();
	}

	/* as wide as the code, or as the longest line up to twice that */
	width64 = (natural + 63) / 64 + 2 * (int64) quiet;
	width64 = Max(width64, (int64) qr_width);
	width64 = Min(width64, 2 * (int64) qr_width);
	width = (int) width64;

	/* the lines, and their baselines: text starts below the quiet zone */
	lines = palloc(sizeof(HpPosterLine) * maxlines);
	for (int i = 0; i < nruns; i++)
		HpPosterWrap(&runs[i], i, (int64) (width - 2 * quiet) * 64, &lines, &nlines, &maxlines);
	height64 = qr_width;
	for (int i = 0; i < nlines; i++)
	{
		const HpPosterRun *r = &runs[lines[i].run];

		/* a little air between the title and the rest */
		if (i > 0 && !r->title && runs[lines[i - 1].run].title)
			height64 += body_size * 2 / 5;
		lines[i].baseline = height64 + (r->title ? title_ascent : body_ascent);
		height64 += r->title ? title_height : body_height;
	}
	if (nlines > 0)
		height64 += quiet;
	if (width64 * height64 > HP_POSTER_MAX_PIXELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("poster too large: %d x " INT64_FORMAT " pixels", width, height64),
				 errdetail("A poster image has at most %d pixels.", HP_POSTER_MAX_PIXELS),
				 errhint("Use a smaller module size, or fewer or shorter lines.")));
	height = (int) height64;

	/* white, the symbol centred at the top, then the text */
	pixels = palloc((Size) width * height);
	memset(pixels, 0xFF, (Size) width * height);
	qr_left = (width - qr_width) / 2;
	for (int y = 0; y < m.size; y++)
		for (int x = 0; x < m.size; x++)
			if (m.dark[y * m.size + x])
			{
				int			top = (y + HP_POSTER_QUIET) * px;
				int			left = qr_left + (x + HP_POSTER_QUIET) * px;

				for (int k = 0; k < px; k++)
					memset(pixels + (size_t) (top + k) * width + left, 0, px);
			}
	for (int i = 0; i < nlines; i++)
	{
		const HpPosterLine *line = &lines[i];
		const HpPosterRun *r = &runs[line->run];
		int64		pen;

		if (i == 0 || r->size != runs[lines[i - 1].run].size)
		{
			int			ascent,
						line_height;

			HpPosterSetSize(face, r->size, &ascent, &line_height);
		}
		/* centred, in whole pixels; the pen moves in 26.6 */
		pen = ((width * (int64) 64 - line->width) / 2) & ~(int64) 63;
		for (int c = line->start; c < line->end; c++)
		{
			if (!HpPosterSpace(r->cp[c]))
			{
				FT_GlyphSlot slot = HpPosterLoad(face, r->glyph[c], r->cp[c], true);

				HpPosterBlit(pixels, width, height, slot,
							 (pen >> 6) + slot->bitmap_left,
							 line->baseline - slot->bitmap_top);
			}
			pen += r->advance[c];
		}
		CHECK_FOR_INTERRUPTS();
	}

	png = HpPngGrey(pixels, (uint32) width, (uint32) height, 8);
	pfree(pixels);
	PG_RETURN_BYTEA_P(png);
}
