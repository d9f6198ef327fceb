#!/usr/bin/env bash
# Ledger throughput next to pgbench, in one run on one machine, so the ratio
# means something on a noisy box. Needs a Postgres at $PGURL (default: the
# local trust-auth server) and pgbench on PATH.
#   scripts/bench-ledger.sh            # 10 s per pgbench point, 5 s per ledger point
set -euo pipefail
cd "$(dirname "$0")/.."
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
SECS=${SECS:-10}
BENCHTIME=${BENCHTIME:-5s}
db=mobayilo_pgbench_$$
psql "$PGURL" -qc "CREATE DATABASE $db" >/dev/null
trap 'psql "$PGURL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
bench_url=${PGURL/\/postgres\?/\/$db?}
pgbench -q -i -s 1 "$bench_url" >/dev/null 2>&1
hot=$(mktemp)
cat > "$hot" <<'SQL'
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = 1;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, :delta, CURRENT_TIMESTAMP);
END;
SQL
declare -A ref
for c in 1 8 32; do
  ref[many-$c]=$(pgbench -N -c $c -j 2 -T "$SECS" "$bench_url" 2>/dev/null | awk '/^tps/ {print int($3)}')
  ref[hot-$c]=$(pgbench -f "$hot" -c $c -j 2 -T "$SECS" "$bench_url" 2>/dev/null | awk '/^tps/ {print int($3)}')
done
rm -f "$hot"
out=$(TEST_DATABASE_URL="$PGURL" go test -run '^$' -bench BenchmarkPost -benchtime "$BENCHTIME" ./internal/ledger/)
printf '%-8s %-8s %12s %14s %7s\n' wallets writers ledger/s pgbench_tps ratio
for spread in many hot; do
  for c in 1 8 32; do
    got=$(echo "$out" | awk -v n="wallets=$spread/writers=$c" '$1 ~ n {for (i=1;i<=NF;i++) if ($(i+1)=="postings/s") print int($i)}')
    r=${ref[$spread-$c]}
    printf '%-8s %-8s %12s %14s %7.2f\n' "$spread" "$c" "$got" "$r" "$(echo "$got / $r" | bc -l)"
  done
done
echo "(reference: many = pgbench -N simple-update; hot = one-row UPDATE + history INSERT script)"
