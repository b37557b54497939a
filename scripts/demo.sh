#!/usr/bin/env bash
# The main job on the embedded default: builds what it needs, then runs `temporal-kerchunk demo`
# (local Temporal dev server with its Web UI, a worker, a backfill over local sample data).
# Arguments are passed to the demo command (e.g. --keep to leave the server up for the Web UI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/provision.sh node temporal venv
npm run --silent build
exec dist/cli/main.js demo "$@"
