#!/usr/bin/env bash
# QR decoding (TAP): every image that healthpass renders decodes back to its
# exact input with zbar: HP1-like base45 strings of several sizes at every
# error-correction level, UTF-8 Chinese text, URLs, the health-code colours,
# the size options, SVG rendered to PNG by rsvg-convert, and the terminal
# text turned back into a bitmap.  Also: HP1-like text takes the smallest
# symbol (that of the same length in pure alphanumeric mode, computed by the
# qrencode command) and a smaller one than 8-bit mode would.  And the poster
# PNG (healthpass_internal.hp_poster_png): its code decodes with Chinese
# lines drawn under it, it is pixel for pixel the code of qr_png, and the
# rows under the code hold the drawn text (PNGs decoded by python3's zlib).
#
# zbarimg runs with -Sbinary: without it zbar re-encodes what it guesses the
# character set to be (it turns a UTF-8 URL with one Chinese character into
# Latin-1 mojibake when no ECI header says UTF-8), so the bytes are compared
# exactly in binary mode, and UTF-8 text is also checked in zbar's default
# text mode, which healthpass's ECI header makes come out right.
set -u
export LC_ALL=C.UTF-8
db=hp_qr_decode
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$db" >/dev/null 2>&1' EXIT
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db" || { echo "not ok 1 - create the database"; exit 1; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
sql -c 'CREATE EXTENSION healthpass' >/dev/null || { echo "not ok 1 - create the extension"; exit 1; }

n=0
report() { # status label [diagnostics]
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -n "${3:-}" ] && echo "# $3"; fi
}

# The cases: data, what to render it as, and with which options.
sql >/dev/null <<'SQL'
-- 'HP1:' and n characters of the base45 alphabet (RFC 9285), pseudo-random
CREATE FUNCTION b45(n integer, seed text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'HP1:' || string_agg(substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:',
                 1 + get_byte(decode(md5(seed || i), 'hex'), 0) % 45, 1), '' ORDER BY i)
            FROM generate_series(1, n) AS i $$;
-- qr_text back to a plain PBM bitmap, 4 px a module: each character is two
-- module rows (upper and lower half); ink is dark unless the text is inverted
CREATE FUNCTION text_pbm(t text, inverted boolean) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$
    WITH l AS (SELECT line, ord FROM regexp_split_to_table(t, E'\n') WITH ORDINALITY AS x(line, ord)),
         r AS (SELECT ord * 2 + h AS rn,
                      translate(line, ' ▀▄█', CASE WHEN h = 0 THEN '0101' ELSE '0011' END) AS bits
                 FROM l, (VALUES (0), (1)) AS half(h)),
         s AS (SELECT rn, regexp_replace(CASE WHEN inverted THEN translate(bits, '01', '10') ELSE bits END,
                                         '(.)', '\1\1\1\1', 'g') AS px
                 FROM r)
    SELECT format(E'P1\n%s %s\n', max(length(px)), count(*) * 4)
           || string_agg(repeat(px || E'\n', 4), '' ORDER BY rn)
      FROM s $$;
CREATE TABLE qr_case (
    id serial PRIMARY KEY, label text, data text, kind text,
    level text DEFAULT 'M', px integer DEFAULT 4, margin integer DEFAULT 4,
    fg text DEFAULT 'black', bg text DEFAULT 'white', scale_to integer);
-- HP1-like tokens of several sizes, every level, as PNG
INSERT INTO qr_case (label, data, kind, level)
SELECT format('HP1-like, %s chars, level %s, PNG', len + 4, lv), b45(len, 'tok' || len), 'png', lv
  FROM unnest(ARRAY[16, 60, 150, 300, 600, 900]) AS len, unnest(ARRAY['L', 'M', 'Q', 'H']) AS lv;
-- UTF-8 Chinese, URLs, other text, as PNG
INSERT INTO qr_case (label, data, kind, level)
SELECT format('Chinese text, level %s, PNG', lv), '健康码：绿码（可直接通行）；姓名 张*明，证件 4401**********123X', 'png', lv
  FROM unnest(ARRAY['L', 'M', 'Q', 'H']) AS lv;
INSERT INTO qr_case (label, data, kind) VALUES
  ('traditional Chinese, PNG', '場所二維碼：請出示通行碼', 'png'),
  ('URL with one Chinese character, PNG', 'https://example.org/venue?id=4401&n=张', 'png'),
  ('URL, PNG', 'https://healthpass.example/v/CN-44/venue/000123?lang=en', 'png'),
  ('URL in upper case (alphanumeric mode), PNG', 'HTTPS://HEALTHPASS.EXAMPLE/V/000123', 'png'),
  ('emoji and Latin-1, PNG', 'café ✓ 🟩 ok', 'png'),
  ('digits only, PNG', '440100202411200001', 'png');
INSERT INTO qr_case (label, data, kind, level, px) VALUES
  ('Chinese text of 2952 bytes, the level-L limit (version 40), PNG', repeat('通行', 492), 'png', 'L', 3);
-- health-code colours and hex colours
INSERT INTO qr_case (label, data, kind, level, fg, bg)
SELECT format('%s on %s, PNG', f, b), b45(120, 'colour' || f), 'png', 'Q', f, b
  FROM (VALUES ('green', 'white'), ('yellow', 'white'), ('red', 'white'),
               ('light_green', 'white'), ('#1A2B3C', '#FFFFEE'), ('#000', '#EEE')) AS c(f, b);
-- size options
INSERT INTO qr_case (label, data, kind, px, margin, scale_to)
SELECT format('%s px a module, margin %s, PNG', p, m), b45(80, 'size' || p), 'png', p, m, NULL
  FROM (VALUES (2, 0), (2, 2), (12, 4), (3, 10), (64, 1)) AS s(p, m)
UNION ALL
SELECT format('1 px a module, margin %s, PNG enlarged %s times', m, k), b45(80, 'size1' || m), 'png', 1, m, k
  FROM (VALUES (4, 4), (1, 3)) AS s(m, k);
-- SVG, rendered to PNG by rsvg-convert (at its own size, or scaled to a
-- width in px)
INSERT INTO qr_case (label, data, kind, level)
SELECT format('HP1-like, 300 chars, level %s, SVG', lv), b45(300, 'svg' || lv), 'svg', lv
  FROM unnest(ARRAY['L', 'M', 'Q', 'H']) AS lv;
INSERT INTO qr_case (label, data, kind, fg, bg, scale_to) VALUES
  ('Chinese text, SVG', '健康码：绿码（可直接通行）', 'svg', 'black', 'white', NULL),
  ('green on white, SVG', b45(200, 'svg-green'), 'svg', 'green', 'white', NULL),
  ('red on pale yellow, SVG scaled to 333 px', b45(200, 'svg-red'), 'svg', 'red', '#FFFFE0', 333),
  ('HP1-like, 100 chars, SVG scaled to 900 px', b45(96, 'svg-big'), 'svg', 'black', 'white', 900);
-- terminal text, back to a bitmap
INSERT INTO qr_case (label, data, kind, level) VALUES
  ('HP1-like, 100 chars, text', b45(96, 'text'), 'text', 'L'),
  ('HP1-like, 100 chars, inverted text', b45(96, 'text'), 'textinv', 'L'),
  ('Chinese text, text', '健康码：绿码', 'text', 'M');
SQL

# real HP1 base45 when the token helper's encoder is there (not required)
if [ "$(sql -c "SELECT to_regprocedure('healthpass.base45_encode(bytea)') IS NOT NULL")" = t ]; then
  sql >/dev/null <<'SQL'
INSERT INTO qr_case (label, data, kind, level)
SELECT format('HP1: + base45_encode of %s bytes, level %s, PNG', len, lv),
       'HP1:' || healthpass.base45_encode(substring(decode(repeat(md5(len::text), 40), 'hex') FROM 1 FOR len)),
       'png', lv
  FROM unnest(ARRAY[64, 200]) AS len, unnest(ARRAY['L', 'H']) AS lv;
SQL
fi

# modules across a PNG: its IHDR width
png_width() { od -An -j16 -N4 -tu1 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }

# every case: id, kind, scale, label, the data's UTF-8 bytes in hex, the image in base64
sql -F $'\t' -o "$work/cases.tsv" -c "
SELECT id, kind, coalesce(scale_to, 0), label, encode(convert_to(data, 'UTF8'), 'hex'),
       translate(encode(CASE kind
           WHEN 'png' THEN healthpass.qr_png(data, level, px, margin, fg, bg)
           WHEN 'svg' THEN convert_to(healthpass.qr_svg(data, level, px, margin, fg, bg), 'UTF8')
           WHEN 'text' THEN convert_to(text_pbm(healthpass.qr_text(data, level), false), 'UTF8')
           ELSE convert_to(text_pbm(healthpass.qr_text(data, level, 4, true), true), 'UTF8') END,
         'base64'), E'\n', '')
  FROM qr_case ORDER BY id" || { echo "not ok 1 - render the cases"; exit 1; }

while IFS=$'\t' read -r id kind scale label hex b64; do
  case "$kind" in
    png) img="$work/$id.png"; echo "$b64" | base64 -d >"$img"
         if [ "$scale" -gt 0 ]; then
           # zbar cannot find modules of one pixel: show it the image enlarged,
           # pixel for pixel, by rsvg-convert
           w=$(( $(png_width "$img") * scale ))
           printf '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="%s" height="%s"><image width="%s" height="%s" style="image-rendering:optimizeSpeed" xlink:href="data:image/png;base64,%s"/></svg>\n' \
             "$w" "$w" "$w" "$w" "$b64" >"$work/$id.svg"
           img="$work/$id.big.png"; rsvg-convert -o "$img" "$work/$id.svg"
         fi ;;
    svg) echo "$b64" | base64 -d >"$work/$id.svg"; img="$work/$id.png"
         if [ "$scale" -gt 0 ]; then rsvg-convert -w "$scale" -h "$scale" -o "$img" "$work/$id.svg"
         else rsvg-convert -o "$img" "$work/$id.svg"; fi ;;
    *)   img="$work/$id.pbm"; echo "$b64" | base64 -d >"$img" ;;
  esac
  got=$(zbarimg --nodbus --raw -q -Sbinary "$img" 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  if [ "$got" = "$hex" ]; then report 0 "$label: decodes to its exact input"
  else report 1 "$label: decodes to its exact input" "want $hex, got ${got:-nothing}"; fi
  # non-ASCII text: zbar's default text mode agrees too (thanks to the ECI header)
  if [ "$kind" = png ] && echo "$hex" | grep -qE '^(..)*[89a-f].'; then
    text=$(zbarimg --nodbus --raw -q "$img" 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
    if [ "$text" = "${hex}0a" ]; then report 0 "$label: zbar's text mode reads it as UTF-8"
    else report 1 "$label: zbar's text mode reads it as UTF-8" "want ${hex}0a, got ${text:-nothing}"; fi
  fi
done <"$work/cases.tsv"

# smallest symbol: modules of the HP1-like text (1 px, no quiet zone) against
# the qrencode command on a pure alphanumeric string of the same length
# ('A' repeated) and on the text in 8-bit mode
for len in 16 60 150 300 600 900; do
  for lv in L H; do
    tok=$(sql -c "SELECT b45($len, 'tok$len')")
    sql -c "SELECT encode(healthpass.qr_png(b45($len, 'tok$len'), '$lv', 1, 0), 'base64')" | base64 -d >"$work/v.png"
    ours=$(png_width "$work/v.png")
    qrencode -l "$lv" -s 1 -m 0 -o "$work/an.png" "$(printf 'A%.0s' $(seq ${#tok}))"
    qrencode -l "$lv" -s 1 -m 0 -8 -o "$work/8.png" "$tok"
    an=$(png_width "$work/an.png"); b8=$(png_width "$work/8.png")
    if [ "$ours" = "$an" ]; then report 0 "${#tok} HP1-like chars at $lv: $ours modules, as pure alphanumeric mode"
    else report 1 "${#tok} HP1-like chars at $lv: $ours modules, as pure alphanumeric mode" "alphanumeric takes $an"; fi
    if [ "$len" -ge 60 ]; then
      if [ "$ours" -lt "$b8" ]; then report 0 "${#tok} HP1-like chars at $lv: smaller than 8-bit mode ($b8)"
      else report 1 "${#tok} HP1-like chars at $lv: smaller than 8-bit mode" "ours $ours, 8-bit $b8"; fi
    fi
  done
done

# posters: the code with lines of text drawn under it
sql >/dev/null <<'SQL'
CREATE TABLE poster_case (id serial PRIMARY KEY, label text, data text, level text, px integer, lines text[]);
INSERT INTO poster_case (label, data, level, px, lines) VALUES
  ('venue poster, HP1-like code, level Q, 8 px', b45(300, 'poster'), 'Q', 8,
   ARRAY['济宁市任城区人民医院', '山东省济宁市任城区 建设路 12 号']),
  ('poster of Chinese text, level M, 4 px', '健康码：绿码（可直接通行）', 'M', 4,
   ARRAY['惠民超市 (兴业路店)', '太平镇 兴业路 8 号']),
  ('poster widened and wrapped by long lines, 3 px', b45(60, 'wide'), 'L', 3,
   ARRAY[repeat('济宁市任城区人民医院', 4), repeat('Jining First People''s Hospital ', 5), NULL, '最后一行']),
  ('poster of a URL, level H, 6 px, one line', 'https://example.org/venue?id=4401&n=张', 'H', 6,
   ARRAY['场所码']);
SQL
# a PNG's pixels as text: "width height" then one line of 0-255 grey values
# a row (1-bit and 8-bit greyscale, every PNG filter)
png_pixels() {
  python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat = 8, b''
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, colour = struct.unpack('>IIBB', body[:10])
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
assert colour == 0 and depth in (1, 8), 'not 1-bit or 8-bit greyscale'
raw = zlib.decompress(idat)
stride = (w * depth + 7) // 8
bpp = 1
prev = bytearray(stride)
out = [f'{w} {h}']
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if depth == 8:
        px = list(line)
    else:
        px = [255 if line[x >> 3] & (0x80 >> (x & 7)) else 0 for x in range(w)]
    out.append(' '.join(map(str, px)))
print('\n'.join(out))
PY
}
sql -F $'\t' -o "$work/posters.tsv" -c "
SELECT id, label, encode(convert_to(data, 'UTF8'), 'hex'),
       translate(encode(healthpass_internal.hp_poster_png(data, level, px, lines), 'base64'), E'\n', ''),
       translate(encode(healthpass.qr_png(data, level, px, 4), 'base64'), E'\n', '')
  FROM poster_case ORDER BY id" || { echo "not ok $((n + 1)) - render the posters"; exit 1; }
while IFS=$'\t' read -r id label hex poster plain; do
  echo "$poster" | base64 -d >"$work/poster$id.png"
  echo "$plain" | base64 -d >"$work/plain$id.png"
  got=$(zbarimg --nodbus --raw -q -Sbinary "$work/poster$id.png" 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  if [ "$got" = "$hex" ]; then report 0 "$label: decodes to its exact input"
  else report 1 "$label: decodes to its exact input" "want $hex, got ${got:-nothing}"; fi
  # the code, centred at the top, is qr_png's pixel for pixel; under it,
  # dark pixels (the text) in the rows below the code's quiet zone
  png_pixels "$work/poster$id.png" >"$work/poster$id.txt" &&
    png_pixels "$work/plain$id.png" >"$work/plain$id.txt" || { report 1 "$label: the PNGs decode"; continue; }
  verdict=$(python3 - "$work/poster$id.txt" "$work/plain$id.txt" <<'PY'
import sys
def load(f):
    lines = open(f).read().split('\n')
    w, h = map(int, lines[0].split())
    return w, h, [list(map(int, l.split())) for l in lines[1:h + 1]]
pw, ph, p = load(sys.argv[1])
qw, qh, q = load(sys.argv[2])
left = (pw - qw) // 2
same = all(p[y][left:left + qw] == q[y] for y in range(qh)) and \
    all(v == 255 for y in range(qh) for v in p[y][:left] + p[y][left + qw:])
dark = sum(1 for y in range(qh, ph) for v in p[y] if v < 128)
print(f"{'same' if same else 'different'} {dark} {pw} {qw} {ph} {qh}")
PY
)
  read -r same dark pw qw ph qh <<<"$verdict"
  if [ "$same" = same ]; then report 0 "$label: the code is qr_png's, pixel for pixel"
  else report 1 "$label: the code is qr_png's, pixel for pixel" "$verdict"; fi
  if [ "${dark:-0}" -gt 50 ] && [ "$ph" -gt "$qh" ]; then
    report 0 "$label: $dark dark pixels drawn in the rows under the code"
  else report 1 "$label: text drawn in the rows under the code" "poster ${pw}x$ph, code ${qw}x$qh, $dark dark pixels"; fi
done <"$work/posters.tsv"

echo "1..$n"
