package node

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// GC tuning. Go's collector lets the heap grow by GOGC percent (default
// 100) over the live heap before collecting, so a node holding a large
// dataset would use about twice the memory Redis uses for it, while a node
// holding a small one collects very often for nothing. The node instead
// sizes the headroom from the live heap after every collection:
//
//   - headroom = gcHeadroomFloor bytes, but at least gcMinPercent and at
//     most gcMaxPercent of the live heap: a small dataset collects rarely
//     (up to 4x its size), a large one keeps 20% headroom;
//   - with maxmemory set, a soft memory limit of maxmemory plus 25% plus
//     gcLimitSlack makes the collector work harder as the dataset nears
//     maxmemory, instead of letting the process reach twice maxmemory.
//
// While a node loads its dataset the headroom is gcMaxPercent: a load
// allocates almost nothing but the dataset itself, so collections on the
// way would find little garbage and mostly mark live data (with 20-30%
// headroom, about as much CPU as the load itself); the peak stays about
// the same. The usual policy resumes at the first collection after.
//
// An explicit GOGC or GOMEMLIMIT in the environment disables the
// corresponding part, so an operator keeps the last word. The measurements
// behind the constants are in docs/benchmarks.md.
const (
	gcHeadroomFloor = 32 << 20
	gcMinPercent    = 20
	gcMaxPercent    = 400
	gcLimitSlack    = 32 << 20
)

// processGC is the process's tuner: GOGC and the memory limit are
// process-wide, so nodes sharing a process (tests) share it.
var processGC = newGCTuner()

type gcTuner struct {
	ownPercent bool // GOGC not set by the environment
	ownLimit   bool // GOMEMLIMIT not set by the environment
	once       sync.Once
	maxmemory  atomic.Int64
	loading    atomic.Int32 // nodes of the process loading their dataset

	mu      sync.Mutex // guards the fields below
	percent int
	limit   int64
	sample  []metrics.Sample
}

func newGCTuner() *gcTuner {
	return &gcTuner{
		ownPercent: os.Getenv("GOGC") == "",
		ownLimit:   os.Getenv("GOMEMLIMIT") == "",
		percent:    -1,
		limit:      -1,
		sample:     []metrics.Sample{{Name: "/gc/heap/live:bytes"}},
	}
}

// start begins tuning after every collection (the first call only). The
// hook is a finalizer on a sentinel object, re-armed each cycle: the policy
// must follow the live heap as fast as a bulk load grows it, and the cron
// alone (10 Hz) lags behind.
func (g *gcTuner) start() {
	g.once.Do(func() {
		g.tune()
		g.arm()
	})
}

type gcSentinel struct{ g *gcTuner }

func (g *gcTuner) arm() {
	// The pointer field keeps the sentinel out of the tiny allocator, whose
	// shared blocks would delay the finalizer.
	s := &gcSentinel{g: g}
	runtime.SetFinalizer(s, func(s *gcSentinel) {
		s.g.tune()
		s.g.arm()
	})
}

// setMaxMemory records the configured maxmemory (0: none) and applies it.
func (g *gcTuner) setMaxMemory(maxmemory int64) {
	if g.maxmemory.Swap(maxmemory) != maxmemory {
		g.tune()
	}
}

// setLoading records that a node starts (true) or ends (false) loading
// its dataset, and applies the policy for it.
func (g *gcTuner) setLoading(v bool) {
	if v {
		g.loading.Add(1)
	} else {
		g.loading.Add(-1)
	}
	g.tune()
}

// gcPercentFor returns the GOGC value for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	p := int(gcHeadroomFloor * 100 / live)
	return min(max(p, gcMinPercent), gcMaxPercent)
}

// gcLimitFor returns the soft memory limit for maxmemory (no limit for 0).
func gcLimitFor(maxmemory int64) int64 {
	if maxmemory <= 0 {
		return math.MaxInt64
	}
	return maxmemory + maxmemory/4 + gcLimitSlack
}

// tune applies the policy; the runtime is called only on a change.
func (g *gcTuner) tune() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ownPercent {
		metrics.Read(g.sample)
		var live uint64
		if g.sample[0].Value.Kind() == metrics.KindUint64 {
			live = g.sample[0].Value.Uint64()
		}
		p := gcPercentFor(live)
		if g.loading.Load() > 0 {
			p = gcMaxPercent
		}
		// Hysteresis: small drifts of the live heap are not worth a call.
		if g.percent < 0 || p*8 < g.percent*7 || p*8 > g.percent*9 {
			debug.SetGCPercent(p)
			g.percent = p
		}
	}
	if g.ownLimit {
		if l := gcLimitFor(g.maxmemory.Load()); l != g.limit {
			debug.SetMemoryLimit(l)
			g.limit = l
		}
	}
}
