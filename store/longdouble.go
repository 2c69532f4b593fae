package store

import (
	"bytes"
	"math/big"
	"strings"
)

// LongDouble is a value of Redis's "long double" on x86-64: the x87 80-bit
// extended format (64-bit significand, exponents 2^-16382..2^16383,
// subnormals down to 2^-16445). INCRBYFLOAT and HINCRBYFLOAT parse with
// strtold, add in that format and print with "%.17Lf"; reproducing the
// format exactly makes their replies identical to Redis's.
//
// Finite values are held exactly as rationals that are representable in
// the format; the zero value is 0.
type LongDouble struct {
	r   *big.Rat // nil means 0
	inf bool
}

const (
	ldMantBits   = 64
	ldMinNormExp = -16382 // smallest normal is 2^-16382
	ldSubnormLSB = 16445  // subnormal spacing is 2^-16445
	ldMaxExp     = 16384  // values >= 2^16384 overflow
	ldMaxChars   = 5 * 1024
)

var (
	ldMinNormal = new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), -ldMinNormExp))
	ldSubnormQ  = new(big.Int).Lsh(big.NewInt(1), ldSubnormLSB)
)

// LongDoubleFromInt returns v exactly (every int64 fits the significand).
func LongDoubleFromInt(v int64) LongDouble {
	return LongDouble{r: new(big.Rat).SetInt64(v)}
}

// IsInf reports whether the value is an infinity.
func (a LongDouble) IsInf() bool { return a.inf }

// ParseLongDouble parses b as Redis's string2ld does: strtold must consume
// the whole buffer (so a NUL byte anywhere fails), no leading space; NaN,
// overflow to infinity and underflow to zero are refused.
// "inf" and "infinity" are accepted (an addition then fails).
func ParseLongDouble(b []byte) (LongDouble, bool) {
	if len(b) == 0 || len(b) >= ldMaxChars {
		return LongDouble{}, false
	}
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return LongDouble{}, false
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return LongDouble{}, false // strtold would stop short of the end
	}
	s := string(b)
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	ls := strings.ToLower(s)
	if ls == "inf" || ls == "infinity" {
		return LongDouble{inf: true}, true
	}
	var exact *big.Rat
	var ok bool
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		exact, ok = parseHexFloat(s[2:])
	} else {
		exact, ok = parseDecFloat(s)
	}
	if !ok {
		return LongDouble{}, false
	}
	if exact == nil { // out of range without computing
		return LongDouble{}, false
	}
	if exact.Sign() == 0 {
		return LongDouble{}, true
	}
	if neg {
		exact.Neg(exact)
	}
	v, inRange := roundLongDouble(exact)
	if !inRange || v.Sign() == 0 {
		return LongDouble{}, false // ERANGE: HUGE_VALL or zero
	}
	return LongDouble{r: v}, true
}

// parseDecFloat parses digits[.digits][e[+-]digits] exactly. A nil result
// with ok means the magnitude is far outside the format (overflow or
// underflow to zero, both refused).
func parseDecFloat(s string) (*big.Rat, bool) {
	i := 0
	var mant strings.Builder
	digits, frac := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		mant.WriteByte(s[i])
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			mant.WriteByte(s[i])
			i++
			digits++
			frac++
		}
	}
	if digits == 0 {
		return nil, false
	}
	exp, ok := parseExponent(s[i:], 'e')
	if !ok {
		return nil, false
	}
	m := strings.TrimLeft(mant.String(), "0")
	if m == "" {
		return new(big.Rat), true
	}
	e10 := exp - int64(frac)
	mag := e10 + int64(len(m)) // value < 10^mag
	if mag > 4940 || mag < -4960 {
		return nil, true
	}
	num, _ := new(big.Int).SetString(m, 10)
	r := new(big.Rat).SetInt(num)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(abs64(e10)), nil)
	if e10 >= 0 {
		r.Mul(r, new(big.Rat).SetInt(p))
	} else {
		r.Quo(r, new(big.Rat).SetInt(p))
	}
	return r, true
}

// parseHexFloat parses hexdigits[.hexdigits][p[+-]digits] (after "0x").
func parseHexFloat(s string) (*big.Rat, bool) {
	i := 0
	var mant strings.Builder
	digits, frac := 0, 0
	isHex := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	for i < len(s) && isHex(s[i]) {
		mant.WriteByte(s[i])
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isHex(s[i]) {
			mant.WriteByte(s[i])
			i++
			digits++
			frac++
		}
	}
	if digits == 0 {
		return nil, false
	}
	exp, ok := parseExponent(s[i:], 'p')
	if !ok {
		return nil, false
	}
	m := strings.TrimLeft(mant.String(), "0")
	if m == "" {
		return new(big.Rat), true
	}
	num, _ := new(big.Int).SetString(m, 16)
	e2 := exp - 4*int64(frac)
	mag := e2 + int64(num.BitLen())
	if mag > ldMaxExp+16 || mag < -ldSubnormLSB-16 {
		return nil, true
	}
	r := new(big.Rat).SetInt(num)
	p := new(big.Int).Lsh(big.NewInt(1), uint(abs64(e2)))
	if e2 >= 0 {
		r.Mul(r, new(big.Rat).SetInt(p))
	} else {
		r.Quo(r, new(big.Rat).SetInt(p))
	}
	return r, true
}

// parseExponent parses an optional exponent part introduced by marker (or
// its upper case); the whole of s must be consumed. Huge exponents
// saturate.
func parseExponent(s string, marker byte) (int64, bool) {
	if s == "" {
		return 0, true
	}
	if s[0] != marker && s[0] != marker-'a'+'A' {
		return 0, false
	}
	s = s[1:]
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var e int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if e < 1e9 {
			e = e*10 + int64(c-'0')
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// roundLongDouble rounds an exact value to the nearest representable long
// double (ties to even). It reports false on overflow.
func roundLongDouble(x *big.Rat) (*big.Rat, bool) {
	if x.Sign() == 0 {
		return new(big.Rat), true
	}
	ax := new(big.Rat).Abs(x)
	if ax.Cmp(ldMinNormal) < 0 {
		// Subnormal: quantise to multiples of 2^-16445.
		q := new(big.Rat).Mul(ax, new(big.Rat).SetInt(ldSubnormQ))
		n := roundHalfEven(q)
		r := new(big.Rat).SetFrac(n, ldSubnormQ)
		if x.Sign() < 0 {
			r.Neg(r)
		}
		return r, true
	}
	f := new(big.Float).SetPrec(ldMantBits).SetMode(big.ToNearestEven).SetRat(x)
	if f.MantExp(nil) > ldMaxExp {
		return nil, false
	}
	r, _ := f.Rat(nil)
	return r, true
}

// roundHalfEven rounds a non-negative rational to an integer, ties to even.
func roundHalfEven(q *big.Rat) *big.Int {
	n, rem := new(big.Int).QuoRem(q.Num(), q.Denom(), new(big.Int))
	twice := new(big.Int).Lsh(rem, 1)
	switch twice.Cmp(q.Denom()) {
	case 1:
		n.Add(n, big.NewInt(1))
	case 0:
		if n.Bit(0) == 1 {
			n.Add(n, big.NewInt(1))
		}
	}
	return n
}

// Add returns a+b rounded to the format; ok is false when the result is
// NaN or infinite (Redis: "increment would produce NaN or Infinity").
func (a LongDouble) Add(b LongDouble) (LongDouble, bool) {
	if a.inf || b.inf {
		return LongDouble{}, false
	}
	sum := new(big.Rat)
	if a.r != nil {
		sum.Add(sum, a.r)
	}
	if b.r != nil {
		sum.Add(sum, b.r)
	}
	r, ok := roundLongDouble(sum)
	if !ok {
		return LongDouble{}, false
	}
	return LongDouble{r: r}, true
}

// HumanString formats the value as Redis's ld2string in LD_STR_HUMAN mode:
// "%.17Lf" with trailing zeros (and a trailing '.') removed, "-0" as "0".
func (a LongDouble) HumanString() string {
	if a.inf {
		return "inf"
	}
	if a.r == nil || a.r.Sign() == 0 {
		return "0"
	}
	f := new(big.Float).SetPrec(ldMantBits).SetMode(big.ToNearestEven).SetRat(a.r)
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
