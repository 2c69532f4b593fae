package node

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/slotvault/slotvault/config"
)

// The protocol guard is Redis 7.0's request parser (networking.c:
// processInlineBuffer, processMultibulkBuffer and the query buffer check of
// readQueryFromClient) placed between a client's socket and redcon.
//
// redcon's own parser differs from Redis in many small ways: it refuses
// "*0" and "*-1" (Redis ignores them), accepts "+1" and "01" as lengths,
// insists on "\r\n" where Redis only skips two bytes, splits inline
// commands with its own quoting rules, answers a protocol error before
// executing the valid requests that preceded it in the same read, and has
// no notion of proto-max-bulk-len, client-query-buffer-limit or the limits
// Redis applies to unauthenticated clients. So the guard parses the raw
// stream exactly as Redis does and hands redcon only canonical multibulk
// requests ("*N\r\n$len\r\n...\r\n"), which redcon parses identically.
//
// Ordering. redcon calls Read only when its buffer holds no complete
// request, and it has executed and flushed the replies of every request it
// parsed before. The guard relies on this: when it finds a protocol error it
// first delivers the complete requests before the bad one, and writes the
// error (then fails the read, which makes redcon close the connection) on
// the following Read, i.e. after their replies. For the same reason it stops
// after a request that may change how later bytes must be parsed (AUTH,
// HELLO, CONFIG, EXEC, RESET, QUIT, CLIENT, ...): the rest of the input is
// parsed on the next Read, with limits re-read from the node after that
// request ran, as Redis applies a CONFIG SET proto-max-bulk-len or an AUTH
// to the very next request of a pipeline.
//
// Streaming. Bulk payloads are passed through as they arrive rather than
// buffered whole. Because redcon re-scans an incomplete request from its
// start on every read, the part of an incomplete request delivered to it
// grows geometrically (a partial tail is released only once it is at least
// as long as what was already delivered), which keeps that rescanning
// linear overall and the guard's buffering within a factor of two.
//
// Concurrency: a guard is used only by its connection's goroutine; the
// values it needs from the node are copied under the node lock at the start
// of each batch (snapshot).

// Limits from Redis's server.h.
const (
	protoInlineMaxSize = 64 * 1024 // PROTO_INLINE_MAX_SIZE
	protoIOBufLen      = 16 * 1024 // PROTO_IOBUF_LEN
	protoMbulkBigArg   = 32 * 1024 // PROTO_MBULK_BIG_ARG
	unauthMaxArgs      = 10        // multibulk count allowed before AUTH
	unauthMaxBulk      = 16384     // bulk length allowed before AUTH

	// guardMaxRead bounds one socket read for a big bulk argument, where
	// Redis reads up to the end of the argument.
	guardMaxRead = 1 << 20
	// guardMinPartial is the smallest partial request tail released early.
	guardMinPartial = 64 * 1024
)

// Errors returned to redcon from Read; both make it close the connection.
var (
	errProtocolClosed = errors.New("node: protocol error, connection closed")
	errQueryBufLimit  = errors.New("node: client reached max query buffer length")
	errClientKilled   = errors.New("node: client killed")
)

type guardState uint8

const (
	gsRequest    guardState = iota // at a request boundary
	gsInline                       // reading an inline request line
	gsCount                        // reading "*<count>\r\n"
	gsBulkHeader                   // reading "$<len>\r\n"
	gsBulkData                     // reading a bulk payload and its 2-byte trailer
)

// guardLimits are the node values the parser depends on, copied under the
// node lock at the start of each batch.
type guardLimits struct {
	maxBulk       int64
	queryBufLimit int64
	authRequired  bool
	idle          time.Duration
	replyOff      bool
	deaf          bool // the client is to be ignored (see Client.deaf)
	paused        bool // a CLIENT PAUSE is in force
}

// protoGuard inspects the request stream before redcon parses it and
// enforces Redis's limits (proto-max-bulk-len, client-query-buffer-limit,
// inline and multibulk sizes) with Redis's "Protocol error" texts.
type protoGuard struct {
	// callerDeadlines is set (before the connection is handed to another
	// goroutine) when the owner sets read deadlines itself, as a replica
	// link does for repl-timeout; the guard then leaves them alone.
	callerDeadlines bool
	n               *Node
	cl              *Client
	// w receives protocol error replies; it is the client's serialised
	// socket writer.
	w io.Writer

	in []byte // raw bytes read from the socket; in[ip:] not parsed yet
	ip int
	// A line terminator search resumes where the last one stopped:
	// in[scanIP:scanIP+scan] has none, and scanNul records a NUL seen
	// there (which hides any terminator, as strchr does). Without this a
	// line trickling in byte by byte would be rescanned quadratically.
	scanIP  int
	scan    int
	scanNul bool

	out     []byte // canonical requests; out[op:] not delivered yet
	op      int
	outDone int // out[:outDone] ends on a request boundary
	reqSent int // bytes of the current incomplete request already delivered

	st          guardState
	argsLeft    int64
	argIdx      int
	bulkLen     int64
	bulkLeft    int64
	trailerLeft int
	name        [16]byte // first argument of the current request, if short
	nameLen     int
	nameOK      bool

	lim  guardLimits
	hold bool // a barrier request was emitted: parse on at the next batch
	// pauseHold: the last request in out (after outDone) waits for CLIENT
	// PAUSE to end; pauseName is its command name.
	pauseHold bool
	pauseName []byte
	errMsg    string // pending protocol error
	err       error  // terminal error: every Read returns it
	readErr   error  // socket error to return once buffered input is used up

	// qbufUsed is set once the client has sent anything (CLIENT LIST
	// qbuf-free); read from other goroutines.
	qbufUsed atomic.Bool
}

func newProtoGuard(n *Node, w io.Writer) *protoGuard {
	return &protoGuard{n: n, w: w, lim: guardLimits{maxBulk: 512 << 20, queryBufLimit: 1 << 30}}
}

// snapshot copies the node state the parser needs. Called at the start of a
// batch, when redcon has executed everything delivered so far.
func (g *protoGuard) snapshot() {
	if g.n == nil {
		return // a guard without a node (tests) keeps the limits it was given
	}
	g.n.mu.Lock()
	cfg := g.n.cfg
	g.lim = guardLimits{
		maxBulk:       cfg.ProtoMaxBulkLen,
		queryBufLimit: cfg.ClientQueryBufferLimit,
		idle:          cfg.Timeout,
		paused:        g.n.pause.activeLocked(time.Now()),
	}
	if cl := g.cl; cl != nil {
		g.lim.authRequired = !g.n.acl.defaultOpen && !cl.Authenticated
		g.lim.replyOff = cl.replyOff || cl.replySkip
		g.lim.deaf = cl.deaf
		// Redis's idle timeout spares subscribers (and blocked clients,
		// which do not read).
		if cl.SubscriptionCount() > 0 {
			g.lim.idle = 0
		}
	}
	g.n.mu.Unlock()
}

// Read fills p with canonical requests parsed from conn. See the file
// comment for the ordering guarantees it relies on.
func (g *protoGuard) Read(conn net.Conn, p []byte) (int, error) {
	if g.err == nil && g.cl != nil && g.cl.killed.Load() {
		g.err = errClientKilled // CLIENT KILL: run nothing more
	}
	if g.err != nil {
		return 0, g.err
	}
	if g.op == len(g.out) {
		// Everything delivered has been executed: a new batch starts.
		g.out, g.op, g.outDone = g.out[:0], 0, 0
		if cap(g.out) > 256<<10 {
			g.out = nil // do not keep a big request's buffer
		}
		if g.ip == len(g.in) && cap(g.in) > 256<<10 {
			g.in, g.ip = nil, 0
		}
		g.hold = false
		g.snapshot()
	}
	for {
		if g.lim.deaf {
			// Discard input until the client goes away.
			g.in, g.ip = g.in[:0], 0
			if err := g.fill(conn); err != nil {
				g.err = err
				return 0, err
			}
			continue
		}
		if n := g.deliver(p); n > 0 {
			return n, nil
		}
		if g.pauseHold {
			if !g.n.waitPause(g.cl, g.pauseName) || (g.cl != nil && g.cl.killed.Load()) {
				g.err = errClientKilled
				return 0, g.err
			}
			g.pauseHold = false
			g.outDone = len(g.out)
			g.reqSent = 0
			continue
		}
		if g.errMsg != "" {
			if err := g.fail(); err != nil {
				return 0, err
			}
			continue
		}
		if g.hold {
			// Unreachable: a held batch always has a request to deliver.
			return 0, nil
		}
		if g.parse() || g.errMsg != "" {
			continue
		}
		if err := g.fill(conn); err != nil {
			g.err = err
			return 0, err
		}
		// Everything delivered before has run: pick up changes made
		// meanwhile (CONFIG SET, CLIENT PAUSE from other clients).
		g.snapshot()
	}
}

// deliver copies deliverable output to p: complete requests, and the
// partial tail of the current request once it is long enough.
func (g *protoGuard) deliver(p []byte) int {
	limit := g.outDone
	start := g.op
	if start < g.outDone {
		start = g.outDone
	}
	if partial := len(g.out) - start; partial > 0 && g.errMsg == "" && !g.pauseHold {
		min := g.reqSent
		if min < guardMinPartial {
			min = guardMinPartial
		}
		// redcon walks the declared argument count of an incomplete
		// request on every read, however little of it has arrived: do
		// not hand it "*2147483647" until that much data is here.
		if cnt := int64(g.argIdx) + g.argsLeft; g.st != gsRequest && cnt > int64(min) {
			min = int(cnt)
		}
		if partial >= min {
			limit = len(g.out)
		}
	}
	if limit <= g.op {
		return 0
	}
	n := copy(p, g.out[g.op:limit])
	if end := g.op + n; end > g.outDone {
		from := g.op
		if from < g.outDone {
			from = g.outDone
		}
		g.reqSent += end - from
	}
	g.op += n
	if g.op == len(g.out) && g.outDone <= g.op {
		g.out, g.op, g.outDone = g.out[:0], 0, 0
	}
	return n
}

// fail writes the pending protocol error and ends the connection.
func (g *protoGuard) fail() error {
	if g.n != nil {
		g.n.countError("ERR")
		g.n.log.Debug("protocol error from client", "err", g.errMsg, "client", g.clientAddr())
	}
	if g.lim.replyOff {
		// No reply, hence no close: see Client.deaf.
		g.errMsg = ""
		g.lim.deaf = true
		if g.n != nil && g.cl != nil {
			g.n.mu.Lock()
			g.cl.deaf = true
			g.n.mu.Unlock()
		}
		return nil
	}
	if g.w != nil {
		g.w.Write([]byte("-ERR Protocol error: " + g.errMsg + "\r\n"))
	}
	g.err = errProtocolClosed
	return g.err
}

func (g *protoGuard) clientAddr() string {
	if g.cl == nil {
		return ""
	}
	return g.cl.Addr
}

// fill reads more input from the socket, as readQueryFromClient does,
// and applies client-query-buffer-limit to the unparsed query.
func (g *protoGuard) fill(conn net.Conn) error {
	if g.readErr != nil {
		return g.readErr
	}
	if g.ip > 0 {
		k := copy(g.in, g.in[g.ip:])
		g.in = g.in[:k]
		if g.scanIP == g.ip {
			g.scanIP = 0
		} else {
			g.scan, g.scanNul = 0, false
		}
		g.ip = 0
	}
	want := protoIOBufLen
	if g.st == gsBulkData && g.bulkLen >= protoMbulkBigArg {
		// Redis reads a big argument up to its end in one go.
		rem := g.bulkLeft + int64(g.trailerLeft) - int64(len(g.in))
		if rem > int64(want) {
			want = int(min64(rem, guardMaxRead))
		}
	}
	if cap(g.in)-len(g.in) < want {
		c := 2 * cap(g.in)
		if c < len(g.in)+want {
			c = len(g.in) + want
		}
		nb := make([]byte, len(g.in), c)
		copy(nb, g.in)
		g.in = nb
	}
	if g.callerDeadlines {
		// The connection's owner (a replica link) manages deadlines.
	} else if g.lim.idle > 0 {
		conn.SetReadDeadline(time.Now().Add(g.lim.idle))
	} else {
		conn.SetReadDeadline(time.Time{})
	}
	n, err := conn.Read(g.in[len(g.in) : len(g.in)+want])
	g.in = g.in[:len(g.in)+n]
	if n > 0 {
		g.qbufUsed.Store(true)
		// Redis's query buffer holds the unparsed input: the current
		// element (header line, inline line or bulk payload) so far plus
		// what was just read.
		pending := g.elemBytes() + int64(len(g.in)-g.ip)
		if g.lim.queryBufLimit > 0 && pending > g.lim.queryBufLimit {
			if g.n != nil {
				g.n.log.Warn("closing client that reached max query buffer length", "client", g.clientAddr(), "qbuf", pending)
			}
			return errQueryBufLimit
		}
		if err != nil {
			g.readErr = err
		}
		return nil
	}
	if err == nil {
		return nil
	}
	return err
}

// elemBytes is how much of the current element was consumed into the
// output while still incomplete (bulk payloads stream through).
func (g *protoGuard) elemBytes() int64 {
	if g.st != gsBulkData {
		return 0
	}
	return g.bulkLen - g.bulkLeft + int64(2-g.trailerLeft)
}

// protoErr records a protocol error; output of the bad request is dropped.
func (g *protoGuard) protoErr(msg string) {
	g.errMsg = msg
	g.out = g.out[:g.outDone]
	if g.op > g.outDone {
		g.op = g.outDone
	}
}

// parse turns buffered input into canonical requests. It reports whether
// it made progress; it stops when input runs out, on a protocol error, or
// after a barrier request.
func (g *protoGuard) parse() bool {
	progress := false
	for !g.hold && g.errMsg == "" {
		buf := g.in[g.ip:]
		switch g.st {
		case gsRequest:
			if len(buf) == 0 {
				return progress
			}
			if buf[0] == '*' {
				g.st = gsCount
			} else {
				g.st = gsInline
			}
		case gsInline:
			if !g.parseInline(buf) {
				return progress
			}
			progress = true
		case gsCount:
			r, ok := g.findCR(buf, "too big mbulk count string")
			if !ok {
				return progress
			}
			ll, ok := ParseInt(buf[1:r])
			if !ok || ll > 1<<31-1 {
				g.protoErr("invalid multibulk length")
				return progress
			}
			if ll > unauthMaxArgs && g.lim.authRequired {
				g.protoErr("unauthenticated multibulk length")
				return progress
			}
			g.ip += r + 2
			progress = true
			if ll <= 0 {
				// Redis ignores empty and negative multibulks.
				g.st = gsRequest
				continue
			}
			g.argsLeft, g.argIdx = ll, 0
			g.st = gsBulkHeader
			g.out = appendHeader(g.out, '*', ll)
		case gsBulkHeader:
			r, ok := g.findCR(buf, "too big bulk count string")
			if !ok {
				return progress
			}
			if buf[0] != '$' {
				c := buf[0]
				if c == '\r' || c == '\n' {
					c = ' ' // addReplyErrorFormat removes line breaks
				}
				g.protoErr("expected '$', got '" + string([]byte{c}) + "'")
				return progress
			}
			ll, ok := ParseInt(buf[1:r])
			if !ok || ll < 0 || ll > g.lim.maxBulk {
				g.protoErr("invalid bulk length")
				return progress
			}
			if ll > unauthMaxBulk && g.lim.authRequired {
				g.protoErr("unauthenticated bulk length")
				return progress
			}
			g.ip += r + 2
			progress = true
			g.bulkLen, g.bulkLeft, g.trailerLeft = ll, ll, 2
			if g.argIdx == 0 {
				g.nameLen, g.nameOK = 0, ll <= int64(len(g.name))
			}
			g.st = gsBulkData
			g.out = appendHeader(g.out, '$', ll)
		case gsBulkData:
			if g.bulkLeft > 0 {
				if len(buf) == 0 {
					return progress
				}
				k := len(buf)
				if int64(k) > g.bulkLeft {
					k = int(g.bulkLeft)
				}
				g.out = append(g.out, buf[:k]...)
				if g.argIdx == 0 && g.nameOK {
					g.nameLen += copy(g.name[g.nameLen:], buf[:k])
				}
				g.ip += k
				g.bulkLeft -= int64(k)
				progress = true
				continue
			}
			// Redis skips the two bytes after a payload without looking
			// at them.
			for g.trailerLeft > 0 && g.ip < len(g.in) {
				g.ip++
				g.trailerLeft--
				progress = true
			}
			if g.trailerLeft > 0 {
				return progress
			}
			g.out = append(g.out, '\r', '\n')
			g.argIdx++
			g.argsLeft--
			if g.argsLeft > 0 {
				g.st = gsBulkHeader
				continue
			}
			g.requestDone(g.name[:g.nameLen], g.nameOK)
		}
	}
	return progress
}

// findCR finds the end of a header line as Redis does: the first '\r'
// (strchr, so a NUL byte hides everything after it), followed by at least
// one more byte, which is skipped unchecked. Without one, a pending query
// longer than PROTO_INLINE_MAX_SIZE is the error tooBig.
func (g *protoGuard) findCR(buf []byte, tooBig string) (int, bool) {
	if i := g.scanLine(buf, '\r'); i >= 0 {
		return i, i+1 < len(buf)
	}
	if len(buf) > protoInlineMaxSize {
		g.protoErr(tooBig)
	}
	return 0, false
}

// scanLine returns the index in buf (= in[ip:]) of the first byte equal
// to term, or -1 if there is none before the end or a NUL byte. It resumes
// the previous search when ip has not moved.
func (g *protoGuard) scanLine(buf []byte, term byte) int {
	if g.scanIP != g.ip {
		g.scanIP, g.scan, g.scanNul = g.ip, 0, false
	}
	if g.scanNul {
		return -1
	}
	for i := g.scan; i < len(buf); i++ {
		switch buf[i] {
		case term:
			// Found: the next search starts afresh (ip will move).
			g.scan = i
			return i
		case 0:
			g.scanNul = true
			return -1
		}
	}
	g.scan = len(buf)
	return -1
}

// parseInline handles an inline request (processInlineBuffer): a line up to
// '\n' (an optional '\r' before it is dropped) split with sdssplitargs. It
// reports whether it consumed a line.
func (g *protoGuard) parseInline(buf []byte) bool {
	nl := g.scanLine(buf, '\n')
	if nl < 0 {
		if len(buf) > protoInlineMaxSize {
			g.protoErr("too big inline request")
		}
		return false
	}
	line := buf[:nl]
	if nl > 0 && buf[nl-1] == '\r' {
		line = buf[:nl-1]
	}
	args, err := config.SplitArgs(string(line))
	if err != nil {
		g.protoErr("unbalanced quotes in request")
		return false
	}
	g.ip += nl + 1
	g.st = gsRequest
	if len(args) == 0 {
		return true
	}
	g.out = appendHeader(g.out, '*', int64(len(args)))
	for _, a := range args {
		g.out = appendHeader(g.out, '$', int64(len(a)))
		g.out = append(g.out, a...)
		g.out = append(g.out, '\r', '\n')
	}
	g.requestDone([]byte(args[0]), true)
	return true
}

// requestDone closes the current request in the output.
func (g *protoGuard) requestDone(name []byte, known bool) {
	g.st = gsRequest
	if known && g.lim.paused && g.n != nil {
		g.n.mu.Lock()
		paused := g.n.pausedForLocked(g.cl, name, time.Now())
		g.n.mu.Unlock()
		if paused {
			// Keep the request back (outDone stays before it) until the
			// pause ends; nothing after it is parsed meanwhile.
			g.pauseHold, g.hold = true, true
			g.pauseName = append(g.pauseName[:0], name...)
			return
		}
	}
	g.outDone = len(g.out)
	g.reqSent = 0
	if known && isBarrierCommand(name) {
		g.hold = true
	}
}

// isBarrierCommand reports whether a request may change how the requests
// after it are parsed or whether they run at all (authentication, limits,
// closing the connection, subscriber state).
func isBarrierCommand(name []byte) bool {
	var buf [16]byte
	if len(name) > len(buf) {
		return false
	}
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) {
	case "auth", "hello", "config", "exec", "reset", "quit", "client", "acl",
		"shutdown", "subscribe", "psubscribe", "ssubscribe",
		"unsubscribe", "punsubscribe", "sunsubscribe":
		return true
	}
	return false
}

func appendHeader(b []byte, c byte, n int64) []byte {
	b = append(b, c)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
