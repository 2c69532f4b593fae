package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/testutil"
)

// Limits end-to-end: maxmemory with noeviction and the eviction policies,
// maxclients, idle timeout, output buffer limits; real binaries.

var limitArgs = []string{"--save", "", "--appendonly", "no", "--backup-target", ""}

// fill writes count keys prefix:N with size-byte values in pipelines and
// returns the first error reply, if any.
func fill(t *testing.T, c *redis.Client, prefix string, count, size int, ttl bool) error {
	t.Helper()
	ctx := context.Background()
	val := strings.Repeat("x", size)
	for i := 0; i < count; i += 100 {
		p := c.Pipeline()
		for j := i; j < i+100 && j < count; j++ {
			if ttl {
				p.Set(ctx, prefix+":"+strconv.Itoa(j), val, 3600e9)
			} else {
				p.Set(ctx, prefix+":"+strconv.Itoa(j), val, 0)
			}
		}
		cmds, err := p.Exec(ctx)
		for _, cmd := range cmds {
			if cmd.Err() != nil {
				return cmd.Err()
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func infoInt(t *testing.T, addr, section, field string) int64 {
	t.Helper()
	v, _ := strconv.ParseInt(infoOf(t, addr, section)[field], 10, 64)
	return v
}

func TestMaxmemoryNoevictionOOM(t *testing.T) {
	p := testutil.StartSlotvault(t, append(limitArgs, "--maxmemory", "24mb")...)
	c := goClient(t, p.Addr())
	err := fill(t, c, "k", 100000, 1000, false)
	if err == nil || err.Error() != "OOM command not allowed when used memory > 'maxmemory'." {
		t.Fatalf("writing 100MB under maxmemory 24mb: %v", err)
	}
	ctx := context.Background()
	// Reads and deletions still work; evicted_keys stays 0.
	if _, err := c.Get(ctx, "k:0").Result(); err != nil {
		t.Fatalf("GET under OOM: %v", err)
	}
	if _, err := c.Del(ctx, "k:0").Result(); err != nil {
		t.Fatalf("DEL under OOM: %v", err)
	}
	if n := infoInt(t, p.Addr(), "stats", "evicted_keys"); n != 0 {
		t.Fatalf("noeviction evicted %d keys", n)
	}
	// Raising the limit lets writes in again.
	c.ConfigSet(ctx, "maxmemory", "0")
	if err := c.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatalf("SET after raising maxmemory: %v", err)
	}
}

func TestMaxmemoryAllkeysPoliciesKeepUnderLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random"} {
		t.Run(policy, func(t *testing.T) {
			const maxmem = 32 << 20
			p := testutil.StartSlotvault(t, append(limitArgs, "--maxmemory", strconv.Itoa(maxmem), "--maxmemory-policy", policy)...)
			c := goClient(t, p.Addr())
			const keys, size = 100000, 1000 // ~100 MB written
			if err := fill(t, c, "k", keys, size, false); err != nil {
				t.Fatalf("write under %s: %v", policy, err)
			}
			ctx := context.Background()
			dbsize := c.DBSize(ctx).Val()
			evicted := infoInt(t, p.Addr(), "stats", "evicted_keys")
			if evicted == 0 || dbsize >= keys || dbsize+evicted != keys {
				t.Fatalf("dbsize %d evicted %d, want evictions adding up to %d", dbsize, evicted, keys)
			}
			// What remains fits in maxmemory: the data set left is at most
			// maxmemory worth of values.
			if int64(dbsize)*size > maxmem {
				t.Fatalf("%d keys of %d bytes left under maxmemory %d", dbsize, size, maxmem)
			}
			t.Logf("%s: %d keys kept, %d evicted, used_memory %s", policy, dbsize, evicted, infoOf(t, p.Addr(), "memory")["used_memory_human"])
		})
	}
}

func TestMaxmemoryVolatilePoliciesSpareOtherKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, policy := range []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"} {
		t.Run(policy, func(t *testing.T) {
			p := testutil.StartSlotvault(t, append(limitArgs, "--maxmemory", "32mb", "--maxmemory-policy", policy)...)
			c := goClient(t, p.Addr())
			ctx := context.Background()
			if err := fill(t, c, "keep", 2000, 1000, false); err != nil {
				t.Fatal(err)
			}
			if err := fill(t, c, "tmp", 60000, 1000, true); err != nil {
				t.Fatalf("volatile writes: %v", err)
			}
			if n := infoInt(t, p.Addr(), "stats", "evicted_keys"); n == 0 {
				t.Fatal("nothing evicted")
			}
			for i := 0; i < 2000; i++ {
				if c.Exists(ctx, "keep:"+strconv.Itoa(i)).Val() != 1 {
					t.Fatalf("%s evicted keep:%d, a key without expiry", policy, i)
				}
			}
			// With no volatile key left to evict, writes get -OOM.
			err := fill(t, c, "more", 100000, 1000, false)
			if err == nil || !strings.HasPrefix(err.Error(), "OOM ") {
				t.Fatalf("writing without volatile keys left: %v", err)
			}
		})
	}
}

// TestEvictionPropagatesToReplica checks that evictions reach the replica
// as DELs: afterwards both hold the same keys.
func TestEvictionPropagatesToReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	master := startMaster(t, "--maxmemory", "32mb", "--maxmemory-policy", "allkeys-random")
	replica := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), master)
	waitLoaded(t, replica.Addr())
	waitInSync(t, master, replica)
	c := goClient(t, master.Addr())
	if err := fill(t, c, "k", 60000, 1000, false); err != nil {
		t.Fatal(err)
	}
	if infoInt(t, master.Addr(), "stats", "evicted_keys") == 0 {
		t.Fatal("nothing evicted")
	}
	waitInSync(t, master, replica)
	ctx := context.Background()
	if m, r := c.DBSize(ctx).Val(), goClient(t, replica.Addr()).DBSize(ctx).Val(); m != r {
		t.Fatalf("master %d keys, replica %d", m, r)
	}
	if n := infoInt(t, replica.Addr(), "stats", "evicted_keys"); n != 0 {
		t.Fatalf("replica evicted %d keys itself", n)
	}
}
