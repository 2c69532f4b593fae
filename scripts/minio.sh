#!/usr/bin/env bash
# Installs the MinIO server the backup tests run against (a pinned version
# known to build and serve here; the first build takes about 6 minutes).
#   bash scripts/minio.sh install   build it unless already there
#   bash scripts/minio.sh path      print the binary's path (exit 1 if missing)
set -euo pipefail
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
GOBIN_DIR="${GOBIN:-$(go env GOPATH)/bin}"
BIN="$GOBIN_DIR/minio"

case "${1:-install}" in
  path)
    if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
    command -v minio && exit 0
    exit 1 ;;
  install)
    if [ -x "$BIN" ] || command -v minio >/dev/null 2>&1; then
      echo "minio already installed: $( [ -x "$BIN" ] && echo "$BIN" || command -v minio )"
      exit 0
    fi
    echo "building minio $MINIO_VERSION (about 6 minutes the first time)..."
    GOBIN="$GOBIN_DIR" go install "github.com/minio/minio@$MINIO_VERSION"
    echo "installed $BIN" ;;
  *)
    echo "usage: $0 [install|path]" >&2; exit 2 ;;
esac
