#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (npm packages, Temporal dev
# server, MinIO, Toxiproxy, Python venv; cached after the first run), type-checks, then runs every
# test against a real Temporal dev server and a real MinIO started for the run.
# Arguments, if any, are test files to run instead of all of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/provision.sh
echo "[test] type-checking"
# Incremental: a warm run checks again only what changed since the last (.work/ is not in git).
mkdir -p .work
node_modules/.bin/tsc -p tsconfig.json --noEmit --incremental --tsBuildInfoFile .work/tsc-test.tsbuildinfo
exec node_modules/.bin/tsx test/run.ts "$@"
