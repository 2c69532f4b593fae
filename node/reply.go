package node

import (
	"math"
	"strconv"
)

// Reply accumulates one client's RESP output. It knows the protocol version
// negotiated with HELLO, so handlers write typed replies (maps, sets,
// doubles, nulls) and the writer picks the RESP2 or RESP3 form.
type Reply struct {
	b     []byte
	resp3 bool
}

// Len is the number of bytes buffered.
func (r *Reply) Len() int { return len(r.b) }

// Bytes returns the buffered output.
func (r *Reply) Bytes() []byte { return r.b }

// Reset empties the buffer, keeping its capacity.
func (r *Reply) Reset() { r.b = r.b[:0] }

// Truncate drops output written after position n.
func (r *Reply) Truncate(n int) { r.b = r.b[:n] }

// Raw appends pre-encoded RESP.
func (r *Reply) Raw(p []byte) { r.b = append(r.b, p...) }

// OK writes +OK.
func (r *Reply) OK() { r.b = append(r.b, "+OK\r\n"...) }

// Simple writes a simple string.
func (r *Reply) Simple(s string) {
	r.b = append(r.b, '+')
	r.b = append(r.b, s...)
	r.b = append(r.b, '\r', '\n')
}

// Error writes an error. msg starts with the error code ("ERR ...",
// "WRONGTYPE ..."); line breaks are replaced by spaces as Redis does.
func (r *Reply) Error(msg string) {
	r.b = append(r.b, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		r.b = append(r.b, c)
	}
	r.b = append(r.b, '\r', '\n')
}

// Int writes an integer.
func (r *Reply) Int(n int64) {
	r.b = append(r.b, ':')
	r.b = strconv.AppendInt(r.b, n, 10)
	r.b = append(r.b, '\r', '\n')
}

// Bulk writes a bulk string.
func (r *Reply) Bulk(p []byte) {
	r.b = append(r.b, '$')
	r.b = strconv.AppendInt(r.b, int64(len(p)), 10)
	r.b = append(r.b, '\r', '\n')
	r.b = append(r.b, p...)
	r.b = append(r.b, '\r', '\n')
}

// BulkString writes a bulk string.
func (r *Reply) BulkString(s string) {
	r.b = append(r.b, '$')
	r.b = strconv.AppendInt(r.b, int64(len(s)), 10)
	r.b = append(r.b, '\r', '\n')
	r.b = append(r.b, s...)
	r.b = append(r.b, '\r', '\n')
}

// BulkInt writes an integer as a bulk string.
func (r *Reply) BulkInt(n int64) {
	var tmp [24]byte
	r.Bulk(strconv.AppendInt(tmp[:0], n, 10))
}

// Null writes the null bulk string ($-1 in RESP2, _ in RESP3).
func (r *Reply) Null() {
	if r.resp3 {
		r.b = append(r.b, "_\r\n"...)
	} else {
		r.b = append(r.b, "$-1\r\n"...)
	}
}

// NullArray writes the null array (*-1 in RESP2, _ in RESP3).
func (r *Reply) NullArray() {
	if r.resp3 {
		r.b = append(r.b, "_\r\n"...)
	} else {
		r.b = append(r.b, "*-1\r\n"...)
	}
}

func (r *Reply) header(c byte, n int) {
	r.b = append(r.b, c)
	r.b = strconv.AppendInt(r.b, int64(n), 10)
	r.b = append(r.b, '\r', '\n')
}

// Array writes an array header for n elements.
func (r *Reply) Array(n int) { r.header('*', n) }

// Map writes a map header for n key/value pairs (a flat array of 2n
// elements in RESP2).
func (r *Reply) Map(n int) {
	if r.resp3 {
		r.header('%', n)
	} else {
		r.header('*', 2*n)
	}
}

// Set writes a set header (an array in RESP2).
func (r *Reply) Set(n int) {
	if r.resp3 {
		r.header('~', n)
	} else {
		r.header('*', n)
	}
}

// Push writes a push header (an array in RESP2).
func (r *Reply) Push(n int) {
	if r.resp3 {
		r.header('>', n)
	} else {
		r.header('*', n)
	}
}

// Double writes a double (a bulk string in RESP2) in Redis 7.0's format.
func (r *Reply) Double(f float64) {
	if r.resp3 {
		r.b = append(r.b, ',')
		switch {
		case math.IsInf(f, 1):
			r.b = append(r.b, "inf"...)
		case math.IsInf(f, -1):
			r.b = append(r.b, "-inf"...)
		default:
			r.b = AppendDouble(r.b, f)
		}
		r.b = append(r.b, '\r', '\n')
		return
	}
	var tmp [32]byte
	r.Bulk(AppendDouble(tmp[:0], f))
}

// Bool writes a boolean (an integer 1/0 in RESP2).
func (r *Reply) Bool(v bool) {
	if r.resp3 {
		if v {
			r.b = append(r.b, "#t\r\n"...)
		} else {
			r.b = append(r.b, "#f\r\n"...)
		}
		return
	}
	if v {
		r.Int(1)
	} else {
		r.Int(0)
	}
}

// Verbatim writes a verbatim string (a bulk string in RESP2), as INFO and
// CLIENT LIST do.
func (r *Reply) Verbatim(s string) {
	if !r.resp3 {
		r.BulkString(s)
		return
	}
	r.b = append(r.b, '=')
	r.b = strconv.AppendInt(r.b, int64(len(s)+4), 10)
	r.b = append(r.b, "\r\ntxt:"...)
	r.b = append(r.b, s...)
	r.b = append(r.b, '\r', '\n')
}

// StringArray writes an array of bulk strings.
func (r *Reply) StringArray(ss []string) {
	r.Array(len(ss))
	for _, s := range ss {
		r.BulkString(s)
	}
}

// AppendDouble formats f as Redis 7.0 replies doubles: "%.17g", with
// "inf"/"-inf" and "nan".
func AppendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	// %.17g: up to 17 significant digits, shortest of %e/%f forms, trailing
	// zeros removed.
	return strconv.AppendFloat(b, f, 'g', 17, 64)
}
