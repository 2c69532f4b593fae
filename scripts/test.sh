#!/usr/bin/env bash
# Runs slotvault's whole test suite: installs what the tests need (redis-server,
# redis-cli, redis-benchmark from Debian's redis packages, openssl), vets, runs every test
# (unit, differential against real redis-server, end-to-end with real processes),
# then short fuzz runs. Usage: bash scripts/test.sh   (SHORT=1 for the fast loop)
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
# openssl: the TLS tests check keys and connections with the openssl tool.
if ! need redis-server || ! need redis-cli || ! need redis-benchmark || ! need openssl; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  echo "installing redis-server, redis-tools and openssl (apt)..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools openssl >/dev/null
fi
redis-server --version
# MinIO for the backup tests (built once, pinned; skipped if already there).
bash scripts/minio.sh install
export MINIO_BIN="$(bash scripts/minio.sh path)"

export CI="${CI:-}"
go vet ./...

if [ "${SHORT:-}" = "1" ]; then
  go test -short -count=1 -timeout 10m ./...
  exit 0
fi

go test -count=1 -timeout 25m ./...

# Short fuzz runs of the parsers that face untrusted input.
FUZZTIME="${FUZZTIME:-10s}"
fuzz() { # package target
  if grep -rqs "func $2(" "$1"/*_test.go; then
    go test -run='^$' -fuzz="^$2\$" -fuzztime="$FUZZTIME" "./$1"
  fi
}
fuzz node FuzzRequestPath
fuzz rdb FuzzDecode
fuzz internal/glob FuzzMatch
fuzz config FuzzSplitArgs
echo "all tests passed"
