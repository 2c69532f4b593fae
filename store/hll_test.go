package store

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"testing"
)

// The expected bytes, digests and counts below were produced by Redis 7.0.15
// (PFADD ..., PFCOUNT, GET) with the default hll-sparse-max-bytes 3000.

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addAll(t *testing.T, h []byte, elems ...string) []byte {
	t.Helper()
	for _, e := range elems {
		var r int
		h, r = HLLAdd(h, []byte(e), 3000)
		if r < 0 {
			t.Fatalf("HLLAdd(%q) reported a corrupt HLL", e)
		}
	}
	return h
}

// count mimics single-key PFCOUNT: cached value or compute and cache.
func count(t *testing.T, h []byte) uint64 {
	t.Helper()
	if c, ok := HLLCachedCard(h); ok {
		return c
	}
	c, err := HLLCount(h)
	if err != nil {
		t.Fatal(err)
	}
	HLLSetCachedCard(h, c)
	return c
}

func TestHLLSparseBytesMatchRedis(t *testing.T) {
	h := addAll(t, NewHLL(), "a", "b", "c")
	HLLInvalidateCache(h) // PFADD invalidates after a change
	if got, want := hex.EncodeToString(h), "48594c4c01000000000000000000008060f38050b1844bfb80425a"; got != want {
		t.Fatalf("after PFADD a b c:\n got  %s\n want %s", got, want)
	}
	if c := count(t, h); c != 3 {
		t.Fatalf("count %d, want 3", c)
	}
	if got, want := hex.EncodeToString(h), "48594c4c01000000030000000000000060f38050b1844bfb80425a"; got != want {
		t.Fatalf("after PFCOUNT:\n got  %s\n want %s", got, want)
	}
	h2 := addAll(t, NewHLL(), "hello", "world", "foo", "bar")
	HLLInvalidateCache(h2)
	if got, want := hex.EncodeToString(h2), "48594c4c0100000000000000000000804ab58851fc90474a8043158058e7"; got != want {
		t.Fatalf("after PFADD hello world foo bar:\n got  %s\n want %s", got, want)
	}
}

func TestHLLDigestsMatchRedis(t *testing.T) {
	build := func(n int, name func(int) string) []byte {
		h := NewHLL()
		for i := 1; i <= n; i++ {
			var r int
			h, r = HLLAdd(h, []byte(name(i)), 3000)
			if r == 1 {
				HLLInvalidateCache(h)
			}
		}
		return h
	}
	cases := []struct {
		name   string
		h      []byte
		count  uint64
		digest string
		enc    byte
		size   int
	}{
		{"300 sparse", build(300, func(i int) string { return "x" + strconv.Itoa(i) }), 299,
			"dffdd9e4ea14e6b7522d6b8fbc3ee7b5833588e697b7dfd982d13b8f760a37a7", HLLEncSparse, 688},
		{"2000 dense", build(2000, func(i int) string { return "e" + strconv.Itoa(i) }), 2000,
			"e5b472ceab42eb127754b225c23f32bebfba34d8fe18327e0447197422a48422", HLLEncDense, HLLDenseSize},
		{"100000 dense", build(100000, strconv.Itoa), 99562,
			"c65d9bc48e944a8319c21a54d0311a7f95cf81d44c35395337b09a6382d84c37", HLLEncDense, HLLDenseSize},
	}
	for _, tc := range cases {
		if tc.h[4] != tc.enc || len(tc.h) != tc.size {
			t.Errorf("%s: encoding %d size %d, want %d %d", tc.name, tc.h[4], len(tc.h), tc.enc, tc.size)
		}
		if c := count(t, tc.h); c != tc.count {
			t.Errorf("%s: count %d, want %d", tc.name, c, tc.count)
		}
		sum := sha256.Sum256(tc.h)
		if got := hex.EncodeToString(sum[:]); got != tc.digest {
			t.Errorf("%s: sha256 %s, want %s", tc.name, got, tc.digest)
		}
	}
	// Multi-key PFCOUNT of the two dense HLLs: 101133 in Redis.
	max := make([]uint8, HLLRegisters)
	for _, h := range [][]byte{cases[1].h, cases[2].h} {
		if err := HLLMerge(max, h); err != nil {
			t.Fatal(err)
		}
	}
	if c := HLLCountRegisters(max); c != 101133 {
		t.Errorf("union count %d, want 101133", c)
	}
}

func TestHLLEmpty(t *testing.T) {
	h := NewHLL()
	if got := hex.EncodeToString(h); got != "48594c4c0100000000000000000000007fff" {
		t.Fatalf("empty HLL %s", got)
	}
	if !IsHLL(h) {
		t.Fatal("empty HLL not valid")
	}
	if c, err := HLLCount(h); err != nil || c != 0 {
		t.Fatalf("count %d %v", c, err)
	}
	d, err := HLLSparseToDense(h)
	if err != nil || len(d) != HLLDenseSize || d[4] != HLLEncDense {
		t.Fatalf("to dense: %d %v", len(d), err)
	}
	if c, _ := HLLCount(d); c != 0 {
		t.Fatalf("dense count %d", c)
	}
}

func TestIsHLL(t *testing.T) {
	for _, tc := range []struct {
		b  string
		ok bool
	}{
		{"", false},
		{"HYLL", false},
		{"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", false},
		{"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", true},
		{"HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff", false},
		{"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff", false},
		{"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff", false},
	} {
		if got := IsHLL([]byte(tc.b)); got != tc.ok {
			t.Errorf("IsHLL(%q) = %v", tc.b, got)
		}
	}
}

func TestHLLDenseRegisters(t *testing.T) {
	regs := make([]byte, HLLDenseSize-HLLHeaderSize)
	want := make([]uint8, HLLRegisters)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = uint8(r.IntN(64))
		denseSet(regs, i, want[i])
	}
	for i := range want {
		if got := denseGet(regs, i); got != want[i] {
			t.Fatalf("register %d = %d, want %d", i, got, want[i])
		}
	}
}

// TestHLLSparseMatchesDense feeds the same elements to a sparse and a dense
// HLL: registers and estimates must agree, and the sparse one must promote
// itself once it crosses hll-sparse-max-bytes.
func TestHLLSparseMatchesDense(t *testing.T) {
	sparse := NewHLL()
	dense, _ := HLLSparseToDense(NewHLL())
	promoted := false
	for i := 0; i < 5000; i++ {
		e := []byte("k" + strconv.Itoa(i))
		var r1, r2 int
		sparse, r1 = HLLAdd(sparse, e, 3000)
		dense, r2 = HLLAdd(dense, e, 3000)
		if r1 != r2 {
			t.Fatalf("element %d: sparse changed=%d dense changed=%d", i, r1, r2)
		}
		if sparse[4] == HLLEncSparse && len(sparse) > 3000 {
			t.Fatalf("sparse HLL grew to %d bytes", len(sparse))
		}
		if sparse[4] == HLLEncDense {
			promoted = true
		}
		if i%250 == 0 {
			a, err1 := HLLCount(sparse)
			b, err2 := HLLCount(dense)
			if err1 != nil || err2 != nil || a != b {
				t.Fatalf("at %d: sparse %d (%v) dense %d (%v)", i, a, err1, b, err2)
			}
		}
	}
	if !promoted {
		t.Fatal("sparse HLL never promoted")
	}
	if string(sparse[HLLHeaderSize:]) != string(dense[HLLHeaderSize:]) {
		t.Fatal("registers differ after promotion")
	}
}

// TestHLLCorruptInputs runs random sparse bodies through every operation:
// they may be refused but must never panic.
func TestHLLCorruptInputs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for i := 0; i < 3000; i++ {
		n := r.IntN(40)
		b := make([]byte, HLLHeaderSize+n)
		copy(b, "HYLL\x01")
		for j := HLLHeaderSize; j < len(b); j++ {
			b[j] = byte(r.IntN(256))
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic on %x: %v", b, p)
				}
			}()
			HLLCount(b)
			HLLMerge(make([]uint8, HLLRegisters), b)
			HLLSparseToDense(append([]byte(nil), b...))
			HLLDecodeSparse(b)
			c := append([]byte(nil), b...)
			for k := 0; k < 5; k++ {
				c, _ = HLLAdd(c, []byte(strconv.Itoa(r.Int())), 3000)
			}
			HLLSetRegister(append([]byte(nil), b...), r.IntN(HLLRegisters), uint8(r.IntN(63)+1), 3000)
		}()
	}
}

func TestHLLDecodeSparse(t *testing.T) {
	if got := HLLDecodeSparse(NewHLL()); got != "Z:16384" {
		t.Fatalf("decode %q", got)
	}
	b := []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x83\x8b\x7f\xf9")
	if got := HLLDecodeSparse(b); got != "v:1,4 v:3,4 Z:16378" {
		t.Fatalf("decode %q", got)
	}
}

func TestMurmurHash64A(t *testing.T) {
	// Lengths 0..16 exercise every tail case; values from the reference
	// implementation in Redis (checked through PFADD register updates above).
	seen := map[uint64]bool{}
	for n := 0; n <= 16; n++ {
		key := []byte("abcdefghijklmnop"[:n])
		h := MurmurHash64A(key, hllSeed)
		if seen[h] {
			t.Fatalf("collision at length %d", n)
		}
		seen[h] = true
	}
	if MurmurHash64A(nil, 0) != 0 {
		t.Fatal("hash of empty key with seed 0 must be 0")
	}
}

func TestHLLSelfTest(t *testing.T) {
	if err := HLLSelfTest(); err != nil {
		t.Fatal(err)
	}
}
