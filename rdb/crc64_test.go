package rdb

import (
	"hash/crc64"
	"math/rand"
	"testing"
)

// TestCRC64MatchesStdlib: the slicing-by-8 loop equals Go's table-driven
// crc64 (with Redis's no-inversion convention) at every length and split.
func TestCRC64MatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	buf := make([]byte, 5000)
	r.Read(buf)
	for n := 0; n < len(buf); n += 1 + n/7 {
		p := buf[:n]
		want := ^crc64.Update(^uint64(0), jonesTable, p)
		if got := CRC64(0, p); got != want {
			t.Fatalf("len %d: %#x, want %#x", n, got, want)
		}
		cut := n / 3
		if got := CRC64(CRC64(0, p[:cut]), p[cut:]); got != want {
			t.Fatalf("len %d split at %d: %#x, want %#x", n, cut, got, want)
		}
	}
}

func BenchmarkCRC64_1KiB(b *testing.B) {
	p := make([]byte, 1024)
	b.SetBytes(1024)
	for i := 0; i < b.N; i++ {
		CRC64(0, p)
	}
}
