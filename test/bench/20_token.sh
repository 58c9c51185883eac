#!/usr/bin/env bash
# Benchmark of HP1 issuing and verifying against raw libsodium, in one run,
# alternating: A = a C loop of crypto_sign_detached / crypto_sign_verify_detached
# over a message as long as the tokens' Sig_structure, B = issue_token() /
# verify_token() in SQL over many rows. Prints per-call medians and the
# ratios raw/SQL (1.0 = no overhead). Targets: verify >= 0.90, issue >= 0.80.
# A third baseline, raw signing plus zlib deflate of the same bytes, shows
# the share of issuing that is zlib's fixed per-stream cost.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${HP_BENCH_ROWS:-1000}
ROUNDS=${HP_BENCH_ROUNDS:-21}
mkdir -p test/bench/build
gcc -O2 -o test/bench/build/20_token_raw test/bench/20_token_raw.c -lsodium -lz
db=hp_bench_token
dropdb --if-exists "$db"; createdb "$db"
psql -X -q -d "$db" -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION healthpass;
CREATE TABLE body AS SELECT jsonb_build_object('c', 'green', 'n', '张*明', 'd', '4401**********123X',
    'r', 'P-' || lpad(to_hex(i), 8, '0'), 't', '2026-11-20') AS b FROM generate_series(1, $N) i;
CREATE TABLE tok AS SELECT healthpass.issue_token('health', b, '1 day') AS t FROM body;
CREATE FUNCTION bench_verify() RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); n bigint;
BEGIN
    SELECT count(*) INTO n FROM tok WHERE (healthpass.verify_token(t)).valid;
    IF n <> $N THEN RAISE EXCEPTION 'only % of $N tokens verified', n; END IF;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e9 / $N;
END \$\$;
CREATE FUNCTION bench_issue() RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); n bigint;
BEGIN
    SELECT count(healthpass.issue_token('health', b, '1 day')) INTO n FROM body;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e9 / $N;
END \$\$;
SQL
# the Sig_structure is the payload plus 29 bytes; the payload is the COSE minus 85
msglen=$(psql -X -Atq -d "$db" -c "SELECT round(avg(length(healthpass.pass_cose(t::healthpass.pass)) - 85 + 29)) FROM tok")
echo "# $N tokens, Sig_structure of $msglen bytes, $ROUNDS rounds"
rv=() sv=() rs=() si=() rz=()
for r in $(seq "$ROUNDS"); do
  rv+=("$(test/bench/build/20_token_raw verify "$N" "$msglen" 2>/dev/null)")
  sv+=("$(psql -X -Atq -d "$db" -c 'SELECT bench_verify()')")
  rs+=("$(test/bench/build/20_token_raw sign "$N" "$msglen" 2>/dev/null)")
  si+=("$(psql -X -Atq -d "$db" -c 'SELECT bench_issue()')")
  rz+=("$(test/bench/build/20_token_raw signzip "$N" "$msglen" 2>/dev/null)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mrv=$(median "${rv[@]}"); msv=$(median "${sv[@]}"); mrs=$(median "${rs[@]}"); msi=$(median "${si[@]}")
mrz=$(median "${rz[@]}")
printf 'verify: raw crypto_sign_verify_detached %8.0f ns, SQL verify_token %8.0f ns, ratio %.3f (target 0.90)\n' \
  "$mrv" "$msv" "$(echo "$mrv / $msv" | bc -l)"
printf 'issue:  raw crypto_sign_detached        %8.0f ns, SQL issue_token  %8.0f ns, ratio %.3f (target 0.80)\n' \
  "$mrs" "$msi" "$(echo "$mrs / $msi" | bc -l)"
printf 'issue:  raw sign + zlib deflate         %8.0f ns, SQL issue_token  %8.0f ns, ratio %.3f (zlib is the spec'"'"'s)\n' \
  "$mrz" "$msi" "$(echo "$mrz / $msi" | bc -l)"
dropdb "$db"
