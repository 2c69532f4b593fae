package node

import (
	"os"
	"runtime"
	"strconv"
)

// Cores. Every command runs under the node lock, so commands never run in
// parallel; what runs in parallel is everything around them — socket reads
// and writes, request parsing, reply flushing and the garbage collector —
// in one goroutine per connection. The measurements in docs/benchmarks.md
// chose this over a single executor goroutine and over pinning the process
// to one core: with two cores shared with the clients, two Ps give lower
// p99 and higher throughput without pipelining, one P spends less CPU per
// command with deep pipelines. Because the better choice depends on the
// workload and the machine, it is a setting, not a constant:
//
// Redis's io-threads N (N > 1) caps slotvault at N cores (GOMAXPROCS=N),
// the closest meaning it can have here: Redis then uses N threads for
// socket I/O. The default (io-threads 1, as Redis) leaves Go's default of
// one P per CPU. GOMAXPROCS in the environment takes precedence.

// applyIOThreads applies io-threads from the config; called at start.
func (n *Node) applyIOThreads() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	v, err := strconv.Atoi(n.cfg.Extra["io-threads"])
	if err != nil || v <= 1 {
		return
	}
	runtime.GOMAXPROCS(min(v, runtime.NumCPU()))
}
