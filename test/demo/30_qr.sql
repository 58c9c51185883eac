-- healthpass demo: QR codes rendered in SQL.  A signed HP1 health code (case
-- 0 of test/vectors/hp1-vectors.json) as a green PNG and SVG in :out, and as
-- text in the terminal.
\echo
\echo '== QR codes: healthpass.qr_png, qr_svg, qr_text'
\setenv HP_DEMO_OUT :out
\set vectors `cat test/vectors/hp1-vectors.json`
SELECT :'vectors'::json -> 'cases' -> 0 ->> 'token' AS token \gset
\unset vectors
SELECT length(:'token') AS "token characters", left(:'token', 40) || '…' AS "token starts";

-- the PNG: green on white, 6 px a module; psql receives it as base64 and
-- base64 -d writes the bytes
SELECT translate(encode(healthpass.qr_png(:'token', 'M', 6, 4, 'green'), 'base64'), E'\n', '')
\g (format=unaligned tuples_only=on) | base64 -d > "$HP_DEMO_OUT/health-code-green.png"
SELECT healthpass.qr_svg(:'token', 'M', 6, 4, 'green')
\g (format=unaligned tuples_only=on) | cat > "$HP_DEMO_OUT/health-code-green.svg"
SELECT length(healthpass.qr_png(:'token', 'M', 6, 4, 'green')) AS "PNG bytes",
       length(healthpass.qr_svg(:'token', 'M', 6, 4, 'green')) AS "SVG characters";
\echo 'wrote health-code-green.png and health-code-green.svg; zbarimg reads the PNG back as:'
\! zbarimg --nodbus --raw -q -Sbinary "$HP_DEMO_OUT/health-code-green.png" | cut -c1-40 | tr -d '\n'; echo '…'

\echo
\echo 'the same code in the terminal (level L; dark modules as ink: right on a light'
\echo 'background, pass invert => true on a dark one):'
SELECT healthpass.qr_text(:'token') \g (format=unaligned tuples_only=on)
\unset token
