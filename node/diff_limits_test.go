package node_test

import (
	"testing"

	"github.com/slotvault/slotvault/internal/testutil"
)

// TestDiffLimitsConfig compares the limit directives' CONFIG SET/GET with
// Redis: client-output-buffer-limit parsing, merging and errors, and the
// maxmemory family.
func TestDiffLimitsConfig(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
config get client-output-buffer-limit
config set client-output-buffer-limit "pubsub 1mb 0 0"
config get client-output-buffer-limit
config set client-output-buffer-limit "normal 1mb 2mb 3"
config get client-output-buffer-limit
config set client-output-buffer-limit "NORMAL 1 1 1 pubsub 2 2 2"
config get client-output-buffer-limit
config set client-output-buffer-limit "replica 10 20 30"
config get client-output-buffer-limit
config set client-output-buffer-limit "slave 1k 1m 1"
config get client-output-buffer-limit
config set client-output-buffer-limit "pubsub -1 0 0"
config set client-output-buffer-limit "pubsub 1 1 -1"
config set client-output-buffer-limit "pubsub 1 1 1x"
config set client-output-buffer-limit "pubsub 1x 1 1"
config set client-output-buffer-limit "pubsub 1 1 1 bogus 1 1 1"
config set client-output-buffer-limit "master 1 1 1"
config set client-output-buffer-limit "pubsub 1 1"
config set client-output-buffer-limit "pubsub"
config get client-output-buffer-limit
config set client-output-buffer-limit "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
config get client-output-buffer-limit
~ config get maxmemory*
config set maxmemory-policy allkeys-lru
config set maxmemory-policy volatile-ttl
config set maxmemory-policy bogus
config get maxmemory-policy
config set maxmemory-samples 0
config set maxmemory-samples 10
config get maxmemory-samples
config set maxmemory-policy noeviction
config set maxmemory-samples 5
config get maxclients
config get timeout
config set timeout -1
config set maxclients 0
config get shutdown-timeout
config set shutdown-timeout 5
config get shutdown-timeout
config set shutdown-timeout 10
~ config get shutdown-on-sig*
config get replica-ignore-maxmemory
`)
}

// TestDiffMaxmemoryOOM sets maxmemory to 1 byte, so both servers are always
// over it: noeviction refuses denyoom commands (also when queued in MULTI),
// reads and deletions still run; an evicting policy empties the dataset at
// CONFIG SET and then refuses writes too.
func TestDiffMaxmemoryOOM(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
set a 1
rpush l a b c
sadd s x
config set maxmemory 1
set b 2
append a x
incr a
lpush l z
get a
lrange l 0 -1
del s
exists s
multi
get a
set c 3
exec
multi
del a
exec
config set maxmemory 0
set b 2
info errorstats
config set maxmemory-policy allkeys-lru
config set maxmemory 1
dbsize
set x 1
dbsize
config set maxmemory 0
config set maxmemory-policy noeviction
`)
}

func TestDiffShutdownCommandInfo(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
command info shutdown
? command docs shutdown
command getkeys shutdown
`)
}
