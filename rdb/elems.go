package rdb

import "strconv"

// elemFunc receives one element of a compact container: a string (s
// aliases the container) or, when isInt, the integer v.
type elemFunc func(s []byte, v int64, isInt bool)

// walkFunc validates a container and calls fn for each element in order.
// It calls fn only for entries it has validated, and when it returns an
// error the elements already passed to fn must be discarded.
type walkFunc func(b []byte, fn elemFunc) error

// elemSize measures elements: their number and their total size as
// strings.
type elemSize struct{ n, bytes int }

func (z *elemSize) add(s []byte, v int64, isInt bool) {
	z.n++
	if isInt {
		z.bytes += intLen(v)
	} else {
		z.bytes += len(s)
	}
}

// elemBuf collects elements measured by an elemSize: buf holds their bytes
// back to back, out the elements, each capped at its own length so that
// appending to one never writes into the next.
type elemBuf struct {
	buf []byte
	out [][]byte
}

// newElemBuf returns an elemBuf for z's elements, appending them to dst.
func newElemBuf(dst [][]byte, z elemSize) *elemBuf {
	if cap(dst)-len(dst) < z.n {
		dst = append(make([][]byte, 0, len(dst)+z.n), dst...)
	}
	return &elemBuf{buf: make([]byte, 0, z.bytes), out: dst}
}

func (e *elemBuf) add(s []byte, v int64, isInt bool) {
	start := len(e.buf)
	if isInt {
		e.buf = strconv.AppendInt(e.buf, v, 10)
	} else {
		e.buf = append(e.buf, s...)
	}
	e.out = append(e.out, e.buf[start:len(e.buf):len(e.buf)])
}

// collect returns the elements of container b.
func collect(b []byte, walk walkFunc) ([][]byte, error) {
	var z elemSize
	if err := walk(b, z.add); err != nil {
		return nil, err
	}
	e := newElemBuf(nil, z)
	if err := walk(b, e.add); err != nil {
		return nil, err // not reached: b passed the first walk
	}
	return e.out, nil
}

// intLen is the length of v in decimal.
func intLen(v int64) int {
	n := 1
	u := uint64(v)
	if v < 0 {
		n++
		u = -u
	}
	for ; u >= 10; u /= 10 {
		n++
	}
	return n
}
