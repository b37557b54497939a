#!/usr/bin/env bash
# Builds (or reuses) everything the demo and the tests need that npm does not bring:
#   temporal (dev server + Web UI), minio (S3 server), toxiproxy-server (fault injection),
#   goaws (an SQS server, for `listen --sqs-queue-url`; Query protocol), moto's server (an SQS server
#   speaking AWS's JSON protocol, from PyPI into a virtualenv of its own),
#   and a Python virtualenv with kerchunk/xarray/h5py/netCDF4 (the reference implementation).
# Nothing is downloaded as a prebuilt binary: Go tools come from the Go module proxy and are
# compiled here; Python packages come from PyPI. Results are cached per version in
# $TK_CACHE_DIR (default ~/.cache/temporal-kerchunk) and linked into .tools/ and .venv, so a
# fresh clone on a machine that built them before is ready in seconds.
#
# Usage: scripts/provision.sh [node|temporal|temporal-server|minio|toxiproxy|goaws|moto|venv ...]   (default: all)
# Overrides: TEMPORAL_CLI_PATH, TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH, MINIO_PATH, TOXIPROXY_PATH, GOAWS_PATH,
# MOTO_SERVER_PATH
# point at existing binaries.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${TK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/temporal-kerchunk}
BIN="$ROOT/.tools/bin"
mkdir -p "$BIN" "$CACHE"

# Pinned versions. Temporal CLI tags after v1.5.1 carry a `replace` directive and cannot be
# `go install`ed. MinIO publishes no semver tags: this is the pseudo-version of its last commit.
TEMPORAL_MODULE=github.com/temporalio/cli/cmd/temporal@v1.5.1
MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
TOXIPROXY_MODULE=github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0
# v0.4.5 is the newest tag on the module proxy; it speaks SQS's Query protocol only (the SDK is told so in tests).
GOAWS_MODULE=github.com/Admiral-Piett/goaws/app/cmd@v0.4.5
# The production-shaped cluster (test/harness/servers/temporalCluster.ts): the Temporal server itself and its SQL
# schema tool. v1.29.1 is the server the CLI above embeds (its modules are already in the cache
# after the CLI build); later tags need a newer Go than 1.25.
TEMPORAL_SERVER_MODULE=go.temporal.io/server/cmd/server@v1.29.1
TEMPORAL_SQL_TOOL_MODULE=go.temporal.io/server/cmd/tools/sql@v1.29.1

log() { printf '[provision] %s\n' "$*" >&2; }

timed() { # timed LABEL CMD... : runs CMD, prints how long it took
  local label=$1 start end
  shift
  start=$(date +%s)
  # Its own check, not set -e's: errexit is off inside a function called from an || list.
  "$@" || { local status=$?; log "$label: failed (exit $status)"; return "$status"; }
  end=$(date +%s)
  log "$label: done in $((end - start)) s"
}

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    log "ERROR: Go is not installed, and $1 is built from source with 'go install'."
    log "       Install Go >= 1.24 (https://go.dev/dl/), or set $2 to an existing $1 binary."
    return 1
  fi
}

# go_tool NAME MODULE OUT_NAME OVERRIDE_VAR: build MODULE into the cache (once per version) and
# link it as .tools/bin/OUT_NAME, unless OVERRIDE_VAR names an existing binary.
go_tool() {
  local name=$1 module=$2 out=$3 override=$4
  local override_path=${!override:-}
  if [[ -n $override_path ]]; then
    [[ -x $override_path ]] || { log "ERROR: $override=$override_path is not an executable file"; return 1; }
    ln -sf "$override_path" "$BIN/$out"
    log "$name: using $override=$override_path"
    return 0
  fi
  local version=${module##*@}
  local dir="$CACHE/go-bin/$out-$version"
  if [[ -x $dir/$out ]]; then
    ln -sf "$dir/$out" "$BIN/$out"
    log "$name: reusing $dir/$out"
    return 0
  fi
  need_go "$name" "$override"
  log "$name: building $module with go install (first time on this machine: a few minutes)"
  local staging="$dir.partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  # -modcacherw keeps the module cache deletable; GOFLAGS from the user are kept otherwise.
  timed "$name" env GOBIN="$staging" GOFLAGS="${GOFLAGS:-} -modcacherw" go install "$module"
  local built
  built=$(find "$staging" -maxdepth 1 -type f -perm -u+x | head -n 1)
  [[ -n $built ]] || { log "ERROR: go install $module produced no binary"; return 1; }
  [[ $built == "$staging/$out" ]] || mv "$built" "$staging/$out"
  rm -rf "$dir"
  mv "$staging" "$dir"
  ln -sf "$dir/$out" "$BIN/$out"
}

provision_temporal() {
  if [[ -z ${TEMPORAL_CLI_PATH:-} ]] && ! command -v go >/dev/null 2>&1; then
    log "temporal: Go is missing; the tests will let @temporalio/testing download a dev server (needs internet)."
    return 0
  fi
  go_tool temporal "$TEMPORAL_MODULE" temporal TEMPORAL_CLI_PATH
}

provision_minio() { go_tool minio "$MINIO_MODULE" minio MINIO_PATH; }
provision_toxiproxy() { go_tool toxiproxy "$TOXIPROXY_MODULE" toxiproxy-server TOXIPROXY_PATH; }
provision_goaws() { go_tool goaws "$GOAWS_MODULE" goaws GOAWS_PATH; }
# One after the other: the schema tool reuses most of the server's compiled packages. Without Go
# the production-shaped cluster test (test/cluster.test.ts) is skipped, saying why.
provision_temporal_server() {
  if [[ -z ${TEMPORAL_SERVER_PATH:-} ]] && ! command -v go >/dev/null 2>&1; then
    log "temporal-server: Go is missing; test/cluster.test.ts (the production-shaped cluster) will be skipped."
    return 0
  fi
  go_tool temporal-server "$TEMPORAL_SERVER_MODULE" temporal-server TEMPORAL_SERVER_PATH
  go_tool temporal-sql-tool "$TEMPORAL_SQL_TOOL_MODULE" temporal-sql-tool TEMPORAL_SQL_TOOL_PATH
}

# The interpreter for the venv: VirtualiZarr and icechunk 2 need Python >= 3.12. $PYTHON if set;
# else python3.13/python3.12/python3 on PATH (pyenv shims that do not run are skipped); else the
# newest of pyenv's ~/.pyenv/versions/3.1[2-9]*. Prints the path, or fails saying what to install.
python_at_least_312() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

pick_python() {
  if [[ -n ${PYTHON:-} ]]; then
    if python_at_least_312 "$PYTHON"; then printf '%s\n' "$PYTHON"; return 0; fi
    log "ERROR: PYTHON=$PYTHON is not a working Python >= 3.12 with venv ($("$PYTHON" --version 2>&1 | head -n 1))."
    return 1
  fi
  local candidate
  for candidate in python3.14 python3.13 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && python_at_least_312 "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  local root=${PYENV_ROOT:-$HOME/.pyenv}
  for candidate in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -V -r); do
    if python_at_least_312 "$candidate/bin/python3"; then
      printf '%s\n' "$candidate/bin/python3"
      return 0
    fi
  done
  log "ERROR: no Python >= 3.12 found (VirtualiZarr and icechunk need it). Install one (Debian 13: apt-get"
  log "       install python3 python3-venv; elsewhere python.org or 'pyenv install 3.12'), or set PYTHON to it."
  return 1
}

# cached_venv NAME REQUIREMENTS: a virtualenv of the Python pick_python chose with REQUIREMENTS
# installed, in the cache under NAME-<hash of the interpreter's version and the pins> (made once,
# marked complete only when pip succeeded); prints its path.
cached_venv() {
  local name=$1 requirements=$2 python key venv
  python=$(pick_python) || return 1
  key=$( { "$python" --version 2>&1; cat "$requirements"; } | sha256sum | cut -c1-16)
  venv="$CACHE/$name-$key"
  if [[ ! -f $venv/.complete ]]; then
    log "$name: creating $venv with $python from ${requirements#"$ROOT"/} (first time: about a minute)"
    rm -rf "$venv"
    timed "$name" bash -c "'$python' -m venv '$venv' && '$venv/bin/pip' install --quiet --disable-pip-version-check -r '$requirements'" >&2 || return 1
    touch "$venv/.complete"
  else
    log "$name: reusing $venv"
  fi
  printf '%s\n' "$venv"
}

provision_venv() {
  local venv
  venv=$(cached_venv venv "$ROOT/python/requirements.txt") || return 1
  # .venv is a link into the cache; replace a stale link or an old real folder of ours.
  if [[ -L $ROOT/.venv || ! -e $ROOT/.venv ]]; then
    ln -sfn "$venv" "$ROOT/.venv"
  else
    log "venv: $ROOT/.venv is a real folder, not our link; using it as it is (remove it to use $venv)"
  fi
}

# moto's server in a virtualenv of its own (python/requirements-moto.txt), cached like .venv by the
# interpreter and the pins; linked as .tools/bin/moto_server.
provision_moto() {
  if [[ -n ${MOTO_SERVER_PATH:-} ]]; then
    [[ -x $MOTO_SERVER_PATH ]] || { log "ERROR: MOTO_SERVER_PATH=$MOTO_SERVER_PATH is not an executable file"; return 1; }
    ln -sf "$MOTO_SERVER_PATH" "$BIN/moto_server"
    log "moto: using MOTO_SERVER_PATH=$MOTO_SERVER_PATH"
    return 0
  fi
  local venv
  venv=$(cached_venv moto-venv "$ROOT/python/requirements-moto.txt") || return 1
  [[ -x $venv/bin/moto_server ]] || { log "ERROR: moto installed no moto_server in $venv"; return 1; }
  ln -sf "$venv/bin/moto_server" "$BIN/moto_server"
}

provision_node() {
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [[ -f $stamp && $stamp -nt $ROOT/package-lock.json ]]; then
    log "node: node_modules up to date"
    return 0
  fi
  log "node: npm ci"
  (cd "$ROOT" && timed "npm ci" npm ci --no-audit --no-fund --loglevel=error)
}

main() {
  local targets=("$@")
  [[ ${#targets[@]} -gt 0 ]] || targets=(node temporal temporal-server minio toxiproxy goaws moto venv)
  local start=$(date +%s)
  # Go builds are independent and each takes minutes cold: run them side by side. The server
  # comes after the CLI, which embeds the same server version: its compiled packages are reused.
  local pids=() failed=0 all=" ${targets[*]} "
  for target in "${targets[@]}"; do
    case $target in
      temporal)
        if [[ $all == *" temporal-server "* ]]; then
          { provision_temporal && provision_temporal_server; } &
        else
          provision_temporal &
        fi
        pids+=($!) ;;
      minio | toxiproxy | goaws) "provision_$target" & pids+=($!) ;;
      temporal-server) [[ $all == *" temporal "* ]] || { provision_temporal_server & pids+=($!); } ;;
      node | venv | moto) "provision_$target" ;;
      *) log "unknown target '$target' (expected node, temporal, temporal-server, minio, toxiproxy, goaws, moto, venv)"; exit 2 ;;
    esac
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [[ $failed -eq 0 ]] || { log "ERROR: some tools could not be provisioned (see above)"; exit 1; }
  log "all requested tools ready in $(($(date +%s) - start)) s"
}

main "$@"
