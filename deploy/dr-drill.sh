#!/usr/bin/env bash
# Disaster-recovery drill (run it monthly; see docs/restore.md).
#
# 1. starts a local MinIO and a 3-master slotvault cluster that backs up
#    to it (full backup + log shipped every 100 ms),
# 2. runs a write workload, notes a time T, keeps writing and deleting,
# 3. destroys every node (kill -9, data folders removed),
# 4. restores the cluster to T from MinIO with `slotvault restore cluster`,
#    starts it, and compares every key with the dataset recorded at T.
#
# Exit status 0 means the drill passed. Needs: go, redis-cli, minio
# (scripts/minio.sh installs it at /root/go/bin/minio). Ports: BASE_PORT
# (default 21000) .. +5 and MINIO_PORT (default 21900); never 7000-7005.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/slotvault-drill.XXXXXX)}
BASE_PORT=${BASE_PORT:-21000}
MINIO_PORT=${MINIO_PORT:-21900}
MINIO=${MINIO:-$(command -v minio || echo /root/go/bin/minio)}
KEYS=${KEYS:-2000}
export AWS_ACCESS_KEY_ID=drill-access AWS_SECRET_ACCESS_KEY=drill-secret-key
PIDS=()

log() { echo "[drill $(date -u +%H:%M:%S)] $*"; }
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

log "work folder $WORK"
cd "$ROOT" && go build -o "$WORK/slotvault" ./cmd/slotvault
SV="$WORK/slotvault"

log "starting MinIO on $MINIO_PORT"
mkdir -p "$WORK/minio/drill"          # a folder at the top of the data dir is a bucket
MINIO_ROOT_USER=$AWS_ACCESS_KEY_ID MINIO_ROOT_PASSWORD=$AWS_SECRET_ACCESS_KEY \
  "$MINIO" server --address 127.0.0.1:$MINIO_PORT --console-address 127.0.0.1:$((MINIO_PORT+1)) "$WORK/minio" >"$WORK/minio.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$MINIO_PORT/minio/health/ready" >/dev/null && break; sleep 0.1; done
TARGET=s3://drill/cluster
EP=http://127.0.0.1:$MINIO_PORT

start_node() { # dir conf
  (cd "$1" && exec "$SV" server "$2") >"$1/stdout.log" 2>&1 &
  PIDS+=($!)
  echo $! >"$1/pid"
}

log "starting 3 masters on $BASE_PORT..$((BASE_PORT+2))"
ADDRS=()
for i in 0 1 2; do
  port=$((BASE_PORT+i)); d="$WORK/live/$port"; mkdir -p "$d"
  cat >"$d/redis.conf" <<CONF
port $port
bind 127.0.0.1
cluster-enabled yes
cluster-config-file nodes.conf
appendonly yes
backup-target $TARGET
backup-s3-endpoint $EP
backup-schedule "@every 1h"
backup-log-ship-interval 100ms
CONF
  start_node "$d" ./redis.conf
  ADDRS+=(127.0.0.1:$port)
done
for a in "${ADDRS[@]}"; do until redis-cli -u "redis://$a" ping >/dev/null 2>&1; do sleep 0.1; done; done
redis-cli --cluster create "${ADDRS[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
until redis-cli -c -p $BASE_PORT cluster info | grep -q cluster_state:ok; do sleep 0.2; done

dump_all() { # prints "key<TAB>type<TAB>value" sorted, for every master
  for a in "$@"; do
    h=${a%:*}; p=${a#*:}
    redis-cli -h "$h" -p "$p" --scan | while read -r k; do
      t=$(redis-cli -h "$h" -p "$p" type "$k")
      case $t in
        string) v=$(redis-cli -h "$h" -p "$p" get "$k");;
        hash) v=$(redis-cli -h "$h" -p "$p" hgetall "$k" | paste -sd, | tr , '\n' | paste - - | sort | paste -sd,);;
        list) v=$(redis-cli -h "$h" -p "$p" lrange "$k" 0 -1 | paste -sd,);;
        set) v=$(redis-cli -h "$h" -p "$p" smembers "$k" | sort | paste -sd,);;
        zset) v=$(redis-cli -h "$h" -p "$p" zrange "$k" 0 -1 withscores | paste -sd,);;
      esac
      printf '%s\t%s\t%s\n' "$k" "$t" "$v"
    done
  done | sort
}

workload() {
  for i in $(seq 1 "$2"); do
    redis-cli -c -p $BASE_PORT set "str:$1:$i" "v$i" >/dev/null
    redis-cli -c -p $BASE_PORT hset "hash:$1:$i" f "$i" g x >/dev/null
    redis-cli -c -p $BASE_PORT rpush "list:$1:$i" a b "$i" >/dev/null
    redis-cli -c -p $BASE_PORT zadd "zset:$1:$i" "$i" m >/dev/null
  done
}

log "workload: $KEYS keys per type, then a full backup of every node"
workload base $((KEYS/4))
for a in "${ADDRS[@]}"; do redis-cli -u "redis://$a" svbackup now >/dev/null || true; done
sleep 2
workload after $((KEYS/10))
sleep 1
T=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
log "T = $T; recording the expected dataset"
dump_all "${ADDRS[@]}" >"$WORK/expected.tsv"
sleep 0.1
workload late $((KEYS/10))
redis-cli -c -p $BASE_PORT del str:base:1 >/dev/null
sleep 2   # let the last log ship

log "destroying every node"
for i in 0 1 2; do d="$WORK/live/$((BASE_PORT+i))"; kill -9 "$(cat "$d/pid")"; done
sleep 0.3
rm -rf "$WORK/live"

"$SV" restore list --target $TARGET --s3-endpoint $EP
log "restoring the cluster to $T"
"$SV" restore cluster --target $TARGET --s3-endpoint $EP --at "$T" --out "$WORK/restored" \
  --ports $((BASE_PORT+3)),$((BASE_PORT+4)),$((BASE_PORT+5))
RADDRS=()
for d in "$WORK"/restored/*/; do
  start_node "$d" "$d/redis.conf"
  RADDRS+=(127.0.0.1:$(awk '/^port /{print $2}' "$d/redis.conf"))
done
for a in "${RADDRS[@]}"; do until redis-cli -u "redis://$a" ping 2>/dev/null | grep -q PONG; do sleep 0.1; done; done
until redis-cli -u "redis://${RADDRS[0]}" cluster info | grep -q cluster_state:ok; do sleep 0.2; done

dump_all "${RADDRS[@]}" >"$WORK/restored.tsv"
if diff -q "$WORK/expected.tsv" "$WORK/restored.tsv" >/dev/null; then
  log "PASS: $(wc -l <"$WORK/expected.tsv") keys identical to the dataset at $T"
else
  log "FAIL: the restored dataset differs from the one at $T"
  diff "$WORK/expected.tsv" "$WORK/restored.tsv" | head -20
  exit 1
fi
