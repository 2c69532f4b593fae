package node_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
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
	// Bounded concurrency: the quiet period must not be eaten by a
	// thundering herd of connections.
	sem := make(chan struct{}, 64)
	for i, tc := range cases {
		wg.Add(2)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			results[i].r = rawExchange(t, d.RedisAddr, []byte(tc.data), quiet)
		}()
		go func() {
			defer func() { <-sem; wg.Done() }()
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

// connPair is one connection to redis-server and one to slotvault, driven
// in lockstep. Replies are compared after normalising what legitimately
// differs between two servers: client ids (HELLO) and the per-connection
// values of CLIENT LIST / CLIENT INFO lines (addresses, fds, ages, memory).
type connPair struct {
	t    testing.TB
	r, s *resp.Conn
}

func dialPair(t testing.TB, redisAddr, svAddr string) *connPair {
	t.Helper()
	return &connPair{t: t, r: testutil.Dial(t, redisAddr), s: testutil.Dial(t, svAddr)}
}

func (p *connPair) Do(args ...string) (resp.Value, resp.Value) {
	p.t.Helper()
	rv, err := p.r.Do(args...)
	if err != nil {
		p.t.Fatalf("redis %q: %v", args, err)
	}
	sv, err := p.s.Do(args...)
	if err != nil {
		p.t.Fatalf("slotvault %q: %v", args, err)
	}
	if a, b := normConn(rv).String(), normConn(sv).String(); a != b {
		p.t.Errorf("%q\n  redis:     %s\n  slotvault: %s", args, a, b)
	}
	return rv, sv
}

// Run runs a script of redis-cli style lines (see testutil.Diff.Run).
func (p *connPair) Run(script string) {
	p.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args, err := config.SplitArgs(line)
		if err != nil {
			p.t.Fatalf("bad script line %q", line)
		}
		p.Do(args...)
	}
}

// clientInfoVolatile are CLIENT LIST fields whose values depend on the
// connection or on allocator details, not on the client's state.
var clientInfoVolatile = map[string]bool{
	"id": true, "addr": true, "laddr": true, "fd": true, "age": true, "idle": true,
	"qbuf-free": true, "multi-mem": true, "rbs": true, "rbp": true, "obl": true,
	"oll": true, "omem": true, "tot-mem": true, "events": true,
}

func normConn(v resp.Value) resp.Value {
	switch v.Type {
	case '$', '=':
		if strings.HasPrefix(strings.TrimPrefix(v.Str, "txt:"), "id=") {
			v.Str = normClientInfo(v.Str)
		}
	case '*', '%', '~':
		v.Elems = append([]resp.Value(nil), v.Elems...)
		for i := range v.Elems {
			if i > 0 && v.Elems[i].Type == ':' && v.Elems[i-1].Str == "id" && (v.Type == '%' || i%2 == 1) {
				v.Elems[i].Int = 0
			}
			v.Elems[i] = normConn(v.Elems[i])
		}
	}
	return v
}

func normClientInfo(s string) string {
	var lines []string
	for _, line := range strings.Split(s, "\n") {
		var fields []string
		for _, f := range strings.Split(line, " ") {
			k, _, _ := strings.Cut(f, "=")
			if clientInfoVolatile[strings.TrimPrefix(k, "txt:")] {
				f = k + "=?"
			}
			fields = append(fields, f)
		}
		lines = append(lines, strings.Join(fields, " "))
	}
	return strings.Join(lines, "\n")
}

func TestDiffConnHello(t *testing.T) {
	d := testutil.NewDiff(t)
	p := dialPair(t, d.RedisAddr, d.SVAddr)
	p.Run(`
HELLO
HELLO 2
HELLO x
HELLO 1
HELLO 4
HELLO -1
HELLO 99999999999999999999
HELLO 3 foo
HELLO 2 AUTH a
HELLO 2 AUTH
HELLO 2 SETNAME
HELLO 3 SETNAME "a b"
HELLO 3 SETNAME "a\x01b"
CLIENT GETNAME
HELLO 3 AUTH foo bar
HELLO 2 AUTH default anything
HELLO 2 SETNAME n1 SETNAME n2
CLIENT GETNAME
HELLO 2 SETNAME "" 
CLIENT GETNAME
hello 2 auth default x setname n3
CLIENT GETNAME
HELLO 3
CLIENT GETNAME
CLIENT TRACKINGINFO
CLIENT INFO
CLIENT LIST ID 0
HELLO
HELLO 3 SETNAME n4
CLIENT GETNAME
HELLO 2
CLIENT GETNAME
CLIENT SETNAME ""
CLIENT GETNAME
PING
HELLO 3
PING
ECHO x
`)
}

func TestDiffConnAuthSelect(t *testing.T) {
	d := testutil.NewDiff(t)
	p := dialPair(t, d.RedisAddr, d.SVAddr)
	p.Run(`
AUTH x
AUTH a b
AUTH default b
AUTH a b c
AUTH
SELECT x
SELECT 16
SELECT -1
SELECT 99999999999
SELECT -99999999999
SELECT 1.5
SELECT 01
SELECT " 1"
SELECT
SELECT 1 2
SELECT 15
CLIENT INFO
SELECT 0
CLIENT INFO
`)
}

func TestDiffConnRequirePass(t *testing.T) {
	ra, sa := startAuthPair(t)
	p := dialPair(t, ra, sa)
	p.Run(`
PING
ECHO a
CLIENT ID
SELECT 1
HELLO
HELLO 3
HELLO 2 SETNAME x
HELLO 3 AUTH default wrong
HELLO 3 AUTH other pw
AUTH wrong
AUTH default wrong
AUTH other pw
AUTH a b c
PING
HELLO 3 AUTH default pw SETNAME named
CLIENT GETNAME
CLIENT INFO
RESET
PING
CLIENT GETNAME
AUTH pw
PING
RESET
AUTH default pw
CLIENT INFO
QUIT
`)
	q := dialPair(t, ra, sa)
	q.Run(`
NOSUCHCOMMAND
CLIENT
CLIENT LIST
QUIT
`)
}

func TestDiffConnClient(t *testing.T) {
	d := testutil.NewDiff(t)
	for _, proto := range []string{"2", "3"} {
		t.Run("resp"+proto, func(t *testing.T) {
			p := dialPair(t, d.RedisAddr, d.SVAddr)
			p.Do("HELLO", proto)
			p.Run(clientScript)
		})
	}
}

const clientScript = `
CLIENT
CLIENT FOO
client foo bar
CLIENT HELP
CLIENT HELP x
CLIENT ID x
CLIENT INFO x
CLIENT GETNAME
CLIENT SETNAME
CLIENT SETNAME a b
CLIENT SETNAME "a b"
CLIENT SETNAME "a\nb"
CLIENT SETNAME "\x7f"
CLIENT SETNAME "~!"
CLIENT GETNAME
CLIENT SETNAME ""
CLIENT GETNAME
CLIENT SETNAME conn1
CLIENT INFO
CLIENT LIST
CLIENT LIST TYPE normal
CLIENT LIST TYPE NORMAL
CLIENT LIST TYPE pubsub
CLIENT LIST TYPE master
CLIENT LIST TYPE replica
CLIENT LIST TYPE slave
CLIENT LIST TYPE bad
CLIENT LIST TYPE
CLIENT LIST foo
CLIENT LIST ID
CLIENT LIST ID x
CLIENT LIST ID 1 x
CLIENT LIST ID -1
CLIENT LIST ID 0 99999
CLIENT LIST type normal extra
CLIENT NO-EVICT
CLIENT NO-EVICT maybe
CLIENT NO-EVICT on
CLIENT INFO
CLIENT NO-EVICT OFF
CLIENT INFO
CLIENT NO-EVICT on off
CLIENT UNBLOCK
CLIENT UNBLOCK 1 2 3
CLIENT UNBLOCK 1 foo
CLIENT UNBLOCK x foo
CLIENT UNBLOCK x
CLIENT UNBLOCK 99999
CLIENT UNBLOCK 99999 TIMEOUT
CLIENT UNBLOCK 99999 error
CLIENT PAUSE
CLIENT PAUSE x
CLIENT PAUSE -1
CLIENT PAUSE 10 foo
CLIENT PAUSE 10 write x
CLIENT PAUSE 99999999999999999999
CLIENT PAUSE 0
CLIENT PAUSE 0 WRITE
CLIENT PAUSE 0 all
CLIENT UNPAUSE
CLIENT UNPAUSE x
CLIENT REPLY
CLIENT REPLY foo
CLIENT REPLY on
CLIENT REPLY on off
CLIENT TRACKING
CLIENT TRACKING off
CLIENT TRACKING x
CLIENT TRACKINGINFO
CLIENT TRACKINGINFO x
CLIENT GETREDIR
CLIENT GETREDIR x
CLIENT CACHING yes
CLIENT CACHING x
CLIENT CACHING
CLIENT KILL
CLIENT KILL 1.2.3.4:5
CLIENT KILL id x
CLIENT KILL id 0
CLIENT KILL id -5
CLIENT KILL id 99999
CLIENT KILL id
CLIENT KILL id 1 type
CLIENT KILL type foo
CLIENT KILL user foo
CLIENT KILL user default skipme x
CLIENT KILL foo bar
CLIENT KILL maxage 1
CLIENT KILL laddr 1.1.1.1:1
CLIENT KILL addr 1.1.1.1:1
CLIENT KILL skipme no id 99999
CLIENT KILL type pubsub
CLIENT KILL type master
CLIENT KILL type replica
CLIENT KILL type slave
CLIENT KILL type normal
CLIENT KILL type normal skipme yes
CLIENT KILL user default
CLIENT INFO
`

// TestDiffConnCluster: SELECT and HELLO in cluster mode.
func TestDiffConnCluster(t *testing.T) {
	d := testutil.NewDiff(t, "cluster-enabled yes")
	p := dialPair(t, d.RedisAddr, d.SVAddr)
	p.Run(`
SELECT 0
SELECT 1
SELECT -1
SELECT 16
SELECT x
HELLO
HELLO 3
CLIENT INFO
`)
}

func TestDiffConnReplyMode(t *testing.T) {
	d := testutil.NewDiff(t)
	runRawDiff(t, d, []rawCase{
		{name: "off-on", data: "CLIENT REPLY OFF\r\nPING\r\nECHO a\r\nNOSUCH\r\nCLIENT REPLY ON\r\nPING\r\n"},
		{name: "skip", data: "CLIENT REPLY SKIP\r\nPING\r\nECHO b\r\nCLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nECHO c\r\nECHO d\r\n"},
		{name: "skip-while-off", data: "CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nECHO e\r\n"},
		{name: "skip-then-on", data: "CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nECHO f\r\n"},
		{name: "off-protocol-error", data: "CLIENT REPLY OFF\r\nPING\r\n*1\r\nx\r\n"},
		{name: "off-quit", data: "CLIENT REPLY OFF\r\nQUIT\r\n"},
		{name: "off-reset", data: "CLIENT REPLY OFF\r\nRESET\r\nPING\r\n"},
		{name: "bad", data: "CLIENT REPLY x\r\nCLIENT REPLY\r\n"},
	})
}

func TestDiffConnResetQuit(t *testing.T) {
	d := testutil.NewDiff(t)
	p := dialPair(t, d.RedisAddr, d.SVAddr)
	p.Run(`
RESET x
CLIENT SETNAME before
CLIENT NO-EVICT on
SELECT 3
HELLO 3
RESET
CLIENT INFO
CLIENT GETNAME
PING
`)
	runRawDiff(t, d, []rawCase{
		{name: "quit", data: "QUIT\r\n"},
		{name: "quit-multibulk", data: mb("QUIT")},
		{name: "quit-after-pipeline", data: "PING\r\nECHO x\r\nQUIT\r\nECHO y\r\n"},
		{name: "kill-self-old-form-missing", data: "CLIENT KILL 1.1.1.1:1\r\nPING\r\n"},
		{name: "reset-skip", data: "CLIENT REPLY SKIP\r\nRESET\r\nPING\r\n"},
	})
	// Killing every normal client, the caller included: run alone, once
	// both servers have noticed the closed connections above.
	waitClients(t, d.Redis, 2)
	waitClients(t, d.SV, 2)
	runRawDiff(t, d, []rawCase{
		{name: "kill-self-skipme-no", data: "CLIENT KILL TYPE normal SKIPME no\r\nPING\r\n"},
	})
}

// TestDiffConnResetMulti needs MULTI/EXEC (the transaction family).
func TestDiffConnResetMulti(t *testing.T) {
	d := testutil.NewDiff(t)
	if v, _ := d.SV.Do("MULTI"); v.IsError() {
		t.Skip("MULTI not available")
	}
	d.SV.Do("DISCARD")
	p := dialPair(t, d.RedisAddr, d.SVAddr)
	p.Run(`
MULTI
PING
CLIENT INFO
RESET
CLIENT INFO
MULTI
RESET
EXEC
WATCH k
CLIENT INFO
RESET
CLIENT INFO
`)
	runRawDiff(t, d, []rawCase{
		{name: "quit-in-multi", data: "MULTI\r\nPING\r\nQUIT\r\nPING\r\n"},
	})
}

// waitClients waits until the server behind c lists n clients.
func waitClients(t testing.TB, c *resp.Conn, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := c.Do("CLIENT", "LIST")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(v.Str, "\n"); got == n {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%d clients connected, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDiffConnProtocolRandom sends random protocol-like byte streams
// (fragments of valid requests, broken lengths, quotes, NULs, line breaks)
// to both servers and requires the same bytes back and the same close
// behaviour. The seed is fixed, so failures reproduce.
func TestDiffConnProtocolRandom(t *testing.T) {
	d := testutil.NewDiff(t)
	rng := rand.New(rand.NewPCG(7, 2026))
	tokens := []string{
		"*", "$", "\r\n", "\r", "\n", "\x00", " ", "\t", "\"", "'", "\\", "\\x4", "\\x41", "0", "1", "2", "3", "-1", "10",
		"PING", "ECHO", "ping", "echo", "SELECT", "QUIT", "RESET", "NOSUCH", "a", "bb", "\xff",
		"*1\r\n$4\r\nPING\r\n", "*2\r\n$4\r\nECHO\r\n$", "PING\r\n", "ECHO \"x y\"\r\n", "*0\r\n", "*-1\r\n",
	}
	var cases []rawCase
	for i := 0; i < 300; i++ {
		var b strings.Builder
		n := 1 + rng.IntN(12)
		for j := 0; j < n; j++ {
			b.WriteString(tokens[rng.IntN(len(tokens))])
		}
		cases = append(cases, rawCase{name: "random-" + strconv.Itoa(i), data: b.String()})
	}
	runRawDiff(t, d, cases)
}
