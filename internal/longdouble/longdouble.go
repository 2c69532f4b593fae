// Package longdouble reproduces the x87 80-bit "long double" arithmetic
// Redis uses for INCRBYFLOAT and HINCRBYFLOAT on amd64: strtold parsing
// (with Redis's string2ld checks), addition rounded to a 64-bit mantissa
// with the 15-bit exponent range, and ld2string's LD_STR_HUMAN formatting
// ("%.17Lf" with trailing zeros removed).
//
// Values are *big.Float with 64 bits of precision; the exponent range is
// enforced by hand, since big.Float's is much wider.
package longdouble

import (
	"math/big"
	"strings"
)

const (
	prec = 64
	// maxExp is the largest big.Float exponent (mantissa in [0.5, 1)) of a
	// finite long double; minNormalExp the smallest of a normal one.
	maxExp       = 16384
	minNormalExp = -16381
	// maxChars is Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are refused.
	maxChars = 5 * 1024
)

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// Parse converts b as Redis's string2ld: no leading space, the whole input
// consumed by strtold, no overflow, no underflow to zero, no NaN. Infinity
// ("inf", "infinity", any case, optional sign) is accepted and returned as
// an infinite big.Float.
func Parse(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= maxChars || isSpace(b[0]) {
		return nil, false
	}
	s := string(b)
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	switch strings.ToLower(s) {
	case "inf", "infinity":
		return new(big.Float).SetInf(neg), true
	}
	var f *big.Float
	var ok bool
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		f, ok = parseHex(s[2:])
	} else {
		f, ok = parseDec(s)
	}
	if !ok {
		return nil, false
	}
	if neg {
		f.Neg(f)
	}
	return f, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// parseExp parses an exponent "[+-]digits" that must end the input. Huge
// exponents saturate; the caller's range checks refuse them.
func parseExp(s string) (int64, bool) {
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
		if !isDigit(s[i]) {
			return 0, false
		}
		if e < 1<<40 {
			e = e*10 + int64(s[i]-'0')
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

func parseDec(s string) (*big.Float, bool) {
	var digits []byte
	i, frac, seen := 0, 0, false
	for ; i < len(s) && isDigit(s[i]); i++ {
		digits, seen = append(digits, s[i]), true
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && isDigit(s[i]); i++ {
			digits, seen = append(digits, s[i]), true
			frac++
		}
	}
	if !seen {
		return nil, false
	}
	var exp int64
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return nil, false
		}
		e, ok := parseExp(s[i+1:])
		if !ok {
			return nil, false
		}
		exp = e
	}
	exp -= int64(frac)
	// Strip leading zeros to estimate the magnitude.
	k := 0
	for k < len(digits) && digits[k] == '0' {
		k++
	}
	digits = digits[k:]
	if len(digits) == 0 {
		return new(big.Float).SetPrec(prec), true
	}
	mag := int64(len(digits)) + exp // value < 10^mag
	if mag > 4934 {
		return nil, false // overflow
	}
	if mag < -4952 {
		return nil, false // underflow to zero
	}
	mant, _ := new(big.Int).SetString(string(digits), 10)
	f := new(big.Float).SetPrec(prec)
	if exp >= 0 {
		mant.Mul(mant, new(big.Int).Exp(big.NewInt(10), big.NewInt(exp), nil))
		f.SetInt(mant)
	} else {
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(-exp), nil)
		f.SetRat(new(big.Rat).SetFrac(mant, den))
	}
	return clampRange(f)
}

func parseHex(s string) (*big.Float, bool) {
	mant := new(big.Int)
	i, frac, seen := 0, 0, false
	for ; i < len(s) && hexVal(s[i]) >= 0; i++ {
		mant.Lsh(mant, 4).Or(mant, big.NewInt(int64(hexVal(s[i]))))
		seen = true
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && hexVal(s[i]) >= 0; i++ {
			mant.Lsh(mant, 4).Or(mant, big.NewInt(int64(hexVal(s[i]))))
			seen = true
			frac++
		}
	}
	if !seen {
		// strtold reads "0" and stops at 'x': the input is not consumed.
		return nil, false
	}
	var exp int64
	if i < len(s) {
		if s[i] != 'p' && s[i] != 'P' {
			return nil, false
		}
		e, ok := parseExp(s[i+1:])
		if !ok {
			return nil, false
		}
		exp = e
	}
	exp -= 4 * int64(frac)
	f := new(big.Float).SetPrec(prec).SetInt(mant)
	if mant.Sign() == 0 {
		return f, true
	}
	if total := int64(f.MantExp(nil)) + exp; total > maxExp+1 || total < minNormalExp-70 {
		return nil, false
	}
	f.SetMantExp(f, int(exp))
	return clampRange(f)
}

// clampRange applies the long double exponent range: overflow and
// underflow to zero are refused (strtold's ERANGE), denormals lose
// precision as they would in hardware.
func clampRange(f *big.Float) (*big.Float, bool) {
	if f.Sign() == 0 {
		return f, true
	}
	e := f.MantExp(nil)
	if e > maxExp {
		return nil, false
	}
	if e < minNormalExp {
		bits := prec - (minNormalExp - e)
		if bits <= 0 {
			return nil, false
		}
		f.SetPrec(uint(bits)).SetPrec(prec)
		if f.Sign() == 0 {
			return nil, false
		}
	}
	return f, true
}

// Add returns a+b rounded to long double precision, or false when the
// result is infinite or NaN (either operand infinite, or overflow).
func Add(a, b *big.Float) (*big.Float, bool) {
	if a.IsInf() || b.IsInf() {
		return nil, false
	}
	z := new(big.Float).SetPrec(prec).Add(a, b)
	if z.Sign() != 0 && z.MantExp(nil) > maxExp {
		return nil, false
	}
	return z, true
}

// FromInt64 returns v as a long double.
func FromInt64(v int64) *big.Float {
	return new(big.Float).SetPrec(prec).SetInt64(v)
}

// Format renders f as Redis's ld2string(LD_STR_HUMAN): "%.17Lf" with
// trailing zeros (and a trailing '.') removed, and "-0" written as "0".
func Format(f *big.Float) string {
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
