package slots

import (
	"math/rand"
	"testing"
)

func TestKeySlot(t *testing.T) {
	cases := []struct {
		key  string
		slot int
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"123456789", 12739},
		{"{user1000}.following", KeySlot([]byte("user1000"))},
		{"{}foo", KeySlot([]byte("{}foo"))},
		{"foo{}{bar}", KeySlot([]byte("foo{}{bar}"))},
		{"foo{{bar}}zap", KeySlot([]byte("{bar"))},
		{"foo{bar}{zap}", KeySlot([]byte("bar"))},
		{"", 0},
	}
	for _, c := range cases {
		if got := KeySlot([]byte(c.key)); got != c.slot {
			t.Errorf("KeySlot(%q) = %d, want %d", c.key, got, c.slot)
		}
		if got := KeySlotString(c.key); got != c.slot {
			t.Errorf("KeySlotString(%q) = %d, want %d", c.key, got, c.slot)
		}
	}
	if CRC16([]byte("123456789")) != 0x31C3 {
		t.Fatalf("CRC16 check value mismatch: %x", CRC16([]byte("123456789")))
	}
}

func TestSetRanges(t *testing.T) {
	var s Set
	for i := 0; i <= 5460; i++ {
		s.Add(i)
	}
	s.Add(16383)
	rs := s.Ranges()
	if len(rs) != 2 || rs[0] != (Range{0, 5460}) || rs[1] != (Range{16383, 16383}) || s.Len() != 5462 {
		t.Fatalf("ranges = %v len %d", rs, s.Len())
	}
	if _, err := ParseRange("16384"); err == nil {
		t.Fatal("expected out-of-bounds error")
	}
	n := Normalize([]Range{{10, 20}, {0, 5}, {6, 9}, {30, 40}})
	if len(n) != 2 || n[0] != (Range{0, 20}) {
		t.Fatalf("normalize = %v", n)
	}
}

// CRC16 eight bytes at a time agrees with the byte-at-a-time definition,
// for every length around the step and any content; so do the key slot
// functions with and without hash tags.
func TestCRC16Sliced(t *testing.T) {
	bytewise := func(b []byte) uint16 {
		var crc uint16
		for _, c := range b {
			crc = crc<<8 ^ crc16tab[byte(crc>>8)^c]
		}
		return crc
	}
	if got := CRC16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("CRC16(123456789) = %#x, want 0x31c3", got)
	}
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 200; n++ {
		for trial := 0; trial < 20; trial++ {
			b := make([]byte, n)
			rng.Read(b)
			if trial%4 == 0 && n > 3 {
				b[rng.Intn(n)] = '{'
				b[rng.Intn(n)] = '}'
			}
			want := bytewise(b)
			if got := CRC16(b); got != want {
				t.Fatalf("CRC16(%x) = %#x, want %#x", b, got, want)
			}
			if got := crc16String(string(b)); got != want {
				t.Fatalf("crc16String(%x) = %#x, want %#x", b, got, want)
			}
			if a, s := KeySlot(b), KeySlotString(string(b)); a != s || a != int(bytewise(HashTag(b))&(Count-1)) {
				t.Fatalf("KeySlot(%x) = %d, KeySlotString = %d", b, a, s)
			}
		}
	}
}
