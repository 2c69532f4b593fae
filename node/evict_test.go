package node_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/slotvault/slotvault/internal/testutil"
)

// TestEvictionConcurrent runs writers against a node that is always over
// maxmemory (1 byte) with an evicting policy, so every write evicts, while
// the cron evicts too (go test -race covers the eviction paths).
func TestEvictionConcurrent(t *testing.T) {
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "volatile-ttl", "allkeys-random", "volatile-random"} {
		t.Run(policy, func(t *testing.T) {
			p := testutil.StartInProc(t, "maxmemory-policy "+policy)
			c := testutil.Dial(t, p.Addr())
			for i := 0; i < 200; i++ {
				c.Do("SET", "pre"+strconv.Itoa(i), "v", "EX", "1000")
			}
			if v, _ := c.Do("CONFIG", "SET", "maxmemory", "1"); v.Str != "OK" {
				t.Fatalf("CONFIG SET: %v", v)
			}
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cc := testutil.Dial(t, p.Addr())
					for i := 0; i < 100; i++ {
						v, _ := cc.Do("SET", "w"+strconv.Itoa(w)+":"+strconv.Itoa(i), "v", "EX", "1000")
						if v.IsError() && !strings.HasPrefix(v.Str, "OOM ") {
							t.Errorf("SET: %v", v)
						}
						cc.Do("GET", "pre1")
					}
				}()
			}
			wg.Wait()
			// Every key written before the limit went down is evicted. (A
			// few later writes may get in: in a test process the heap is
			// mostly not the node's, so the per-key estimate of what an
			// eviction frees is large; the next collection corrects it.)
			for i := 0; i < 200; i++ {
				if v, _ := c.Do("EXISTS", "pre"+strconv.Itoa(i)); v.Int != 0 {
					t.Fatalf("%s: pre%d survived", policy, i)
				}
			}
			info, _ := c.Do("INFO", "stats")
			n := 0
			for _, line := range strings.Split(info.Str, "\r\n") {
				if v, ok := strings.CutPrefix(line, "evicted_keys:"); ok {
					n, _ = strconv.Atoi(v)
				}
			}
			if n < 200 {
				t.Fatalf("%s: evicted_keys %d, want >= 200", policy, n)
			}
		})
	}
}
