#!/usr/bin/env bash
# Call lifecycles per second through the real API, webhooks, Call workflow
# and ledger, next to a bare three-activity workflow on the same Temporal
# dev server in the same run (docs/BENCHMARKS.md). Also prints the p50/p99
# of POST /api/calls and of the voice webhook at 8 calls at once, within
# whole lifecycles and alone (BenchmarkCallAuthorizeAndVoice).
#   scripts/bench-calls.sh             # 200 calls per point
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${CALLS:-200}
out=$(go test -run '^$' -bench 'BenchmarkBareThreeActivityWorkflow|BenchmarkCallLifecycle|BenchmarkCallAuthorizeAndVoice' -benchtime "${CALLS}x" -timeout 20m ./api/ 2>/dev/null |
  grep -E '^Benchmark')
echo "$out"
echo "$out" | awk '
  /BenchmarkBareThreeActivityWorkflow/ { for (i = 1; i <= NF; i++) if ($(i+1) == "workflows/s") ref = $i }
  /BenchmarkCallLifecycle/ { for (i = 1; i <= NF; i++) if ($(i+1) == "calls/s") { split($1, n, "db="); cps[n[2]] = $i } }
  END { for (d in cps) printf "ratio %s: %.2f calls/s per bare workflow/s (%s / %s)\n", d, cps[d] / ref, cps[d], ref }'
