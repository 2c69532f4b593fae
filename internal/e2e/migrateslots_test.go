package e2e

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// migrateSlots runs CLUSTER MIGRATESLOTS on src towards dst for ranges and
// waits for the background job; it returns the STATUS fields.
func migrateSlots(t *testing.T, src, dst *clusterNode, ranges ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: src.addr()})
	defer c.Close()
	args := []interface{}{"CLUSTER", "MIGRATESLOTS", "127.0.0.1", strconv.Itoa(dst.port)}
	for _, r := range ranges {
		args = append(args, r)
	}
	if err := c.Do(ctx, args...).Err(); err != nil {
		t.Fatalf("MIGRATESLOTS: %v", err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		v, err := c.Do(ctx, "CLUSTER", "MIGRATESLOTS", "STATUS").Result()
		if err != nil {
			t.Fatalf("STATUS: %v", err)
		}
		st := map[string]string{}
		switch x := v.(type) {
		case []interface{}:
			for i := 0; i+1 < len(x); i += 2 {
				st[x[i].(string)] = toString(x[i+1])
			}
		case map[interface{}]interface{}:
			for k, val := range x {
				st[k.(string)] = toString(val)
			}
		}
		switch st["state"] {
		case "done":
			return st
		case "failed":
			t.Fatalf("MIGRATESLOTS failed: %v", st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("MIGRATESLOTS still running: %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func toString(v interface{}) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

// TestMigrateSlotsUnderLoad moves 1000 slots with CLUSTER MIGRATESLOTS while
// a ClusterClient writes and reads; check is clean afterwards, every
// acknowledged write is readable and no key is on two masters.
func TestMigrateSlotsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rc := startMasters(t, 3)
	rdb := newClusterClient(rc.addrs())
	defer rdb.Close()
	filled := fillAllTypes(t, rdb, 10000)
	l := startReshardLoad(rdb, 2)
	defer func() {
		select {
		case <-l.stop:
		default:
			l.halt()
		}
	}()
	start := time.Now()
	st := migrateSlots(t, rc.nodes[0], rc.nodes[1], "0-499", "500-999")
	d := time.Since(start)
	keys, _ := strconv.Atoi(st["keys-moved"])
	t.Logf("MIGRATESLOTS of 1000 slots under load: %d keys in %v (%.0f keys/s), client SET p99 %v; status %v",
		keys, d.Round(time.Millisecond), float64(keys)/d.Seconds(), l.p99(true), st)
	if st["slots-done"] != "1000" {
		t.Fatalf("status: %v", st)
	}
	rc.check(t, "migrateslots")
	l.halt()
	t.Logf("load: %d writes, %d errors (last %v)", l.writes.Load(), l.errs.Load(), l.lastErr.Load())
	rc.verify(t, rdb, filled, l)
}

// TestMigrateSlotsBenchVsReshard moves 1000 slots with redis-cli --cluster
// reshard and then 1000 other slots with MIGRATESLOTS on the same
// slotvault cluster and reports keys/s for both.
func TestMigrateSlotsBenchVsReshard(t *testing.T) {
	if os.Getenv("SLOTVAULT_BENCH") == "" {
		t.Skip("benchmark: run with SLOTVAULT_BENCH=1")
	}
	const keys, slots = 60000, 1000
	ctx := context.Background()
	rc := startMasters(t, 3)
	rdb := newClusterClient(rc.addrs())
	defer rdb.Close()
	fillAllTypes(t, rdb, keys)
	src, dst := rc.nodes[0], rc.nodes[1]
	sc := redis.NewClient(&redis.Options{Addr: src.addr()})
	defer sc.Close()
	count := func(from, to int) int64 {
		var n int64
		for s := from; s < to; s++ {
			n += sc.ClusterCountKeysInSlot(ctx, s).Val()
		}
		return n
	}
	moved := count(0, slots)
	start := time.Now()
	out, err := runCLILong(t, "--cluster", "reshard", src.addr(), "--cluster-from", nodeID(t, src),
		"--cluster-to", nodeID(t, dst), "--cluster-slots", strconv.Itoa(slots), "--cluster-yes")
	d := time.Since(start)
	if err != nil {
		t.Fatalf("reshard: %v\n%s", err, lastLines(out, 5))
	}
	t.Logf("redis-cli reshard %d slots: %d keys in %v = %.0f keys/s", slots, moved, d.Round(time.Millisecond), float64(moved)/d.Seconds())
	rc.check(t, "reshard")
	moved = count(slots, 2*slots)
	start = time.Now()
	st := migrateSlots(t, src, dst, strconv.Itoa(slots)+"-"+strconv.Itoa(2*slots-1))
	d = time.Since(start)
	t.Logf("MIGRATESLOTS       %d slots: %d keys (%s moved) in %v = %.0f keys/s", slots, moved, st["keys-moved"],
		d.Round(time.Millisecond), float64(moved)/d.Seconds())
	rc.check(t, "migrateslots")
}
