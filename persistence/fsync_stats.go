package persistence

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// fsyncBuckets is the number of fsync latency buckets: bucket i counts
// fsyncs up to 16µs<<i (the last one also takes slower ones, > ~2 s).
const fsyncBuckets = 18

// fsyncHist is the log's fsync latency histogram. Atomic: fsyncs run in
// the group-commit path and the once-a-second tick, scrapes run anywhere.
type fsyncHist struct {
	counts [fsyncBuckets]atomic.Uint64
	sumNs  atomic.Uint64
	count  atomic.Uint64
}

func (h *fsyncHist) record(d time.Duration) {
	i := 0
	if d > 16*time.Microsecond {
		i = bits.Len64(uint64(d-1) / uint64(16*time.Microsecond))
		if i >= fsyncBuckets {
			i = fsyncBuckets - 1
		}
	}
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(max(d, 0)))
	h.count.Add(1)
}

// FsyncLatency reports the fsync latency histogram of the log's segment
// fsyncs: the buckets' upper bounds in seconds, the cumulative count of
// each bucket, the total count and the sum in seconds (the shape a
// Prometheus histogram takes). The last bucket's bound is +Inf in
// practice: it also holds the slower fsyncs.
func (l *Log) FsyncLatency() (bounds []float64, cumulative []uint64, count uint64, sumSeconds float64) {
	h := &l.fsyncHist
	bounds = make([]float64, fsyncBuckets-1)
	cumulative = make([]uint64, fsyncBuckets-1)
	var cum uint64
	for i := 0; i < fsyncBuckets-1; i++ {
		cum += h.counts[i].Load()
		bounds[i] = float64(uint64(16*time.Microsecond)<<i) / 1e9
		cumulative[i] = cum
	}
	count = cum + h.counts[fsyncBuckets-1].Load()
	return bounds, cumulative, count, float64(h.sumNs.Load()) / 1e9
}
