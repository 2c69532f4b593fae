// Package resp is a small RESP2/RESP3 client used by tests and tools to see
// replies exactly as a server sends them: type, nulls, nesting.
package resp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Value is one reply. Type is the RESP type byte ('+', '-', ':', '$', '*',
// '%', '~', '>', ',', '#', '_', '=', '(' ); Null is set for $-1, *-1 and _.
type Value struct {
	Type  byte
	Str   string
	Int   int64
	Null  bool
	Elems []Value
}

// String renders v canonically, e.g. `"bar"`, `(integer) 1`, `(error) ERR x`,
// `[1) "a" 2) "b"]`, so replies from two servers can be compared.
func (v Value) String() string {
	switch v.Type {
	case '+':
		return "+" + v.Str
	case '-':
		return "(error) " + v.Str
	case ':':
		return "(integer) " + strconv.FormatInt(v.Int, 10)
	case '$', '=':
		if v.Null {
			return "(nil)"
		}
		return strconv.Quote(v.Str)
	case ',':
		return "(double) " + v.Str
	case '#':
		return "(bool) " + v.Str
	case '(':
		return "(bignum) " + v.Str
	case '_':
		return "(null)"
	case '*', '~', '>', '%':
		if v.Null {
			return "(nil array)"
		}
		var b strings.Builder
		b.WriteByte(v.Type)
		b.WriteByte('[')
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.String())
		}
		b.WriteByte(']')
		return b.String()
	}
	return fmt.Sprintf("(unknown %q) %s", v.Type, v.Str)
}

// Sorted returns a copy of v with aggregate elements sorted by their
// rendering (for replies whose order Redis does not define). Maps keep
// their key/value pairing.
func (v Value) Sorted() Value {
	if len(v.Elems) == 0 {
		return v
	}
	c := v
	c.Elems = append([]Value(nil), v.Elems...)
	if v.Type == '%' {
		type kv struct{ k, v Value }
		pairs := make([]kv, 0, len(c.Elems)/2)
		for i := 0; i+1 < len(c.Elems); i += 2 {
			pairs = append(pairs, kv{c.Elems[i], c.Elems[i+1]})
		}
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].k.String() < pairs[j].k.String() })
		for i, p := range pairs {
			c.Elems[2*i], c.Elems[2*i+1] = p.k, p.v
		}
		return c
	}
	sort.Slice(c.Elems, func(i, j int) bool { return c.Elems[i].String() < c.Elems[j].String() })
	return c
}

// IsError reports whether v is an error reply.
func (v Value) IsError() bool { return v.Type == '-' }

// Conn is a client connection.
type Conn struct {
	c       net.Conn
	r       *bufio.Reader
	Timeout time.Duration
}

// Dial connects to addr.
func Dial(addr string) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, r: bufio.NewReaderSize(c, 64<<10), Timeout: 30 * time.Second}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// NetConn exposes the socket (for raw protocol tests).
func (c *Conn) NetConn() net.Conn { return c.c }

// Encode renders args as a RESP multibulk request.
func Encode(args ...string) []byte {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// Do sends one command and reads one reply.
func (c *Conn) Do(args ...string) (Value, error) {
	if err := c.Send(args...); err != nil {
		return Value{}, err
	}
	return c.Read()
}

// Send writes one command without reading.
func (c *Conn) Send(args ...string) error {
	c.c.SetWriteDeadline(time.Now().Add(c.Timeout))
	_, err := c.c.Write(Encode(args...))
	return err
}

// WriteRaw writes raw bytes.
func (c *Conn) WriteRaw(p []byte) error {
	c.c.SetWriteDeadline(time.Now().Add(c.Timeout))
	_, err := c.c.Write(p)
	return err
}

// Read reads one reply.
func (c *Conn) Read() (Value, error) {
	c.c.SetReadDeadline(time.Now().Add(c.Timeout))
	return readValue(c.r)
}

// ErrProtocol reports a malformed reply.
var ErrProtocol = errors.New("resp: protocol error in reply")

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("%w: line %q", ErrProtocol, line)
	}
	return line[:len(line)-2], nil
}

func readValue(r *bufio.Reader) (Value, error) {
	line, err := readLine(r)
	if err != nil {
		return Value{}, err
	}
	if len(line) == 0 {
		return Value{}, fmt.Errorf("%w: empty line", ErrProtocol)
	}
	t, rest := line[0], line[1:]
	v := Value{Type: t}
	switch t {
	case '+', '-', ',', '#', '(':
		v.Str = rest
	case ':':
		v.Int, err = strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return v, fmt.Errorf("%w: integer %q", ErrProtocol, rest)
		}
	case '_':
		v.Null = true
	case '$', '=', '!':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return v, fmt.Errorf("%w: length %q", ErrProtocol, rest)
		}
		if n < 0 {
			v.Null = true
			return v, nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(r, buf); err != nil {
			return v, err
		}
		v.Str = string(buf[:n])
		if t == '!' {
			v.Type = '-'
		}
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return v, fmt.Errorf("%w: length %q", ErrProtocol, rest)
		}
		if n < 0 {
			v.Null = true
			return v, nil
		}
		if t == '%' || t == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			e, err := readValue(r)
			if err != nil {
				return v, err
			}
			v.Elems = append(v.Elems, e)
		}
		if t == '|' {
			// attribute: skip it and return the value it decorates
			return readValue(r)
		}
	default:
		return v, fmt.Errorf("%w: type %q", ErrProtocol, t)
	}
	return v, nil
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
