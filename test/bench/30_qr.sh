#!/usr/bin/env bash
# QR benchmark: healthpass.qr_png in SQL against
#   raw  a C loop of libqrencode + libpng doing the same work on the same
#        token (same encoder call, same PNG settings: 1-bit, no filter, zlib
#        level 4, into memory), compiled here into test/bench/build/;
#   cmd  the qrencode command run once per code, as a shell would.
# Rounds alternate raw, SQL and cmd (the machine's speed drifts); each prints
# microseconds per code, and the medians give the ratios.  Targets: SQL at
# >= 0.90 of raw's speed, and >= 6x the command's.
# Tokens: a real HP1 token from test/vectors/hp1-vectors.json (case 0, a
# signed health code, 285 characters: a version 10 symbol at level M) and a
# short one (case 10, 60 characters, version 3), at the defaults (level M,
# 4 px a module, margin 4).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-7}
N_SQL=${N_SQL:-1000}
N_RAW=${N_RAW:-1000}
N_CMD=${N_CMD:-100}
build=test/bench/build
mkdir -p "$build"
work=$(mktemp -d)
db=hp_bench_qr
trap 'rm -rf "$work"; dropdb --if-exists "$db" >/dev/null 2>&1' EXIT

cat >"$build/qr_raw.c" <<'EOF'
/* qr_raw: N codes of one text with libqrencode + libpng into memory, the
 * way src/qr.c makes them; prints microseconds per code and writes the last
 * PNG to a file (to check that it is byte for byte what qr_png gives). */
#include <png.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { unsigned char *d; size_t len, cap; } Buf;

static void
put(png_structp png, png_bytep data, size_t n)
{
	Buf *b = png_get_io_ptr(png);

	if (b->len + n > b->cap)
	{
		b->cap = (b->len + n) * 2;
		if ((b->d = realloc(b->d, b->cap)) == NULL)
			abort();
	}
	memcpy(b->d + b->len, data, n);
	b->len += n;
}

static void
flush(png_structp png)
{
	(void) png;
}

static Buf
code(const char *text, int px, int margin)
{
	QRcode *c = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int modules = c->width + 2 * margin;
	png_uint_32 w = (png_uint_32) modules * px;
	size_t rb = (w + 7) / 8;
	Buf b = {0};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	unsigned char *blank = malloc(rb), *row = malloc(rb);

	if (setjmp(png_jmpbuf(png)))
		abort();
	png_set_write_fn(png, &b, put, flush);
	png_set_IHDR(png, info, w, w, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
				 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_set_compression_level(png, 4);
	png_write_info(png, info);
	memset(blank, 0xFF, rb);
	for (int y = 0; y < modules; y++)
	{
		unsigned char *r = blank;

		if (y >= margin && y < margin + c->width)
		{
			memset(row, 0xFF, rb);
			for (int x = 0; x < c->width; x++)
				if (c->data[(y - margin) * c->width + x] & 1)
					for (size_t p = (size_t) (x + margin) * px; p < (size_t) (x + margin + 1) * px; p++)
						row[p >> 3] &= (unsigned char) ~(0x80 >> (p & 7));
			r = row;
		}
		for (int k = 0; k < px; k++)
			png_write_row(png, r);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(blank);
	free(row);
	QRcode_free(c);
	return b;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	int n;
	size_t total = 0;
	Buf last = {0};
	FILE *f;

	if (argc != 4)
	{
		fprintf(stderr, "usage: qr_raw TEXT N OUT.png\n");
		return 2;
	}
	n = atoi(argv[2]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
	{
		free(last.d);
		last = code(argv[1], 4, 4);
		total += last.len;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if ((f = fopen(argv[3], "wb")) == NULL || fwrite(last.d, 1, last.len, f) != last.len || fclose(f) != 0)
		return 1;
	printf("%.2f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n);
	return total > 0 ? 0 : 1;
}
EOF
gcc -O2 -Wall -Wextra -o "$build/qr_raw" "$build/qr_raw.c" -lqrencode -lpng

dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
sql -c 'CREATE EXTENSION healthpass'
sql -v vectors="$(cat test/vectors/hp1-vectors.json)" >/dev/null <<'SQL'
CREATE TABLE bench_token AS
SELECT name, (:'vectors'::json -> 'cases' -> i ->> 'token') AS token
  FROM (VALUES ('HP1 health code', 0), ('short HP1 token', 10)) AS t(name, i);
CREATE TABLE bench_row (name text, token text);
-- microseconds per code of qr_png over the rows of one token, after a
-- warm-up in the same session (each round is a new connection: the first
-- call loads the libraries, which the raw loop does before it starts timing)
CREATE FUNCTION bench_sql(which text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    n bigint;
    bytes bigint;
BEGIN
    PERFORM length(healthpass.qr_png(token)) FROM bench_row WHERE name = which LIMIT 20;
    t0 := clock_timestamp();
    SELECT count(*), sum(length(healthpass.qr_png(token))) INTO n, bytes
      FROM bench_row WHERE name = which;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END $$;
SQL
sql -c "INSERT INTO bench_row SELECT name, token FROM bench_token, generate_series(1, $N_SQL)"
sql -c "VACUUM ANALYZE bench_row"

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

while IFS=$'\t' read -r name token; do
  echo "-- $name: ${#token} characters; $ROUNDS rounds of raw $N_RAW, SQL $N_SQL, command $N_CMD codes"
  sql -c "SELECT encode(healthpass.qr_png(token), 'base64') FROM bench_token WHERE name = '$name'" | base64 -d >"$work/sql.png"
  raws="" sqls="" cmds=""
  for r in $(seq "$ROUNDS"); do
    raw=$("$build/qr_raw" "$token" "$N_RAW" "$work/raw.png")
    s=$(sql -c "SELECT round(bench_sql('$name')::numeric, 2)")
    t0=$(date +%s%N)
    for _ in $(seq "$N_CMD"); do qrencode -l M -s 4 -m 4 -o "$work/cmd.png" "$token"; done
    t1=$(date +%s%N)
    cmd=$(awk -v a="$t0" -v b="$t1" -v n="$N_CMD" 'BEGIN { printf "%.2f", (b - a) / 1e3 / n }')
    printf '   round %d: raw %8.2f us   SQL %8.2f us   command %8.2f us\n' "$r" "$raw" "$s" "$cmd"
    raws="$raws $raw" sqls="$sqls $s" cmds="$cmds $cmd"
  done
  mr=$(echo "$raws" | median); ms=$(echo "$sqls" | median); mc=$(echo "$cmds" | median)
  same=no; cmp -s "$work/raw.png" "$work/sql.png" && same=yes
  awk -v r="$mr" -v s="$ms" -v c="$mc" -v same="$same" -v bytes="$(stat -c %s "$work/sql.png")" 'BEGIN {
    printf "   medians per code: raw %.2f us, qr_png in SQL %.2f us, qrencode command %.2f us\n", r, s, c
    printf "   qr_png PNG: %d bytes, byte for byte the same as raw: %s\n", bytes, same
    printf "   SQL vs raw:     %.3f of raw speed (target >= 0.90: %s)\n", r / s, (r / s >= 0.90) ? "met" : "NOT met"
    printf "   SQL vs command: %.2fx faster (target >= 6: %s)\n", c / s, (c / s >= 6) ? "met" : "NOT met"
  }'
done < <(sql -F $'\t' -c "SELECT name, token FROM bench_token ORDER BY name")
