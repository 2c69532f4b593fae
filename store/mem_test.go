package store

import (
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkMemoryPerKey reports the live heap per key of a keyspace holding
// string keys "key:N" with 16-byte values, the shape of the RSS comparison
// in docs/benchmarks.md (go test ./store -run '^$' -bench MemoryPerKey).
func BenchmarkMemoryPerKey(b *testing.B) {
	const keys = 1_000_000
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		db := NewDB(func() int64 { return 0 })
		val := []byte("0123456789abcdef")
		for k := 0; k < keys; k++ {
			db.Set("key:"+strconv.Itoa(k), &String{B: append([]byte(nil), val...)}, 0)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/keys, "heap-B/key")
		runtime.KeepAlive(db)
	}
}
