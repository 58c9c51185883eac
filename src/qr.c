/*
 * qr.c
 *	  QR codes rendered in SQL: qr_png (libpng), qr_svg and qr_text (Unicode
 *	  half blocks), all from the module matrix that libqrencode computes.
 *	  The encoder, the option checks and the PNG writer are shared with the
 *	  poster (poster.c) through qr.h.
 *
 * Memory: libqrencode allocates with malloc, so its matrix is copied into
 * palloc'd memory and freed before anything can raise an error.  libpng (and
 * the zlib inside it) allocates through hp_png_malloc: a per-backend arena
 * emptied at the start of each image, or palloc in the caller's memory
 * context, so an error raised anywhere while writing the PNG leaks nothing.
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>

#include <png.h>
#include <qrencode.h>
#include <zlib.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "qr.h"
#include "quote.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* sane ranges of the rendering options (documented in doc/qr.md); the
 * module size's is in qr.h */
#define HP_QR_MARGIN_MIN	0
#define HP_QR_MARGIN_MAX	32
/* the foreground must be darker than the background by this ratio (WCAG) */
#define HP_QR_MIN_CONTRAST	3.0

/* one colour, 8 bits a channel */
typedef struct HpColour
{
	uint8		r;
	uint8		g;
	uint8		b;
} HpColour;

/* what a QR symbol of version 40 holds at levels L, M, Q, H (ISO/IEC 18004) */
static const int hp_qr_limit_numeric[4] = {7089, 5596, 3993, 3057};
static const int hp_qr_limit_alnum[4] = {4296, 3391, 2420, 1852};
static const int hp_qr_limit_bytes[4] = {2953, 2331, 1663, 1273};
static const char hp_qr_level_names[4] = {'L', 'M', 'Q', 'H'};

/* named colours: black and white, and the health-code colours in shades dark
 * enough to scan on white */
static const struct
{
	const char *name;
	HpColour	colour;
}			hp_qr_colour_names[] =
{
	{"black", {0x00, 0x00, 0x00}},
	{"white", {0xFF, 0xFF, 0xFF}},
	{"green", {0x00, 0x7A, 0x3D}},
	{"yellow", {0xB0, 0x7D, 0x00}},
	{"red", {0xC4, 0x12, 0x1F}},
	{"light_green", {0x3E, 0x8E, 0x41}},
};

/* HpQrParseLevel: 'L', 'M', 'Q' or 'H' (either case) to libqrencode's level */
QRecLevel
HpQrParseLevel(text *level)
{
	char	   *s = text_to_cstring(level);

	if (s[0] != '\0' && s[1] == '\0')
	{
		switch (s[0])
		{
			case 'L':
			case 'l':
				return QR_ECLEVEL_L;
			case 'M':
			case 'm':
				return QR_ECLEVEL_M;
			case 'Q':
			case 'q':
				return QR_ECLEVEL_Q;
			case 'H':
			case 'h':
				return QR_ECLEVEL_H;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"level\": \"%s\"", hp_quote_value(s, strlen(s))),
			 errdetail("The error-correction level must be L, M, Q or H.")));
	return QR_ECLEVEL_M;		/* not reached */
}

/* HpQrHexDigit: value of one hexadecimal digit, or -1 */
static int
HpQrHexDigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* HpQrParseColour: #RRGGBB, #RGB or a colour name, for the option named opt */
static HpColour
HpQrParseColour(text *value, const char *opt)
{
	char	   *s = text_to_cstring(value);
	size_t		len = strlen(s);
	HpColour	c;

	if (s[0] == '#' && (len == 7 || len == 4))
	{
		int			d[6];
		int			n = (int) len - 1;
		bool		ok = true;

		for (int i = 0; i < n; i++)
			if ((d[i] = HpQrHexDigit(s[i + 1])) < 0)
				ok = false;
		if (ok && n == 6)
		{
			c.r = (uint8) (d[0] * 16 + d[1]);
			c.g = (uint8) (d[2] * 16 + d[3]);
			c.b = (uint8) (d[4] * 16 + d[5]);
			return c;
		}
		if (ok && n == 3)
		{
			c.r = (uint8) (d[0] * 17);
			c.g = (uint8) (d[1] * 17);
			c.b = (uint8) (d[2] * 17);
			return c;
		}
	}
	for (size_t i = 0; i < lengthof(hp_qr_colour_names); i++)
		if (pg_strcasecmp(s, hp_qr_colour_names[i].name) == 0)
			return hp_qr_colour_names[i].colour;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", opt, hp_quote_value(s, strlen(s))),
			 errdetail("A colour is #RRGGBB, #RGB or one of black, white, green, yellow, red and light_green.")));
	return c;					/* not reached */
}

/* HpQrLuminance: WCAG relative luminance of an sRGB colour, 0 to 1 */
static double
HpQrLuminance(HpColour c)
{
	double		ch[3] = {c.r / 255.0, c.g / 255.0, c.b / 255.0};

	for (int i = 0; i < 3; i++)
		ch[i] = ch[i] <= 0.04045 ? ch[i] / 12.92 : pow((ch[i] + 0.055) / 1.055, 2.4);
	return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

/* HpQrColours: parse fg and bg and insist on dark modules on a light ground */
static void
HpQrColours(text *fgtext, text *bgtext, HpColour *fg, HpColour *bg)
{
	double		ratio;

	*fg = HpQrParseColour(fgtext, "fg");
	*bg = HpQrParseColour(bgtext, "bg");
	ratio = (HpQrLuminance(*bg) + 0.05) / (HpQrLuminance(*fg) + 0.05);
	if (ratio < HP_QR_MIN_CONTRAST)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"fg\" \"%s\" is too light for option \"bg\" \"%s\"",
						text_to_cstring(fgtext), text_to_cstring(bgtext)),
				 errdetail("Scanners need dark modules on a lighter ground, with a contrast ratio (as WCAG defines it) of at least 3:1; this pair has %.2f:1.",
						   ratio)));
}

/* HpQrCheckRange: an integer option must lie in [lo, hi] */
void
HpQrCheckRange(const char *opt, int32 value, int lo, int hi, const char *what)
{
	if (value < lo || value > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": %d", opt, value),
				 errdetail("The %s must be between %d and %d.", what, lo, hi)));
}

/* HpQrIsAlnum: is c in the QR alphanumeric set (0-9 A-Z space $%*+-./:)? */
static inline bool
HpQrIsAlnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		c == ' ' || c == '$' || c == '%' || c == '*' || c == '+' ||
		c == '-' || c == '.' || c == '/' || c == ':';
}

/*
 * HpQrEncode: the QR symbol of data at level, in the smallest version.
 *
 * The text is converted to UTF-8, what scanners expect.  ASCII text goes
 * through libqrencode's case-sensitive string encoder, which splits it into
 * numeric, alphanumeric and 8-bit segments by their bit cost (never Kanji:
 * that is Shift-JIS): text entirely in the alphanumeric set, as HP1 tokens
 * are, is stored in alphanumeric mode, with numeric runs only where they are
 * shorter.  Text with other characters is one 8-bit segment behind an ECI
 * header naming UTF-8 (designator 26), so that scanners do not have to guess
 * the character set (zbar, for one, guesses wrong on mostly-ASCII text).
 */
void
HpQrEncode(text *data, QRecLevel level, HpQrMatrix *m)
{
	int			len = VARSIZE_ANY_EXHDR(data);
	char	   *server = VARDATA_ANY(data);
	char	   *utf8;
	int			ulen;
	bool		ascii = true;
	bool		digits = true;
	bool		alnum = true;
	int			limit;
	QRcode	   *code = NULL;
	int			err = ERANGE;

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("QR code data must not be empty"),
				 errdetail("An empty QR code carries nothing that a scanner could act on.")));

	utf8 = pg_server_to_any(server, len, PG_UTF8);
	if (utf8 == server)
		utf8 = pnstrdup(server, len);	/* NUL-terminated copy */
	ulen = (int) strlen(utf8);

	for (int i = 0; i < ulen; i++)
	{
		unsigned char c = (unsigned char) utf8[i];

		if (c >= 0x80)
		{
			ascii = digits = alnum = false;
			break;
		}
		if (c < '0' || c > '9')
			digits = false;
		if (!HpQrIsAlnum(c))
			alnum = false;
	}
	/* the limit for this kind of text; the ECI header costs one byte */
	limit = digits ? hp_qr_limit_numeric[level] :
		alnum ? hp_qr_limit_alnum[level] :
		ascii ? hp_qr_limit_bytes[level] : hp_qr_limit_bytes[level] - 1;

	/* nothing longer can ever fit: spare the encoder the attempt */
	if (ulen <= limit || (ascii && ulen <= hp_qr_limit_numeric[level]))
	{
		errno = 0;
		if (ascii)
		{
			code = QRcode_encodeString(utf8, 0, level, QR_MODE_8, 1);
			err = errno;
		}
		else
		{
			QRinput    *input = QRinput_new2(0, level);

			if (input != NULL &&
				QRinput_appendECIheader(input, 26) == 0 &&
				QRinput_append(input, QR_MODE_8, ulen, (unsigned char *) utf8) == 0)
				code = QRcode_encodeInput(input);
			err = errno;
			if (input != NULL)
				QRinput_free(input);
		}
	}
	if (code == NULL)
	{
		if (err == ENOMEM)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Encoding a QR code of %d bytes failed for lack of memory.", ulen)));
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("data too long for a QR code at error-correction level %c: %d bytes, the limit is %d",
						hp_qr_level_names[level], ulen, limit),
				 errdetail("At level %c a QR code holds at most %d bytes of ASCII text (%d of other UTF-8 text), %d characters of the QR alphanumeric set (0-9, A-Z, space and $%%*+-./:) or %d digits.",
						   hp_qr_level_names[level], hp_qr_limit_bytes[level],
						   hp_qr_limit_bytes[level] - 1,
						   hp_qr_limit_alnum[level], hp_qr_limit_numeric[level]),
				 errhint("Use a lower error-correction level or shorter data.")));
	}

	/* copy out of malloc'd memory before anything else can fail */
	m->size = code->width;
	m->dark = palloc((Size) code->width * code->width);
	for (int i = 0; i < code->width * code->width; i++)
		m->dark[i] = code->data[i] & 1;
	QRcode_free(code);
	pfree(utf8);
}

/* HpQrDark: is module (x, y) of the image (quiet zone included) dark? */
static inline bool
HpQrDark(const HpQrMatrix *m, int margin, int x, int y)
{
	x -= margin;
	y -= margin;
	if (x < 0 || y < 0 || x >= m->size || y >= m->size)
		return false;
	return m->dark[y * m->size + x] != 0;
}

/* ---------------------------------------------------------------- PNG */

/* what the PNG writer hands back through libpng's setjmp */
typedef struct HpPngState
{
	StringInfoData out;
	char		message[128];
} HpPngState;

/*
 * The PNG arena.  libpng and zlib ask for some 100-300 kB an image (zlib's
 * window, hash chains and pending buffer) and give it all back at the end.
 * Allocated and freed afresh for every image, blocks that size make glibc
 * trim and regrow the heap each time, which costs more in page faults than
 * writing a small PNG.  So each backend keeps one arena, grown to the largest
 * image's need up to HP_PNG_ARENA_MAX, and hands it out bump-wise for one
 * image at a time; what does not fit comes from palloc in the caller's
 * context.  The arena is reset at the start of every image, so an error
 * half-way through an image leaves nothing behind.
 */
#define HP_PNG_ARENA_MAX	(1024 * 1024)
static char *hp_png_arena = NULL;
static Size hp_png_arena_size = 0;
static Size hp_png_arena_used = 0;
static Size hp_png_arena_need = 0;	/* what the last image asked for */

/* HpPngArenaReset: start an image: grow the arena to the last need, empty it */
static void
HpPngArenaReset(void)
{
	Size		want = Min(hp_png_arena_need, HP_PNG_ARENA_MAX);

	if (want > hp_png_arena_size)
	{
		if (hp_png_arena != NULL)
			pfree(hp_png_arena);
		hp_png_arena = NULL;
		hp_png_arena_size = 0;
		hp_png_arena = MemoryContextAllocExtended(TopMemoryContext, want, MCXT_ALLOC_NO_OOM);
		if (hp_png_arena != NULL)
			hp_png_arena_size = want;
	}
	hp_png_arena_used = 0;
	hp_png_arena_need = 0;
}

/* hp_png_malloc: libpng's and zlib's allocator: the arena, else palloc */
static png_voidp
hp_png_malloc(png_structp png, png_alloc_size_t size)
{
	Size		aligned = TYPEALIGN(16, size);

	hp_png_arena_need += aligned;
	if (hp_png_arena_used + aligned <= hp_png_arena_size)
	{
		char	   *p = hp_png_arena + hp_png_arena_used;

		hp_png_arena_used += aligned;
		return p;
	}
	return palloc_extended(size, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

/* hp_png_free: counterpart of hp_png_malloc; the arena is emptied whole */
static void
hp_png_free(png_structp png, png_voidp ptr)
{
	if (ptr == NULL ||
		((char *) ptr >= hp_png_arena && (char *) ptr < hp_png_arena + hp_png_arena_size))
		return;
	pfree(ptr);
}

/* hp_png_error: keep libpng's message; libpng then longjmps to our setjmp */
static void
hp_png_error(png_structp png, png_const_charp msg)
{
	HpPngState *st = (HpPngState *) png_get_error_ptr(png);

	strlcpy(st->message, msg, sizeof(st->message));
}

/* hp_png_warning: libpng's warnings concern nothing we can act on */
static void
hp_png_warning(png_structp png, png_const_charp msg)
{
}

/* hp_png_write: append the encoded bytes to the output buffer */
static void
hp_png_write(png_structp png, png_bytep data, size_t len)
{
	HpPngState *st = (HpPngState *) png_get_io_ptr(png);

	appendBinaryStringInfo(&st->out, (const char *) data, (int) len);
}

/* hp_png_flush: nothing is buffered outside the output buffer */
static void
hp_png_flush(png_structp png)
{
}

/* a source of image rows: the row y, rowbytes long, valid until the next call */
typedef const uint8 *(*HpPngRowFn) (void *arg, uint32 y);

/*
 * HpPngWrite: a greyscale image (or, with a palette of two colours, a
 * 1-bit palette image) as a PNG.  No pHYs: the image is pixel-exact and its
 * printed size is the printer's choice.
 */
static bytea *
HpPngWrite(uint32 width, uint32 height, int bit_depth, const HpColour *palette,
		   HpPngRowFn rows, void *arg)
{
	HpPngState st;
	png_structp png;
	png_infop	info;
	bytea	   *result;

	Assert(bit_depth == 1 || (bit_depth == 8 && palette == NULL));

	/* the output buffer becomes the bytea: room for its header first */
	initStringInfo(&st.out);
	appendStringInfoSpaces(&st.out, VARHDRSZ);
	st.message[0] = '\0';
	HpPngArenaReset();
	png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &st,
									hp_png_error, hp_png_warning,
									NULL, hp_png_malloc, hp_png_free);
	if (png == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("The PNG writer could not be created.")));
	info = png_create_info_struct(png);
	if (info == NULL || setjmp(png_jmpbuf(png)))
	{
		/* every variable used here was set before setjmp and not changed */
		png_destroy_write_struct(&png, &info);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not write the QR code as PNG: %s",
						st.message[0] ? st.message : "out of memory"),
				 errdetail("The PNG library reported an error while writing the image.")));
	}

	png_set_write_fn(png, &st, hp_png_write, hp_png_flush);
	png_set_IHDR(png, info, width, height, bit_depth,
				 palette == NULL ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_PALETTE,
				 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
				 PNG_FILTER_TYPE_DEFAULT);
	if (palette != NULL)
	{
		/* index 0 is the foreground, 1 the background, as 0/1 in grayscale */
		png_color	plte[2];

		for (int i = 0; i < 2; i++)
		{
			plte[i].red = palette[i].r;
			plte[i].green = palette[i].g;
			plte[i].blue = palette[i].b;
		}
		png_set_PLTE(png, info, plte, 2);
	}
	/*
	 * No filter suits 1-bit rows.  zlib level 4 is the knee for QR images
	 * (module rows repeated module_px times): within a few per cent of the
	 * size of levels 6 and 9 at a third of level 6's time; level 9 is up to
	 * 30 times slower and no smaller at large module sizes.  8-bit rows
	 * (anti-aliased text under a code) get Up, which turns a repeated row
	 * into zeros, or Sub, row by row as libpng finds best.
	 */
	png_set_filter(png, PNG_FILTER_TYPE_BASE,
				   bit_depth == 1 ? PNG_FILTER_NONE : PNG_FILTER_SUB | PNG_FILTER_UP);
	png_set_compression_level(png, 4);
	png_write_info(png, info);
	for (uint32 y = 0; y < height; y++)
		png_write_row(png, (png_const_bytep) rows(arg, y));
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);

	result = (bytea *) st.out.data;
	SET_VARSIZE(result, st.out.len);
	return result;
}

/* the rows of a pixel buffer, for HpPngGrey */
typedef struct HpPngBuffer
{
	const uint8 *pixels;
	size_t		rowbytes;
} HpPngBuffer;

/* HpPngBufferRow: row y of a pixel buffer */
static const uint8 *
HpPngBufferRow(void *arg, uint32 y)
{
	HpPngBuffer *b = (HpPngBuffer *) arg;

	return b->pixels + (size_t) y * b->rowbytes;
}

/* HpPngGrey: a greyscale pixel buffer, 1 or 8 bits a pixel, as a PNG */
bytea *
HpPngGrey(const uint8 *pixels, uint32 width, uint32 height, int bit_depth)
{
	HpPngBuffer b;

	if (bit_depth != 1 && bit_depth != 8)
		elog(ERROR, "unsupported PNG bit depth %d", bit_depth);
	b.pixels = pixels;
	b.rowbytes = bit_depth == 1 ? ((size_t) width + 7) / 8 : (size_t) width;
	return HpPngWrite(width, height, bit_depth, NULL, HpPngBufferRow, &b);
}

/* the rows of a QR symbol drawn at px pixels a module, for HpQrPng */
typedef struct HpQrRows
{
	const HpQrMatrix *m;
	int			px;
	int			margin;
	size_t		rowbytes;
	png_bytep	blank;			/* a row of the quiet zone */
	png_bytep	row;			/* the module row last drawn */
	int			drawn;			/* which one it is, or -1 */
} HpQrRows;

/* HpQrRow: pixel row y of the symbol; a row is built once a module row */
static const uint8 *
HpQrRow(void *arg, uint32 y)
{
	HpQrRows   *q = (HpQrRows *) arg;
	const HpQrMatrix *m = q->m;
	int			my = (int) (y / (uint32) q->px);

	if (my < q->margin || my >= q->margin + m->size)
		return q->blank;
	if (my != q->drawn)
	{
		/* light pixels are 1 bits */
		const uint8 *src = m->dark + (size_t) (my - q->margin) * m->size;

		memset(q->row, 0xFF, q->rowbytes);
		for (int x = 0; x < m->size; x++)
		{
			if (src[x])
			{
				size_t		p0 = (size_t) (x + q->margin) * q->px;

				for (size_t p = p0; p < p0 + q->px; p++)
					q->row[p >> 3] &= (png_byte) ~(0x80 >> (p & 7));
			}
		}
		q->drawn = my;
	}
	return q->row;
}

/*
 * HpQrPng: the symbol as a PNG, 1-bit: grayscale for black on white, a
 * two-colour palette otherwise.
 */
static bytea *
HpQrPng(const HpQrMatrix *m, int px, int margin, HpColour fg, HpColour bg)
{
	int			modules = m->size + 2 * margin;
	png_uint_32 width = (png_uint_32) modules * px;
	bool		gray = (fg.r == 0 && fg.g == 0 && fg.b == 0 &&
						bg.r == 255 && bg.g == 255 && bg.b == 255);
	HpColour	palette[2];
	HpQrRows	q;

	palette[0] = fg;
	palette[1] = bg;
	q.m = m;
	q.px = px;
	q.margin = margin;
	q.rowbytes = (width + 7) / 8;
	q.blank = palloc(q.rowbytes);
	memset(q.blank, 0xFF, q.rowbytes);
	q.row = palloc(q.rowbytes);
	q.drawn = -1;
	return HpPngWrite(width, width, 1, gray ? NULL : palette, HpQrRow, &q);
}

/* ---------------------------------------------------------------- SVG */

/* HpQrSvg: one <path> of dark runs over a background <rect>, in module units */
static text *
HpQrSvg(const HpQrMatrix *m, int px, int margin, HpColour fg, HpColour bg)
{
	StringInfoData s;
	int			modules = m->size + 2 * margin;

	initStringInfo(&s);
	appendStringInfo(&s,
					 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
					 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
					 "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
					 "shape-rendering=\"crispEdges\">\n"
					 "<rect width=\"%d\" height=\"%d\" fill=\"#%02x%02x%02x\"/>\n"
					 "<path fill=\"#%02x%02x%02x\" d=\"",
					 modules * px, modules * px, modules, modules,
					 modules, modules, bg.r, bg.g, bg.b, fg.r, fg.g, fg.b);
	for (int y = 0; y < m->size; y++)
	{
		const uint8 *src = m->dark + (size_t) y * m->size;
		int			x = 0;

		while (x < m->size)
		{
			int			start;

			if (!src[x])
			{
				x++;
				continue;
			}
			start = x;
			while (x < m->size && src[x])
				x++;
			appendStringInfo(&s, "M%d %dh%dv1h-%dz",
							 start + margin, y + margin, x - start, x - start);
		}
	}
	appendStringInfoString(&s, "\"/>\n</svg>\n");
	return cstring_to_text_with_len(s.data, s.len);
}

/* ---------------------------------------------------------------- text */

/*
 * HpQrText: two module rows a line in Unicode half blocks.  By default a
 * dark module is ink (right for dark text on a light terminal); invert makes
 * light modules and the quiet zone ink (for light text on a dark terminal).
 */
static text *
HpQrText(const HpQrMatrix *m, int margin, bool invert)
{
	/* indexed by top * 2 + bottom, 1 = ink */
	static const char *const cell[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};
	StringInfoData s;
	int			modules = m->size + 2 * margin;
	char	   *server;

	initStringInfo(&s);
	for (int y = 0; y < modules; y += 2)
	{
		if (y > 0)
			appendStringInfoChar(&s, '\n');
		for (int x = 0; x < modules; x++)
		{
			bool		top = HpQrDark(m, margin, x, y) != invert;

			/* the half row below an odd-height image is outside: no ink */
			bool		bottom = y + 1 < modules &&
				(HpQrDark(m, margin, x, y + 1) != invert);

			appendStringInfoString(&s, cell[top * 2 + bottom]);
		}
	}
	server = pg_any_to_server(s.data, s.len, PG_UTF8);
	return cstring_to_text(server);
}

/* ---------------------------------------------------------------- SQL */

/* a drawing of a symbol: HpQrPng (bytea) or HpQrSvg (text) */
typedef struct varlena *(*HpQrDraw) (const HpQrMatrix *m, int px, int margin,
									 HpColour fg, HpColour bg);

/* HpQrImage: the arguments of qr_png and qr_svg checked, encoded and drawn */
static struct varlena *
HpQrImage(FunctionCallInfo fcinfo, HpQrDraw draw)
{
	QRecLevel	level = HpQrParseLevel(PG_GETARG_TEXT_PP(1));
	int32		px = PG_GETARG_INT32(2);
	int32		margin = PG_GETARG_INT32(3);
	HpColour	fg,
				bg;
	HpQrMatrix	m;

	HpQrCheckRange("module_px", px, HP_QR_MODULE_PX_MIN, HP_QR_MODULE_PX_MAX,
				   "module size in pixels");
	HpQrCheckRange("margin", margin, HP_QR_MARGIN_MIN, HP_QR_MARGIN_MAX,
				   "quiet-zone margin in modules");
	HpQrColours(PG_GETARG_TEXT_PP(4), PG_GETARG_TEXT_PP(5), &fg, &bg);
	HpQrEncode(PG_GETARG_TEXT_PP(0), level, &m);
	return draw(&m, px, margin, fg, bg);
}

/* qr_png(data, level, module_px, margin, fg, bg): the QR code as PNG */
PG_FUNCTION_INFO_V1(qr_png);
Datum
qr_png(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(HpQrImage(fcinfo, HpQrPng));
}

/* qr_svg(data, level, module_px, margin, fg, bg): the QR code as SVG */
PG_FUNCTION_INFO_V1(qr_svg);
Datum
qr_svg(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(HpQrImage(fcinfo, HpQrSvg));
}

/* qr_text(data, level, margin, invert): the QR code in half-block text */
PG_FUNCTION_INFO_V1(qr_text);
Datum
qr_text(PG_FUNCTION_ARGS)
{
	QRecLevel	level = HpQrParseLevel(PG_GETARG_TEXT_PP(1));
	int32		margin = PG_GETARG_INT32(2);
	bool		invert = PG_GETARG_BOOL(3);
	HpQrMatrix	m;

	HpQrCheckRange("margin", margin, HP_QR_MARGIN_MIN, HP_QR_MARGIN_MAX,
				   "quiet-zone margin in modules");
	HpQrEncode(PG_GETARG_TEXT_PP(0), level, &m);
	PG_RETURN_TEXT_P(HpQrText(&m, margin, invert));
}

/*
 * hp_crc32(bytea): the CRC-32 a PNG chunk carries, from zlib (the library
 * libpng already uses); for the text chunks of printed posters.
 */
PG_FUNCTION_INFO_V1(hp_crc32);
Datum
hp_crc32(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_INT64((int64) crc32(crc32(0L, Z_NULL, 0), (const Bytef *) VARDATA_ANY(data),
								  (uInt) VARSIZE_ANY_EXHDR(data)));
}
