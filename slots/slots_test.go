package slots

import "testing"

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
