package e2e

import (
	"context"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestProxyBenchmark compares, in the same run against the same 3-master
// cluster, a plain go-redis client through the proxy with a cluster-aware
// go-redis ClusterClient talking to the nodes directly: 50 clients, half
// SET half GET over 100k keys, at pipeline depth 1 and 16. Modes alternate;
// figures are medians over SLOTVAULT_BENCH_RUNS runs (default 3).
//
//	SLOTVAULT_BENCH=1 go test ./internal/e2e/ -run TestProxyBenchmark -count=1 -v
func TestProxyBenchmark(t *testing.T) {
	if os.Getenv("SLOTVAULT_BENCH") == "" {
		t.Skip("set SLOTVAULT_BENCH=1 to run the proxy benchmark")
	}
	runs := 3
	if v, err := strconv.Atoi(os.Getenv("SLOTVAULT_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	dur := 3 * time.Second
	rc := startMasters(t, 3)
	px := startProxy(t, rc.addrs())
	pxOwn := startProxy(t, rc.addrs(), "--multiplex", "no")
	const clients = 50
	direct := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.addrs(), PoolSize: clients})
	defer direct.Close()
	viaProxy := redis.NewClient(&redis.Options{Addr: px.Addr(), PoolSize: clients})
	defer viaProxy.Close()
	viaOwn := redis.NewClient(&redis.Options{Addr: pxOwn.Addr(), PoolSize: clients})
	defer viaOwn.Close()
	modes := map[string]redis.Cmdable{"proxy": viaProxy, "proxy-own-conns": viaOwn, "direct": direct}
	ctx := context.Background()
	// Warm up: fill the keys, open the pools.
	for _, c := range []redis.Cmdable{direct, viaProxy, viaOwn} {
		benchRun(c, clients, 16, time.Second)
	}
	type res struct{ ops, p99 []float64 }
	results := map[string]*res{}
	for r := 0; r < runs; r++ {
		for _, p := range []int{1, 16} {
			order := []string{"proxy", "direct", "proxy-own-conns"}
			if r%2 == 1 {
				order = []string{"proxy-own-conns", "direct", "proxy"}
			}
			for _, mode := range order {
				ops, p99 := benchRun(modes[mode], clients, p, dur)
				key := mode + " P=" + strconv.Itoa(p)
				if results[key] == nil {
					results[key] = &res{}
				}
				results[key].ops = append(results[key].ops, ops)
				results[key].p99 = append(results[key].p99, p99.Seconds()*1000)
			}
		}
	}
	_ = ctx
	med := func(v []float64) float64 {
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	for _, p := range []string{"1", "16"} {
		pr, po, dr := results["proxy P="+p], results["proxy-own-conns P="+p], results["direct P="+p]
		t.Logf("P=%-2s proxy %7.0f ops/s p99 %6.2f ms | proxy --multiplex no %7.0f ops/s p99 %6.2f ms | ClusterClient direct %7.0f ops/s p99 %6.2f ms | proxy/direct %.2fx (no multiplex %.2fx)",
			p, med(pr.ops), med(pr.p99), med(po.ops), med(po.p99), med(dr.ops), med(dr.p99), med(pr.ops)/med(dr.ops), med(po.ops)/med(dr.ops))
	}
}

// benchRun runs clients goroutines issuing pipelines of depth p for d and
// returns commands per second and the p99 latency of one call (one
// pipeline at p > 1).
func benchRun(c redis.Cmdable, clients, p int, d time.Duration) (float64, time.Duration) {
	ctx := context.Background()
	var mu sync.Mutex
	var lat []time.Duration
	var total int
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	val := "0123456789abcdef"
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			var my []time.Duration
			n := 0
			for time.Now().Before(deadline) {
				start := time.Now()
				if p == 1 {
					k := "bench:" + strconv.Itoa(rng.IntN(100000))
					if rng.IntN(2) == 0 {
						c.Set(ctx, k, val, 0)
					} else {
						c.Get(ctx, k)
					}
				} else {
					pipe := c.Pipeline()
					for j := 0; j < p; j++ {
						k := "bench:" + strconv.Itoa(rng.IntN(100000))
						if rng.IntN(2) == 0 {
							pipe.Set(ctx, k, val, 0)
						} else {
							pipe.Get(ctx, k)
						}
					}
					pipe.Exec(ctx)
				}
				my = append(my, time.Since(start))
				n += p
			}
			mu.Lock()
			lat = append(lat, my...)
			total += n
			mu.Unlock()
		}(uint64(i))
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := time.Duration(0)
	if len(lat) > 0 {
		p99 = lat[len(lat)*99/100]
	}
	return float64(total) / d.Seconds(), p99
}
