package rdb

import (
	"hash/crc64"
	"math/rand"
	"testing"
)

func TestCRC64SlicingMatchesBytewise(t *testing.T) {
	if got := CRC64(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64(123456789) = %x", got)
	}
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		r.Read(b)
		for _, init := range []uint64{0, 0x1234567890abcdef} {
			want := ^crc64.Update(^init, jonesTable, b)
			if got := CRC64(init, b); got != want {
				t.Fatalf("len %d init %x: got %x want %x", n, init, got, want)
			}
		}
	}
}
