package node_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/testutil"
)

// rawResult is what a server did with a byte stream: everything it wrote
// back and whether it closed the connection.
type rawResult struct {
	out    []byte
	closed bool
}

// rawExchange sends data to addr and collects the reply until the server
// closes the connection or stays quiet for quiet.
func rawExchange(t testing.TB, addr string, data []byte, quiet time.Duration) rawResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	go func() {
		// The server may close while we are still writing.
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		c.Write(data)
	}()
	var res rawResult
	buf := make([]byte, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		res.out = append(res.out, buf[:n]...)
		if err == nil {
			continue
		}
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, io.EOF) {
			res.closed = true
		}
		return res
	}
}

type rawCase struct {
	name string
	data string
	// closeOnly compares only whether the connection was closed: a server
	// that drops a client with unread input resets the connection, which
	// may discard replies in flight.
	closeOnly bool
}

// runRawDiff sends each case's bytes to redis-server and slotvault on
// fresh connections, all at once, and requires the same bytes back and the
// same close behaviour.
func runRawDiff(t *testing.T, d *testutil.Diff, cases []rawCase) {
	t.Helper()
	type result struct{ r, s rawResult }
	results := make([]result, len(cases))
	var wg sync.WaitGroup
	quiet := 300 * time.Millisecond
	for i, tc := range cases {
		wg.Add(2)
		go func() {
			defer wg.Done()
			results[i].r = rawExchange(t, d.RedisAddr, []byte(tc.data), quiet)
		}()
		go func() {
			defer wg.Done()
			results[i].s = rawExchange(t, d.SVAddr, []byte(tc.data), quiet)
		}()
	}
	wg.Wait()
	for i, tc := range cases {
		rr, sr := results[i].r, results[i].s
		if rr.closed != sr.closed {
			t.Errorf("%s: closed: redis %v, slotvault %v for %q\n  redis:     %q\n  slotvault: %q", tc.name, rr.closed, sr.closed, clip(tc.data), clip(string(rr.out)), clip(string(sr.out)))
		}
		if tc.closeOnly {
			continue
		}
		if !bytes.Equal(rr.out, sr.out) {
			t.Errorf("%s: reply differs for %q\n  redis:     %q\n  slotvault: %q", tc.name, clip(tc.data), clip(string(rr.out)), clip(string(sr.out)))
		}
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:150] + "..." + s[len(s)-150:]
	}
	return s
}

func rep(s string, n int) string { return strings.Repeat(s, n) }

// mb encodes a multibulk request.
func mb(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

func TestDiffConnectionBasics(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
PING
PING hello
PING a b
ECHO "hello world"
ECHO
NOSUCHCOMMAND a b
`)
}

func TestDiffConnProtocol(t *testing.T) {
	d := testutil.NewDiff(t)
	runRawDiff(t, d, []rawCase{
		// Multibulk counts.
		{name: "zero-count", data: "*0\r\nPING\r\n"},
		{name: "neg-count", data: "*-1\r\nPING\r\n"},
		{name: "neg10-count", data: "*-10\r\n*0\r\n" + mb("ECHO", "x")},
		{name: "huge-count-waits", data: "*20000000\r\n"},
		{name: "intmax-count-waits", data: "*2147483647\r\n"},
		{name: "over-intmax-count", data: "PING\r\n*2147483648\r\n"},
		{name: "leading-zero-count", data: "*01\r\n$4\r\nPING\r\n"},
		{name: "plus-count", data: "*+1\r\n$4\r\nPING\r\n"},
		{name: "empty-count", data: "*\r\n"},
		{name: "space-count", data: "*1 \r\n$4\r\nPING\r\n"},
		{name: "space-before-count", data: "* 1\r\n$4\r\nPING\r\n"},
		{name: "minus-zero-count", data: "*-0\r\n"},
		{name: "letters-count", data: "*abc\r\n"},
		{name: "cr-anything-count", data: "*1\rX$4\r\nPING\r\n"},
		{name: "count-waits-for-lf", data: "PING\r\n*1\r"},
		{name: "nul-in-count-waits", data: "*1\x00\r\n$4\r\nPING\r\n"},
		// Bulk headers and payloads.
		{name: "payload-trailer-unchecked", data: "*1\r\n$4\r\nPINGxx"},
		{name: "payload-trailer-then-next", data: "*2\r\n$4\r\nECHO\r\n$1\r\nvXY" + mb("ECHO", "k")},
		{name: "leading-zero-bulk", data: "*1\r\n$04\r\nPING\r\n"},
		{name: "neg-bulk", data: "*1\r\n$-1\r\nPING\r\n"},
		{name: "space-bulk", data: "*1\r\n$ 4\r\nPING\r\n"},
		{name: "bulk-space-after", data: "*1\r\n$4 \r\nPING\r\n"},
		{name: "bulk-empty-len", data: "*1\r\n$\r\nPING\r\n"},
		{name: "expected-dollar-cr", data: "*1\r\n\r\n"},
		{name: "expected-dollar-lf", data: "*1\r\n\n\r\n"},
		{name: "expected-dollar-X", data: "*1\r\nX\r\n"},
		{name: "expected-dollar-colon", data: "*2\r\n$3\r\nGET\r\n:1\r\n"},
		{name: "error-after-valid", data: "PING\r\n*1\r\nfoo\r\nPING\r\n"},
		{name: "error-after-pipeline", data: mb("ECHO", "a") + mb("PING") + mb("ECHO", "b") + "*1\r\n$-5\r\n" + mb("PING")},
		{name: "error-in-second-arg", data: mb("PING") + "*2\r\n$3\r\nGET\r\n%1\r\n"},
		{name: "empty-bulk-arg", data: "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"},
		{name: "binary-arg", data: mb("ECHO", "a\x00b\r\nc\xff")},
		{name: "incomplete-waits", data: "*1\r\n$4\r\nPIN"},
		{name: "incomplete-header-waits", data: "*2\r\n$4\r\nECHO\r\n$1"},
		{name: "nul-in-bulk-header", data: "*1\r\n\x00$4\r\nPING\r\n"},
		// Header lines longer than PROTO_INLINE_MAX_SIZE.
		{name: "too-big-count", data: "*" + rep("1", 65536)},
		{name: "count-64k-waits", data: "*" + rep("1", 65535)},
		{name: "too-big-bulk-count", data: "*1\r\n$" + rep("1", 65536)},
		{name: "bulk-count-64k-waits", data: "*1\r\n$" + rep("1", 65535)},
		{name: "nul-bulk-count-too-big", data: "*1\r\n\x00" + rep("x", 65536)},
		// Inline requests.
		{name: "inline-ping", data: "PING\r\n"},
		{name: "inline-lf-only", data: "ECHO a\n"},
		{name: "inline-empty-lines", data: "\n\r\n  \r\n\t\r\nPING\r\n"},
		{name: "inline-hex", data: "ECHO \"a\\x41\\n\" \r\n"},
		{name: "inline-bad-hex", data: "ECHO \"\\xZZ\"\r\n"},
		{name: "inline-hex-high", data: "ECHO \"\\xfF\"\r\n"},
		{name: "inline-escapes", data: "ECHO \"\\a\\b\\t\\r\\n\\\\\\\"\"\r\n"},
		{name: "inline-single-quotes", data: "ECHO 'a\\'b'\r\n"},
		{name: "inline-single-no-escapes", data: "ECHO 'a\\nb'\r\n"},
		{name: "inline-quote-mid-token", data: "ECHO a\"b c\"d\r\n"},
		{name: "inline-empty-quotes", data: "ECHO \"\"\r\nECHO ''\r\n"},
		{name: "inline-closing-quote-glued", data: "ECHO \"a\"b\r\n"},
		{name: "inline-closing-squote-glued", data: "PING\r\nECHO 'a'b\r\n"},
		{name: "inline-unterminated", data: "ECHO \"ab\r\n"},
		{name: "inline-unterminated-single", data: "ECHO 'ab\r\n"},
		{name: "inline-vtab", data: "ECHO a\x0bb\r\n\x0bECHO\x0ca\r\n"},
		{name: "inline-cr-splits", data: "ECHO\ta\rb\r\n"},
		{name: "inline-double-cr", data: "ECHO a\r\r\n"},
		{name: "inline-nul-waits", data: "PING\x00\r\n"},
		{name: "inline-nul-too-big", data: "PING\x00\r\n" + rep("x", 65536)},
		{name: "inline-64k-waits", data: rep("A", 65536)},
		{name: "inline-too-big", data: rep("A", 65537)},
		{name: "inline-too-big-after-ping", data: "PING\r\n" + rep("A", 65537)},
		{name: "inline-long-line", data: rep("A", 65537) + "\n"},
		{name: "inline-then-multibulk", data: "ECHO v\r\n" + mb("ECHO", "k") + "ECHO k\r\n"},
		{name: "inline-star-after-space", data: " *1\r\n"},
		{name: "unknown-with-nul", data: "*1\r\n$4\r\nPI\x00G\r\n"},
		// QUIT stops the pipeline.
		{name: "quit-pipelined", data: "PING\r\nQUIT\r\nPING\r\n"},
		{name: "quit-then-garbage", data: mb("QUIT") + "*1\r\nfoo\r\n"},
		{name: "quit-args", data: "QUIT a b\r\n"},
	})
}

// TestDiffConnProtocolAuth covers the limits Redis applies to clients that
// still have to authenticate.
func TestDiffConnProtocolAuth(t *testing.T) {
	ra, sa := startAuthPair(t)
	d := &testutil.Diff{RedisAddr: ra, SVAddr: sa}
	runRawDiff(t, d, []rawCase{
		{name: "10-args-ok", data: "*10\r\n"},
		{name: "11-args", data: "*11\r\n"},
		{name: "bulk-16384-ok", data: "*1\r\n$16384\r\n"},
		{name: "bulk-16385", data: "*1\r\n$16385\r\n"},
		{name: "bulk-100000", data: "*1\r\n$100000\r\n"},
		{name: "noauth-then-11", data: "PING\r\n*11\r\n"},
		{name: "11-then-ping", data: "*11\r\n$4\r\nPING\r\n"},
		{name: "auth-then-11", data: mb("AUTH", "pw") + "*11\r\n"},
		{name: "auth-then-big-bulk", data: mb("AUTH", "pw") + "*1\r\n$16385\r\n"},
		{name: "inline-auth-then-big", data: "AUTH pw\r\n*1\r\n$16385\r\n"},
		{name: "wrong-auth-then-11", data: "AUTH x\r\n*11\r\n"},
		{name: "auth-user-then-11", data: "AUTH default pw\r\n*11\r\n"},
		{name: "hello-bad-auth-then-11", data: "HELLO 2 AUTH default bad\r\n*11\r\n"},
		{name: "hello-noauth-then-11", data: "HELLO 3\r\n*11\r\n"},
		{name: "auth-then-12-args", data: "AUTH pw\r\n" + mb("ECHO", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f")},
		{name: "auth-then-echo-big", data: "AUTH pw\r\n" + mb("ECHO", rep("z", 20000))},
		{name: "reset-deauths", data: "AUTH pw\r\nRESET\r\n*11\r\n"},
		{name: "reset-deauths-bulk", data: "AUTH pw\r\nRESET\r\n*1\r\n$16385\r\n"},
	})
}

// startAuthPair starts redis-server and slotvault with requirepass pw and
// returns their addresses. (redis-server gets the password by CONFIG SET,
// since the launcher waits for an unauthenticated PING.)
func startAuthPair(t *testing.T, lines ...string) (string, string) {
	t.Helper()
	var extra []string
	for _, l := range lines {
		f := strings.Fields(l)
		extra = append(extra, "--"+f[0])
		extra = append(extra, f[1:]...)
	}
	r := testutil.StartRedis(t, extra...)
	rc := testutil.Dial(t, r.Addr())
	if v, err := rc.Do("CONFIG", "SET", "requirepass", "pw"); err != nil || v.IsError() {
		t.Fatalf("config set requirepass: %v %v", v, err)
	}
	s := testutil.StartInProc(t, append(lines, "requirepass pw")...)
	return r.Addr(), s.Addr()
}

// TestDiffConnProtocolLimits covers proto-max-bulk-len and
// client-query-buffer-limit.
func TestDiffConnProtocolLimits(t *testing.T) {
	d := testutil.NewDiff(t, "proto-max-bulk-len 1048576", "client-query-buffer-limit 1mb")
	big := rep("x", 900000)
	runRawDiff(t, d, []rawCase{
		{name: "max-bulk-ok-waits", data: "*1\r\n$1048576\r\n"},
		{name: "max-bulk-exceeded", data: "PING\r\n*1\r\n$1048577\r\n"},
		{name: "under-qbuf-limit", data: mb("ECHO", big) + mb("PING")},
		// The query buffer holds one argument at a time: 1.8 MB over two
		// arguments is fine.
		{name: "two-args-over-limit-total", data: mb("PING", big, big) + mb("ECHO", "j")},
		{name: "inline-after-big", data: mb("ECHO", big) + "ECHO k\r\n"},
	})
	// A single argument larger than the query buffer limit: closed without
	// a reply (proto-max-bulk-len must allow it first).
	d2 := testutil.NewDiff(t, "client-query-buffer-limit 1mb")
	runRawDiff(t, d2, []rawCase{
		{name: "arg-over-qbuf-limit", data: mb("PING") + mb("ECHO", rep("y", 2000000)), closeOnly: true},
	})
}
