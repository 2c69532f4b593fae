package node

import (
	"os"
	"runtime"
	"strconv"

	"github.com/slotvault/slotvault/config"
)

// Cores. Every command runs under the node lock, so commands never run in
// parallel; what can run in parallel is everything around them — socket
// reads and writes, request parsing, reply flushing and the garbage
// collector — in one goroutine per connection. How many cores that work
// gets is Redis's io-threads: io-threads N runs slotvault on N Ps
// (GOMAXPROCS=N), and the default, io-threads 1 as in Redis, on one.
//
// The measurements in docs/benchmarks.md chose the default: with the
// cores shared with the clients, one P used less CPU per command in every
// test (no cross-core wake-ups, no lock hand-offs) and gave higher
// throughput and lower p99 with pipelining; two Ps won some tests without
// pipelining on a loaded machine. Since the better value depends on the
// machine and the workload, it is a setting rather than a constant.
// GOMAXPROCS in the environment takes precedence.

// ApplyIOThreads sets the number of Ps from io-threads. It changes the
// whole process, so the server command calls it once at start; nodes
// embedded in other programs (tests) leave the runtime alone.
func ApplyIOThreads(cfg *config.Config) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	v, err := strconv.Atoi(cfg.Extra["io-threads"])
	if err != nil || v < 1 {
		return
	}
	runtime.GOMAXPROCS(min(v, runtime.NumCPU()))
}
