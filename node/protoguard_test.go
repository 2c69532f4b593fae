package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/tidwall/redcon"
)

// chunkConn is a net.Conn whose reads return data in pieces of the given
// sizes (cycled), then EOF.
type chunkConn struct {
	net.Conn
	data   []byte
	chunks []int
	i      int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.chunks) > 0 {
		n = c.chunks[c.i%len(c.chunks)]
		c.i++
		if n <= 0 || n > len(c.data) {
			n = len(c.data)
		}
	}
	if n > len(p) {
		n = len(p)
	}
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func (c *chunkConn) SetReadDeadline(time.Time) error { return nil }

type guardReader struct {
	g *protoGuard
	c net.Conn
}

func (r guardReader) Read(p []byte) (int, error) { return r.g.Read(r.c, p) }

// runGuard feeds data through a guard and redcon's reader, as a server
// connection does, and returns the requests redcon parsed and what the
// guard wrote back (the protocol error).
func runGuard(t testing.TB, data []byte, chunks []int, lim guardLimits) ([][]string, string, error) {
	var w bytes.Buffer
	g := newProtoGuard(nil, &w)
	g.lim = lim
	rd := redcon.NewReader(guardReader{g, &chunkConn{data: data, chunks: chunks}})
	var got [][]string
	for i := 0; ; i++ {
		if i > len(data)+10 {
			t.Fatalf("no progress reading %q", data)
		}
		cmds, err := rd.ReadCommands()
		for _, c := range cmds {
			var args []string
			for _, a := range c.Args {
				args = append(args, string(a))
			}
			got = append(got, args)
		}
		if err != nil {
			return got, w.String(), err
		}
	}
}

// refParse is a plain (non-streaming) transcription of Redis 7.0's
// processInputBuffer over a complete input: the requests it runs and the
// protocol error it stops with ("" if it runs out of input).
func refParse(data []byte, lim guardLimits) ([][]string, string) {
	var out [][]string
	pos := 0
	findCR := func(from int, tooBig string) (int, string, bool) {
		for i := from; i < len(data); i++ {
			if data[i] == '\r' {
				if i+1 < len(data) {
					return i, "", true
				}
				return 0, "", false
			}
			if data[i] == 0 {
				break
			}
		}
		if len(data)-from > protoInlineMaxSize {
			return 0, tooBig, false
		}
		return 0, "", false
	}
	for pos < len(data) {
		if data[pos] != '*' {
			nl := -1
			for i := pos; i < len(data); i++ {
				if data[i] == '\n' {
					nl = i
					break
				}
				if data[i] == 0 {
					break
				}
			}
			if nl < 0 {
				if len(data)-pos > protoInlineMaxSize {
					return out, "too big inline request"
				}
				return out, ""
			}
			end := nl
			if end > pos && data[end-1] == '\r' {
				end--
			}
			args, err := config.SplitArgs(string(data[pos:end]))
			if err != nil {
				return out, "unbalanced quotes in request"
			}
			if len(args) > 0 {
				out = append(out, args)
			}
			pos = nl + 1
			continue
		}
		r, e, ok := findCR(pos, "too big mbulk count string")
		if !ok {
			return out, e
		}
		ll, ok := ParseInt(data[pos+1 : r])
		if !ok || ll > 1<<31-1 {
			return out, "invalid multibulk length"
		}
		if ll > unauthMaxArgs && lim.authRequired {
			return out, "unauthenticated multibulk length"
		}
		pos = r + 2
		var args []string
		for i := int64(0); i < ll; i++ {
			r, e, ok := findCR(pos, "too big bulk count string")
			if !ok {
				return out, e
			}
			if data[pos] != '$' {
				c := data[pos]
				if c == '\r' || c == '\n' {
					c = ' '
				}
				return out, "expected '$', got '" + string([]byte{c}) + "'"
			}
			bl, ok := ParseInt(data[pos+1 : r])
			if !ok || bl < 0 || bl > lim.maxBulk {
				return out, "invalid bulk length"
			}
			if bl > unauthMaxBulk && lim.authRequired {
				return out, "unauthenticated bulk length"
			}
			pos = r + 2
			if int64(len(data)-pos) < bl+2 {
				return out, ""
			}
			args = append(args, string(data[pos:pos+int(bl)]))
			pos += int(bl) + 2
		}
		if len(args) > 0 {
			out = append(out, args)
		}
	}
	return out, ""
}

var defaultTestLimits = guardLimits{maxBulk: 512 << 20, queryBufLimit: 1 << 30}

// checkAgainstRef runs data through the guard with several chunkings and
// requires Redis's requests and error.
func checkAgainstRef(t testing.TB, data []byte, lim guardLimits, chunkings ...[]int) {
	t.Helper()
	want, wantErr := refParse(data, lim)
	wantReply := ""
	if wantErr != "" {
		wantReply = "-ERR Protocol error: " + wantErr + "\r\n"
	}
	for _, ch := range chunkings {
		got, reply, err := runGuard(t, data, ch, lim)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("chunks %v, input %q:\n got  %q\n want %q", ch, clipTest(data), got, want)
		}
		if reply != wantReply {
			t.Fatalf("chunks %v, input %q: error reply %q, want %q", ch, clipTest(data), reply, wantReply)
		}
		if wantErr != "" && !errors.Is(err, errProtocolClosed) {
			t.Fatalf("chunks %v: read error %v, want protocol error", ch, err)
		}
	}
}

func clipTest(b []byte) string {
	if len(b) > 200 {
		return string(b[:100]) + "..." + string(b[len(b)-100:])
	}
	return string(b)
}

func TestProtoGuardTable(t *testing.T) {
	big := strings.Repeat("v", 100000)
	cases := []string{
		"PING\r\n",
		"*1\r\n$4\r\nPING\r\n",
		"*0\r\n*-1\r\n*-7\r\nPING\r\n",
		"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
		"*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\x00c\r\n",
		"*1\r\nX$4\r\nPING\r\n",
		"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
		"*01\r\n",
		"*1\r\n$-1\r\n",
		"*1\r\n:1\r\n",
		"*1\r\n\r\n",
		"PING\r\n*1\r\nfoo\r\nPING\r\n",
		"ECHO \"a b\" 'c d' e\"f g\"h\r\n",
		"ECHO \"a\"b\r\n",
		"ECHO 'a\r\n",
		"\r\n\n  \t\r\nPING\n",
		"PING\x00\r\n",
		"*1\x00\r\n",
		strings.Repeat("A", 65537),
		"*" + strings.Repeat("1", 65537),
		"*1\r\n$" + strings.Repeat("1", 65537),
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + big + "\r\nGET k\r\n",
		"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*11\r\n",
		strings.Repeat("*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n", 2000) + "*1\r\n$x\r\n",
	}
	chunkings := [][]int{nil, {1}, {2, 3, 5}, {7}, {4096}, {65536, 1}}
	for _, c := range cases {
		checkAgainstRef(t, []byte(c), defaultTestLimits, chunkings...)
	}
	auth := guardLimits{maxBulk: 512 << 20, queryBufLimit: 1 << 30, authRequired: true}
	for _, c := range []string{"*10\r\n", "*11\r\n", "*1\r\n$16384\r\n", "*1\r\n$16385\r\n", "PING\r\n*11\r\n"} {
		checkAgainstRef(t, []byte(c), auth, chunkings...)
	}
	small := guardLimits{maxBulk: 10, queryBufLimit: 1 << 30}
	for _, c := range []string{"*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n", "*2\r\n$4\r\nECHO\r\n$11\r\n"} {
		checkAgainstRef(t, []byte(c), small, chunkings...)
	}
}

// TestProtoGuardQueryBufferLimit: an element larger than the limit closes
// the connection without a reply; many smaller ones do not.
func TestProtoGuardQueryBufferLimit(t *testing.T) {
	lim := guardLimits{maxBulk: 512 << 20, queryBufLimit: 1 << 20}
	arg := strings.Repeat("x", 900<<10)
	ok := "*3\r\n$4\r\nMSET\r\n$921600\r\n" + arg + "\r\n$921600\r\n" + arg + "\r\n"
	got, reply, err := runGuard(t, []byte(ok), []int{16 << 10}, lim)
	if err != io.EOF || reply != "" || len(got) != 1 {
		t.Fatalf("two args under the limit: %d requests, reply %q, err %v", len(got), reply, err)
	}
	over := "PING\r\n*2\r\n$4\r\nECHO\r\n$2000000\r\n" + strings.Repeat("y", 2000000) + "\r\n"
	got, reply, err = runGuard(t, []byte(over), []int{16 << 10}, lim)
	if !errors.Is(err, errQueryBufLimit) || reply != "" || len(got) != 1 {
		t.Fatalf("arg over the limit: %q, reply %q, err %v", got, reply, err)
	}
}

// TestProtoGuardBarrier: after a request that may change parsing (AUTH),
// the guard stops, so the rest is checked with the state that request
// produced.
func TestProtoGuardBarrier(t *testing.T) {
	var w bytes.Buffer
	g := newProtoGuard(nil, &w)
	g.lim = guardLimits{maxBulk: 512 << 20, queryBufLimit: 1 << 30, authRequired: true}
	data := []byte("*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*11\r\n" + strings.Repeat("$1\r\nx\r\n", 11))
	conn := &chunkConn{data: data}
	p := make([]byte, 4096)
	n, err := g.Read(conn, p)
	if err != nil || string(p[:n]) != "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n" {
		t.Fatalf("first batch %q %v", p[:n], err)
	}
	g.lim.authRequired = false // what AUTH did
	n, err = g.Read(conn, p)
	if err != nil || !strings.HasPrefix(string(p[:n]), "*11\r\n") {
		t.Fatalf("second batch %q %v (reply %q)", p[:n], err, w.String())
	}
}

// FuzzRequestPath feeds arbitrary bytes, split at arbitrary points,
// through the guard and redcon's reader: it must not panic or stall, and
// must produce exactly the requests and the protocol error Redis's parser
// would. The seed corpus lives in testdata/fuzz/FuzzRequestPath and runs
// in every `go test`.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{
		"PING\r\n", "*1\r\n$4\r\nPING\r\n", "*0\r\n", "*-1\r\nPING\r\n", "*1\r\n$4\r\nPINGxx",
		"ECHO \"a\\x41\" 'b'\r\n", "*2\r\n$4\r\nECHO\r\n$-1\r\n", "*1\r\nX", "QUIT\r\nPING\r\n",
	} {
		f.Add(uint8(0), uint8(0), []byte(s))
	}
	f.Fuzz(func(t *testing.T, chunk, mode uint8, data []byte) {
		lim := guardLimits{maxBulk: 512 << 20, queryBufLimit: 1 << 30}
		if mode&1 != 0 {
			lim.authRequired = true
		}
		if mode&2 != 0 {
			lim.maxBulk = int64(mode >> 2)
		}
		var chunks []int
		if chunk != 0 {
			chunks = []int{int(chunk%17) + 1, int(chunk%5) + 1, int(chunk)}
		}
		checkAgainstRef(t, data, lim, chunks)
	})
}

// TestProtoGuardHugeCount: a huge declared argument count with little data
// must not make redcon walk the count on every read.
func TestProtoGuardHugeCount(t *testing.T) {
	data := []byte("*2147483647\r\n" + strings.Repeat("$0\r\n\r\n", 20000))
	start := time.Now()
	got, reply, err := runGuard(t, data, []int{4096}, defaultTestLimits)
	if len(got) != 0 || reply != "" || err != io.EOF {
		t.Fatalf("got %q %q %v", got, reply, err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
}
