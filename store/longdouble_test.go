package store

import (
	"strings"
	"testing"
)

// Expected strings are Redis 7.0.15's INCRBYFLOAT replies on a new key.
func TestLongDoubleIncrByFloatOnNewKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.5", "1.5"},
		{"0.1", "0.1"},
		{"-0.3", "-0.3"},
		{"1e20", "100000000000000000000"},
		{"1e-5", "0.00001"},
		{"3.14159265358979323846", "3.14159265358979324"},
		{"0x1.8p3", "12"},
		{"1e-4940", "0"},
		{"0.000003814697265625", "0.00000381469726562"}, // tie: to even
		{"-1e-30", "0"},
		{"123456789.123456789", "123456789.12345678899873747"},
		{"5e-324", "0"},
		{"2.5e-17", "0.00000000000000002"},
		{"-2.5e-17", "-0.00000000000000002"},
		{"7.5e-17", "0.00000000000000007"},
		{"-0", "0"},
		{".5", "0.5"},
		{"5.", "5"},
		{"+.5e1", "5"},
		{"0X.8", "0.5"},
	} {
		v, ok := ParseLongDouble([]byte(tc.in))
		if !ok {
			t.Errorf("%q refused", tc.in)
			continue
		}
		sum, ok := LongDouble{}.Add(v)
		if !ok {
			t.Errorf("%q: add failed", tc.in)
			continue
		}
		if got := sum.HumanString(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLongDoubleHugeValues(t *testing.T) {
	for _, tc := range []struct{ in, prefix string }{
		{"1e400", "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778"},
		{"1.7976931348623157e308", "17976931348623156999592104677410443404838644694432917848531442076517662852312439635470186860838708556442879341942552068930870836345113605535789727802647761707349897768628839483561816329404559443492953"},
	} {
		v, ok := ParseLongDouble([]byte(tc.in))
		if !ok {
			t.Fatalf("%q refused", tc.in)
		}
		if got := v.HumanString(); !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("%q: got %.80s...", tc.in, got)
		}
	}
	a, _ := ParseLongDouble([]byte("1e4932"))
	if _, ok := a.Add(a); ok {
		t.Error("1e4932+1e4932 should overflow")
	}
}

func TestLongDoubleSums(t *testing.T) {
	add := func(a, b string) string {
		x, ok1 := ParseLongDouble([]byte(a))
		y, ok2 := ParseLongDouble([]byte(b))
		if !ok1 || !ok2 {
			t.Fatalf("parse %q %q", a, b)
		}
		s, ok := x.Add(y)
		if !ok {
			t.Fatalf("%s+%s overflowed", a, b)
		}
		return s.HumanString()
	}
	if got := add("0.1", "0.2"); got != "0.3" {
		t.Errorf("0.1+0.2 = %s", got)
	}
	if got := add("9007199254740993", "0.5"); got != "9007199254740993.5" {
		t.Errorf("2^53+1+0.5 = %s", got)
	}
	if got := LongDoubleFromInt(-9223372036854775808).HumanString(); got != "-9223372036854775808" {
		t.Errorf("MinInt64 = %s", got)
	}
}

func TestLongDoubleRefused(t *testing.T) {
	for _, in := range []string{"", " 1", "1 ", "\t1", "abc", "nan", "NaN", "-nan", "1e", "1e+", ".", "+", "-",
		"0x", "0xg", "0x1p", "1_000", "1/2", "0b101", "1\x00", "\x00", "1e99999999999999999999",
		"1e-99999999999999999999", "1e-4960", "1e5000", "0x1p20000", "0x1p-20000", "infinit", "infx",
		strings.Repeat("1", 5120)} {
		if _, ok := ParseLongDouble([]byte(in)); ok {
			t.Errorf("%q accepted", in)
		}
	}
	for _, in := range []string{"inf", "-inf", "+INF", "Infinity", "0e99999999999999999999", "0x0p99999",
		strings.Repeat("1", 5119)[:4000]} {
		if _, ok := ParseLongDouble([]byte(in)); !ok {
			t.Errorf("%q refused", in)
		}
	}
	inf, _ := ParseLongDouble([]byte("inf"))
	if _, ok := inf.Add(LongDoubleFromInt(1)); ok {
		t.Error("inf+1 must fail")
	}
}
