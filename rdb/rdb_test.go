package rdb

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"testing"
)

func TestCRC64CheckValue(t *testing.T) {
	if got := CRC64(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64 = %#x", got)
	}
}

func TestLZFRoundTrip(t *testing.T) {
	inputs := [][]byte{
		bytes.Repeat([]byte("ab"), 30),
		bytes.Repeat([]byte{0}, 10000),
		[]byte("the quick brown fox jumps over the lazy dog the quick brown fox"),
	}
	for i := 0; i < 200; i++ {
		b := make([]byte, 21+i*7)
		for j := range b {
			b[j] = byte((j * j * (i + 1)) % (3 + i%13))
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		c := lzfCompress(in, len(in)-4)
		if c == nil {
			continue
		}
		out, err := lzfDecompress(c, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip of %q failed: %v", in, err)
		}
	}
}

func TestListpackIntegers(t *testing.T) {
	vals := []int64{0, 1, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768,
		8388607, -8388608, 8388608, math.MaxInt32, math.MinInt32, math.MaxInt32 + 1,
		math.MaxInt64, math.MinInt64}
	w := newListpack()
	for _, v := range vals {
		w.add(itoa(v))
	}
	w.add([]byte("007"))
	w.add(bytes.Repeat([]byte("x"), 5000))
	w.add(bytes.Repeat([]byte("y"), 100))
	got, err := parseListpack(w.finish())
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if string(got[i]) != string(itoa(v)) {
			t.Errorf("element %d = %s, want %d", i, got[i], v)
		}
	}
	if string(got[len(vals)]) != "007" || len(got[len(vals)+1]) != 5000 || len(got[len(vals)+2]) != 100 {
		t.Errorf("string elements wrong")
	}
}

func TestListpackBacklen(t *testing.T) {
	for _, l := range []int{0, 1, 127, 128, 16382, 16383, 16384, 2097150, 2097151,
		268435454, 268435455, 1<<32 - 1} {
		var w listpackWriter
		w.backlen(l)
		if len(w.b) != backlenSize(l) || !backlenOK(w.b, l) {
			t.Errorf("backlen %d: % x not accepted", l, w.b)
		}
		for _, d := range []int{-1, 1} {
			if m := l + d; m >= 0 && backlenSize(m) == len(w.b) && backlenOK(w.b, m) {
				t.Errorf("backlen %d: % x accepted for %d", l, w.b, m)
			}
		}
	}
}

func TestIntLen(t *testing.T) {
	for _, v := range []int64{0, 9, 10, -1, -9, -10, 99, 100, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		if got := intLen(v); got != len(itoa(v)) {
			t.Errorf("intLen(%d) = %d", v, got)
		}
	}
}

func TestEncodeDecodeAllKinds(t *testing.T) {
	big := func(n int, f func(i int) []byte) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	objs := []Object{
		{Kind: KindString, Str: []byte("")},
		{Kind: KindString, Str: []byte("-123")},
		{Kind: KindString, Str: bytes.Repeat([]byte("z"), 1000)},
		{Kind: KindList, List: big(3000, func(i int) []byte { return itoa(int64(i * 1000)) })},
		{Kind: KindSet, Set: big(10, func(i int) []byte { return itoa(int64(i - 5)) })},
		{Kind: KindSet, Set: big(600, func(i int) []byte { return itoa(int64(i)) })},
		{Kind: KindSet, Set: [][]byte{[]byte("a"), []byte("1")}},
		{Kind: KindZSet, ZSet: []ZEntry{{[]byte("a"), math.Inf(-1)}, {[]byte("b"), 1.5}, {[]byte("c"), 1e300}}},
		{Kind: KindZSet, ZSet: []ZEntry{{[]byte("a"), 1}, {bytes.Repeat([]byte("m"), 100), 2}}},
		{Kind: KindHash, Hash: []HashField{{[]byte("f"), []byte("v")}, {[]byte("n"), []byte("12")}}},
		{Kind: KindHash, Hash: []HashField{{[]byte("f"), bytes.Repeat([]byte("v"), 65)}}},
	}
	for _, o := range objs {
		p, err := EncodePayload(&o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodePayload(p)
		if err != nil {
			t.Fatalf("decode kind %d: %v", o.Kind, err)
		}
		if !sameObject(got, o) {
			t.Errorf("kind %d: round trip mismatch", o.Kind)
		}
	}
}

func TestPayloadRejects(t *testing.T) {
	o := Object{Kind: KindString, Str: []byte("hello")}
	p, _ := EncodePayload(&o)
	bad := append([]byte(nil), p...)
	bad[1] ^= 1
	if _, err := DecodePayload(bad); !errors.Is(err, ErrPayload) {
		t.Errorf("bad crc: %v", err)
	}
	if _, err := DecodePayload(p[:5]); !errors.Is(err, ErrPayload) {
		t.Errorf("short: %v", err)
	}
	// Version 12 with a correct CRC is still refused.
	v12 := append([]byte(nil), p[:len(p)-10]...)
	v12 = append(v12, 12, 0)
	v12 = appendCRC(v12)
	if _, err := DecodePayload(v12); !errors.Is(err, ErrPayload) {
		t.Errorf("version 12: %v", err)
	}
	// An object running past the footer is truncated; one running into
	// it takes footer bytes as data, as in Redis.
	tr := []byte{byte(TypeString), 0x20, 'h', 'e', Version, 0}
	if _, err := DecodePayload(appendCRC(tr)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v", err)
	}
	into := appendCRC([]byte{byte(TypeString), 0x05, 'h', 'e', Version, 0})
	if o, err := DecodePayload(into); err != nil || string(o.Str) != string(into[2:7]) {
		t.Errorf("object running into the footer: %q %v", o.Str, err)
	}
	// Empty aggregates are refused.
	empty := []byte{byte(TypeSet), 0, Version, 0}
	if _, err := DecodePayload(appendCRC(empty)); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := AppendObject(nil, &Object{Kind: KindHash}); !errors.Is(err, ErrEmpty) {
		t.Errorf("encode empty: %v", err)
	}
}

func appendCRC(b []byte) []byte {
	c := CRC64(0, b)
	for i := 0; i < 8; i++ {
		b = append(b, byte(c>>(8*i)))
	}
	return b
}

func sameObject(a, b Object) bool {
	if a.Kind != b.Kind || !bytes.Equal(a.Str, b.Str) || len(a.List) != len(b.List) ||
		len(a.Set) != len(b.Set) || len(a.ZSet) != len(b.ZSet) || len(a.Hash) != len(b.Hash) {
		return false
	}
	for i := range a.List {
		if !bytes.Equal(a.List[i], b.List[i]) {
			return false
		}
	}
	set := map[string]bool{}
	for _, m := range a.Set {
		set[string(m)] = true
	}
	for _, m := range b.Set {
		if !set[string(m)] {
			return false
		}
	}
	for i := range a.ZSet {
		if !bytes.Equal(a.ZSet[i].Member, b.ZSet[i].Member) || a.ZSet[i].Score != b.ZSet[i].Score {
			return false
		}
	}
	h := map[string]string{}
	for _, f := range a.Hash {
		h[string(f.Field)] = string(f.Value)
	}
	for _, f := range b.Hash {
		if v, ok := h[string(f.Field)]; !ok || v != string(f.Value) {
			return false
		}
	}
	return true
}

// maxFuzzInput is the largest input FuzzDecode decodes.
const maxFuzzInput = 256

func FuzzDecode(f *testing.F) {
	for _, o := range []Object{
		{Kind: KindString, Str: bytes.Repeat([]byte("ab"), 40)},
		{Kind: KindList, List: [][]byte{[]byte("a"), []byte("12"), []byte("-70000")}},
		{Kind: KindSet, Set: [][]byte{[]byte("1"), []byte("2")}},
		{Kind: KindSet, Set: [][]byte{[]byte("x"), []byte("2")}},
		{Kind: KindZSet, ZSet: []ZEntry{{[]byte("a"), 1.5}}},
		{Kind: KindZSet, ZSet: []ZEntry{{bytes.Repeat([]byte("a"), 70), 1.5}}},
		{Kind: KindHash, Hash: []HashField{{[]byte("f"), []byte("v")}}},
		{Kind: KindHash, Hash: []HashField{{[]byte("f"), bytes.Repeat([]byte("v"), 70)}}},
	} {
		p, _ := EncodePayload(&o)
		f.Add(p)
		body, _ := AppendObject(nil, &o)
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		// Go's fuzzer minimizes every input that finds new coverage by
		// trying all its substrings, O(n²) runs during which the exec
		// counter stands still (for up to a minute per input at this
		// target's ~10k execs/s). Keeping inputs short keeps that
		// quick; LZF strings still let short inputs expand to large
		// containers, and TestDecodeExpansion covers large payloads.
		if len(p) > maxFuzzInput {
			return
		}
		DecodeObject(p)
		DecodePayload(p)
		// Also with a valid footer, so the fuzzer gets past the CRC.
		q := append(append([]byte(nil), p...), Version, 0)
		if o, err := DecodePayload(appendCRC(q)); err == nil {
			if o.Kind != KindString || len(o.Str) > 0 {
				if _, err := EncodePayload(&o); err != nil && !errors.Is(err, ErrEmpty) {
					t.Fatalf("re-encode of decoded object failed: %v", err)
				}
			}
		}
	})
}

// expandingList returns the body of a quicklist2 list whose single node is
// an LZF-compressed listpack of n copies of the integer 1: about 88 bytes
// of listpack, 44 elements, per byte of payload. A DUMP of a long list of
// small repeated values looks like this.
func expandingList(t testing.TB, n int) []byte {
	lp := newListpack()
	for i := 0; i < n; i++ {
		lp.addInt(1)
	}
	raw := lp.finish()
	c := lzfCompress(raw, len(raw))
	if c == nil {
		t.Fatal("listpack did not compress")
	}
	w := writer{b: []byte{byte(TypeListQuicklist2), 1, containerPacked, 0xC3}}
	w.len(uint64(len(c)))
	w.len(uint64(len(raw)))
	return append(w.b, c...)
}

// TestDecodeExpansion decodes a payload that expands 44 elements per byte
// and checks the decoder's cost per element: a constant number of
// allocations for the whole list (not per element), and memory close to
// the slice headers the result needs anyway.
func TestDecodeExpansion(t *testing.T) {
	const n = 1 << 18
	p := appendCRC(append(expandingList(t, n), Version, 0))
	var o Object
	var err error
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(1, func() { o, err = DecodePayload(p) })
	runtime.ReadMemStats(&after)
	if err != nil || len(o.List) != n || string(o.List[0]) != "1" || string(o.List[n-1]) != "1" {
		t.Fatalf("decode: %d elements, %v", len(o.List), err)
	}
	if allocs > 20 {
		t.Errorf("%d-byte payload of %d elements: %.0f allocations", len(p), n, allocs)
	}
	// AllocsPerRun runs the function twice (warm-up and measured run).
	perElem := float64(after.TotalAlloc-before.TotalAlloc) / 2 / n
	if perElem > 32 {
		t.Errorf("%d-byte payload of %d elements: %.1f bytes allocated per element", len(p), n, perElem)
	}
	t.Logf("%d-byte payload, %d elements: %.0f allocations, %.1f bytes per element", len(p), n, allocs, perElem)
}
