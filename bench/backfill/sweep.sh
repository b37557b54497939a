#!/usr/bin/env bash
# Throughput against concurrency settings on the I/O-bound month (docs/benchmarks.md, issue 12):
# each "days:files" pair is one run of bench/backfill/run.ts without the anchor, results in
# .work/results/sweep-<days>x<files>.json. Extra arguments go to every run.
#   bash bench/backfill/sweep.sh "1:1 4:1 16:1 31:1 31:4" --days 31 --hours 24 --grid 300x600 --source s3 --latency-ms 20
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .work/results
pairs=$1
shift
for pair in $pairs; do
  days=${pair%%:*}
  files=${pair##*:}
  npx tsx bench/backfill/run.ts --skip-direct --max-days "$days" --max-files "$files" --json ".work/results/sweep-${days}x${files}.json" "$@" >/dev/null
  node -e 'const r = require(process.argv[1]); console.log(`${process.argv[2]} days x ${process.argv[3]} files: ${r.temporalSeconds} s, ${r.filesPerSecond.temporal} files/s, CPU server ${r.cpuSeconds.server} s worker ${r.cpuSeconds.workers.join("+")} s, load ${r.machine.loadAverage.mean}`)' "$PWD/.work/results/sweep-${days}x${files}.json" "$days" "$files"
done
