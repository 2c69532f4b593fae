package store

import "testing"

func TestPopcount(t *testing.T) {
	b := []byte("foobar")
	if n := Popcount(b); n != 26 {
		t.Fatalf("popcount(foobar) = %d", n)
	}
	long := make([]byte, 100)
	for i := range long {
		long[i] = 0xff
	}
	if n := Popcount(long); n != 800 {
		t.Fatalf("popcount = %d", n)
	}
	if Popcount(nil) != 0 {
		t.Fatal("popcount(nil)")
	}
}

func TestBitpos(t *testing.T) {
	for _, tc := range []struct {
		b    string
		bit  int
		want int64
	}{
		{"\xff\xf0\x00", 0, 12},
		{"\xff\xf0\x00", 1, 0},
		{"\x00\x00\x01", 1, 23},
		{"\x00\x00\x00", 1, -1},
		{"\xff\xff", 0, 16},
		{"", 0, 0},
		{"", 1, -1},
	} {
		if got := Bitpos([]byte(tc.b), tc.bit); got != tc.want {
			t.Errorf("Bitpos(%q,%d) = %d, want %d", tc.b, tc.bit, got, tc.want)
		}
	}
}

func TestBitfieldGetSet(t *testing.T) {
	p := make([]byte, 4)
	// 5-bit unsigned 23 at offset 7: 00000001 01110000.
	SetUnsignedBitfield(p, 7, 5, 23)
	if p[0] != 0x01 || p[1] != 0x70 {
		t.Fatalf("layout %08b %08b", p[0], p[1])
	}
	if v := GetUnsignedBitfield(p, 7, 5); v != 23 {
		t.Fatalf("get %d", v)
	}
	SetUnsignedBitfield(p, 0, 8, uint64(0xfe))
	if v := GetSignedBitfield(p, 0, 8); v != -2 {
		t.Fatalf("signed %d", v)
	}
	if v := GetUnsignedBitfield(p, 30, 8); v != uint64(p[3]&3)<<6 {
		t.Fatalf("read past end: %d", v)
	}
	q := make([]byte, 8)
	SetUnsignedBitfield(q, 0, 64, 1<<63)
	if v := GetSignedBitfield(q, 0, 64); v != -1<<63 {
		t.Fatalf("i64 %d", v)
	}
}

func TestBitfieldOverflow(t *testing.T) {
	type uc struct {
		v     uint64
		incr  int64
		bits  int
		ow    int
		over  int
		limit uint64
	}
	for _, tc := range []uc{
		{250, 10, 8, OverflowWrap, 1, 4},
		{250, 10, 8, OverflowSat, 1, 255},
		{5, -10, 8, OverflowWrap, -1, 251},
		{5, -10, 8, OverflowSat, -1, 0},
		{5, 10, 8, OverflowWrap, 0, 0},
		{300, 0, 8, OverflowWrap, 1, 44},
		{1<<63 - 1, 1, 63, OverflowSat, 1, 1<<63 - 1},
		{0, -1, 63, OverflowWrap, -1, 1<<63 - 1},
	} {
		over, lim := CheckUnsignedBitfieldOverflow(tc.v, tc.incr, tc.bits, tc.ow)
		if over != tc.over || (over != 0 && lim != tc.limit) {
			t.Errorf("unsigned %+v: got %d %d", tc, over, lim)
		}
	}
	type sc struct {
		v     int64
		incr  int64
		bits  int
		ow    int
		over  int
		limit int64
	}
	for _, tc := range []sc{
		{127, 1, 8, OverflowWrap, 1, -128},
		{127, 1, 8, OverflowSat, 1, 127},
		{-128, -1, 8, OverflowWrap, -1, 127},
		{-128, -1, 8, OverflowSat, -1, -128},
		{200, 0, 8, OverflowWrap, 1, -56},
		{1<<63 - 1, 1, 64, OverflowWrap, 1, -1 << 63},
		{-1 << 63, -1, 64, OverflowSat, -1, -1 << 63},
		{0, 1, 1, OverflowWrap, 1, -1},
		{0, 5, 64, OverflowWrap, 0, 0},
	} {
		over, lim := CheckSignedBitfieldOverflow(tc.v, tc.incr, tc.bits, tc.ow)
		if over != tc.over || (over != 0 && lim != tc.limit) {
			t.Errorf("signed %+v: got %d %d", tc, over, lim)
		}
	}
}
