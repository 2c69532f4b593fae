package proxy

import (
	"bufio"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	cmdtable "github.com/slotvault/slotvault/node"
	"github.com/slotvault/slotvault/slots"
)

// span is a byte range of a session buffer (offsets survive growth).
type span struct{ off, n int }

// mergeKind says how the replies of an op's sub-requests become the
// client's reply.
type mergeKind uint8

const (
	mergeRelay  mergeKind = iota // one sub, reply relayed as is
	mergeLocal                   // reply computed by the proxy (op.local)
	mergeMGet                    // array reassembled in key order
	mergeSum                     // integer replies added (DEL, EXISTS, DBSIZE...)
	mergeAllOK                   // +OK when every part said OK (MSET, FLUSHALL)
	mergeConcat                  // arrays concatenated (KEYS)
	mergeScan                    // node cursor turned into a proxy cursor
	mergeRandom                  // first non-null reply (RANDOMKEY)
	mergeInfo                    // per-node summary (INFO)
	mergeFirst                   // the first master's reply (SCRIPT LOAD)
)

// op is one client command of a batch.
type op struct {
	merge        mergeKind
	sub0, nsubs  int
	local        span
	nkeys        int // mergeMGet: keys in the request
	scanIdx      int // mergeScan: master index the sub went to
	scanMasters  int // mergeScan: masters in the map used
	fanoutTarget []*node
}

// sub is one request sent to one node on behalf of an op.
type sub struct {
	n      *node
	bc     *bconn
	slot   int // -1: no key
	raw    []byte
	req    span // used when raw is nil
	reply  span
	ord0   int // mergeMGet: key ordinals in s.ints
	nord   int
	failed bool  // connection lost before the reply was read
	err    error // why (nil if unknown)
	// ownConn subs must use the session's own connection (WATCH state).
	ownConn bool
	widx    int // shared batch: index of the sub's waiter
	// readonly subs may go to a replica; pinned ones (fan-out) are not
	// re-routed; watch subs record the node that served WATCH.
	readonly, pinned, watch bool
}

// txState is a MULTI being queued by the proxy: commands are held until
// EXEC, which sends MULTI ... EXEC to the node of their slot at once.
type txState struct {
	queue []byte
	n     int
	slot  int
	dirty bool
}

// session serves one client connection.
type session struct {
	p    *Proxy
	conn net.Conn
	buf  []byte
	r, w int
	out  *bufio.Writer
	// wmu guards out once pub/sub relays write to it too.
	wmu sync.Mutex
	ps  *pubsubState

	proto    int
	authed   bool
	authArgs [][]byte
	authKey  string

	// held is the session's node connections, one per node. Only the
	// session goroutine changes it, under heldMu, so Proxy.Close can
	// close them to unblock a session waiting on a node.
	heldMu sync.Mutex
	held   []*bconn
	used   []*bconn

	// Shared-connection batches: one waiter per node, reused.
	waiters   []*waiter
	done      chan *waiter
	dedicated bool

	ops   []op
	subs  []sub
	args  [][]byte
	ints  []int
	pairs []slotKey
	arena []byte
	reqs  []byte
	elems [][]byte

	// blocking is set when the batch holds a command that may wait on
	// purpose (BLPOP, WAIT...): no reply timeout for that batch.
	blocking  bool
	tx        *txState
	watchNode *node
	closing   bool
	pick      int // replica choice for this session
}

type slotKey struct{ slot, ord int }

var sessionSeq uint64
var sessionSeqMu sync.Mutex

func newSession(p *Proxy, c net.Conn) *session {
	sessionSeqMu.Lock()
	sessionSeq++
	pick := int(sessionSeq)
	sessionSeqMu.Unlock()
	s := &session{p: p, conn: c, buf: make([]byte, 16<<10), out: bufio.NewWriterSize(c, 32<<10),
		proto: 2, authed: p.cfg.RequirePass == "", pick: pick}
	if p.cfg.RequirePass != "" && p.cfg.NodePassword != "" {
		s.authKey = nodeAuthKey
	}
	return s
}

// maxBatch bounds the commands executed as one pipelined batch.
const maxBatch = 1024

func (s *session) run() {
	defer s.cleanup()
	for !s.closing {
		// Parse every complete request already buffered.
		for len(s.ops) < maxBatch && !s.closing {
			args, n, err := parseRequest(s.buf[s.r:s.w], s.args)
			s.args = args
			if err != nil {
				s.execute()
				s.lockOut()
				s.out.WriteString("-ERR " + err.Error() + "\r\n")
				s.out.Flush()
				s.unlockOut()
				return
			}
			if n == 0 {
				break
			}
			raw := s.buf[s.r : s.r+n]
			s.r += n
			if len(args) == 0 {
				continue
			}
			s.plan(args, raw)
		}
		if len(s.ops) > 0 && (s.r == s.w || len(s.ops) >= maxBatch || s.closing) {
			if !s.execute() {
				return
			}
			continue
		}
		if len(s.ops) > 0 {
			// A partial request follows: run what we have first so a
			// slow client does not hold replies back.
			if !s.execute() {
				return
			}
		}
		if s.closing {
			return
		}
		if !s.fill() {
			return
		}
	}
}

// fill reads more client bytes, compacting or growing the buffer.
func (s *session) fill() bool {
	if s.r == s.w {
		s.r, s.w = 0, 0
	} else if s.r > 0 && s.w == len(s.buf) {
		copy(s.buf, s.buf[s.r:s.w])
		s.w -= s.r
		s.r = 0
	}
	if s.w == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.w])
		s.buf = nb
	}
	n, err := s.conn.Read(s.buf[s.w:])
	s.w += n
	return err == nil || n > 0
}

func (s *session) cleanup() {
	s.conn.Close()
	s.heldMu.Lock()
	held := s.held
	s.held = nil
	s.heldMu.Unlock()
	for _, bc := range held {
		bc.n.put(bc)
	}
	if s.ps != nil {
		s.ps.close()
	}
}

func (s *session) lockOut() {
	if s.ps != nil {
		s.wmu.Lock()
	}
}

func (s *session) unlockOut() {
	if s.ps != nil {
		s.wmu.Unlock()
	}
}

// connFor returns the session's connection to n, in the session's
// protocol and authentication state.
func (s *session) connFor(n *node) (*bconn, error) {
	for i, bc := range s.held {
		if bc.n != n {
			continue
		}
		if bc.dead {
			s.dropHeld(i)
			break
		}
		if bc.proto != s.proto || bc.auth != s.authKey {
			nbc, err := s.prepare(bc)
			if err != nil {
				s.dropHeld(i)
				bc.close()
				return nil, err
			}
			if nbc != bc {
				s.heldMu.Lock()
				s.held[i] = nbc
				s.heldMu.Unlock()
			}
			return nbc, nil
		}
		return bc, nil
	}
	if s.p.stopping.Load() {
		return nil, ErrClosed
	}
	bc, err := n.get()
	if err != nil {
		return nil, err
	}
	nbc, err := s.prepare(bc)
	if err != nil {
		bc.close()
		return nil, err
	}
	s.heldMu.Lock()
	s.held = append(s.held, nbc)
	s.heldMu.Unlock()
	return nbc, nil
}

func (s *session) dropHeld(i int) {
	s.heldMu.Lock()
	s.held = append(s.held[:i], s.held[i+1:]...)
	s.heldMu.Unlock()
}

// abort closes the client and node connections from another goroutine
// (Proxy.Close): a session blocked on either wakes up and ends.
func (s *session) abort() {
	s.conn.Close()
	s.heldMu.Lock()
	for _, bc := range s.held {
		bc.c.Close()
	}
	s.heldMu.Unlock()
}

// prepare brings an idle connection to the session's protocol and
// credentials. A connection authenticated as someone else cannot be
// de-authenticated: it is closed and a fresh one returned instead.
func (s *session) prepare(bc *bconn) (*bconn, error) {
	if bc.auth != s.authKey {
		if s.authArgs == nil {
			nbc, err := bc.n.dial(true)
			if err != nil {
				return nil, err
			}
			bc.close()
			bc = nbc
		}
		if bc.auth != s.authKey {
			if s.authArgs == nil {
				bc.close()
				return nil, errAuthLost
			}
			reply, err := bc.roundTrip(s.authArgs...)
			if err != nil {
				return nil, err
			}
			if isErrorReply(reply) {
				bc.close()
				return nil, errAuthLost
			}
			bc.auth = s.authKey
		}
	}
	if bc.proto != s.proto {
		reply, err := bc.roundTrip([]byte("HELLO"), []byte(strconv.Itoa(s.proto)))
		if err != nil {
			return nil, err
		}
		if isErrorReply(reply) {
			bc.close()
			return nil, errAuthLost
		}
		bc.proto = s.proto
	}
	return bc, nil
}

// defaultNode is where keyless commands go: the first master.
func (s *session) defaultNode() *node {
	m := s.p.topo.cur.Load()
	if len(m.masters) > 0 {
		return m.masters[0]
	}
	return s.p.topo.node(s.p.cfg.Cluster[0])
}

// route returns the node serving slot (a replica for reads when
// configured and readonly).
func (s *session) route(slot int, readonly bool) *node {
	m := s.p.topo.cur.Load()
	n := m.owner[slot]
	if n == nil {
		return s.defaultNode()
	}
	if readonly && s.p.cfg.ReadFrom == ReadFromReplica {
		if reps := m.replicas[n]; len(reps) > 0 {
			return reps[s.pick%len(reps)]
		}
	}
	return n
}

// addLocal queues an op whose reply the proxy computes now.
func (s *session) addLocal(reply []byte) {
	off := len(s.arena)
	s.arena = append(s.arena, reply...)
	s.ops = append(s.ops, op{merge: mergeLocal, local: span{off, len(reply)}, sub0: len(s.subs)})
}

func (s *session) addLocalString(reply string) {
	off := len(s.arena)
	s.arena = append(s.arena, reply...)
	s.ops = append(s.ops, op{merge: mergeLocal, local: span{off, len(reply)}, sub0: len(s.subs)})
}

// send appends a sub-request; execute writes it to a node connection.
// Subs that must stay on the session's own connection (WATCH state)
// mark the batch dedicated.
func (s *session) send(sb sub) {
	if sb.watch || sb.ownConn {
		s.dedicated = true
	}
	s.subs = append(s.subs, sb)
}

// req returns sb's request bytes.
func (s *session) req(sb *sub) []byte {
	if sb.raw != nil {
		return sb.raw
	}
	return s.reqs[sb.req.off : sb.req.off+sb.req.n]
}

// writeDedicated writes the batch to the session's own node connections.
func (s *session) writeDedicated() {
	for i := range s.subs {
		sb := &s.subs[i]
		bc, err := s.connFor(sb.n)
		if err == nil {
			if _, err = bc.bw.Write(s.req(sb)); err != nil {
				bc.fail()
			} else {
				bc.pending++
				sb.bc = bc
				if !slices.Contains(s.used, bc) {
					s.used = append(s.used, bc)
				}
			}
		}
		if err != nil {
			sb.failed, sb.err = true, err
		}
	}
}

// sharedOK reports whether the batch may use the nodes' shared
// connections: nothing in it depends on connection state (WATCH,
// blocking, per-client AUTH) and enough clients are connected for
// coalescing to pay. Switching between shared and own connections from
// one batch to the next keeps order: a batch's replies are all in before
// the next batch is sent.
func (s *session) sharedOK() bool {
	return !s.p.cfg.NoMultiplex && s.p.nclients.Load() >= int64(s.p.cfg.MultiplexMinClients) && !s.dedicated && !s.blocking && s.authArgs == nil && s.watchNode == nil && (s.proto == 2 || s.proto == 3)
}

// runShared submits the batch, one waiter per node, to the shared
// connections, waits for every reply and moves them into the arena.
func (s *session) runShared() {
	if s.done == nil {
		s.done = make(chan *waiter, 16)
	}
	nw := 0
	for i := range s.subs {
		sb := &s.subs[i]
		j := 0
		for j < nw && s.waiters[j].n != sb.n {
			j++
		}
		if j == nw {
			if nw == len(s.waiters) {
				s.waiters = append(s.waiters, &waiter{done: s.done})
			}
			w := s.waiters[nw]
			w.n, w.req, w.count, w.pos, w.err = sb.n, w.req[:0], 0, 0, nil
			nw++
		}
		w := s.waiters[j]
		w.req = append(w.req, s.req(sb)...)
		w.count++
		sb.widx = j
	}
	if cap(s.done) < nw {
		s.done = make(chan *waiter, nw)
	}
	pending := 0
	for _, w := range s.waiters[:nw] {
		w.done = s.done
		sc, err := w.n.shared(s.proto)
		if err != nil {
			w.err = err
			continue
		}
		// submit signals w.done exactly once: at once if the connection
		// is dead, else from the reader.
		sc.submit(w)
		pending++
	}
	for ; pending > 0; pending-- {
		<-s.done
	}
	for i := range s.subs {
		sb := &s.subs[i]
		w := s.waiters[sb.widx]
		if w.err != nil {
			sb.failed, sb.err = true, w.err
			continue
		}
		l := skipReply(w.replies[w.pos:])
		if l < 0 {
			sb.failed = true
			continue
		}
		off := len(s.arena)
		s.arena = append(s.arena, w.replies[w.pos:w.pos+l]...)
		w.pos += l
		sb.reply = span{off, l}
	}
}

// forward queues a command for one node.
func (s *session) forward(n *node, slot int, raw []byte, readonly bool) {
	s.ops = append(s.ops, op{merge: mergeRelay, sub0: len(s.subs), nsubs: 1})
	s.send(sub{n: n, slot: slot, raw: s.wire(raw), readonly: readonly})
}

// wire returns raw as a multibulk request: inline requests are re-encoded
// (their bytes stay valid while the batch runs).
func (s *session) wire(raw []byte) []byte {
	if len(raw) > 0 && raw[0] == '*' {
		return raw
	}
	return nil
}

// encodeReq encodes args into the request arena.
func (s *session) encodeReq(args ...[]byte) span {
	off := len(s.reqs)
	s.reqs = appendCommand(s.reqs, args...)
	return span{off, len(s.reqs) - off}
}

// keySlot returns the one slot of cmd's keys in args: -1 without keys,
// -2 when they hash to different slots.
func (s *session) keySlot(cmd *cmdtable.Command, args [][]byte) int {
	slot := -1
	check := func(i int) bool {
		if i <= 0 || i >= len(args) {
			return true
		}
		ks := slots.KeySlot(args[i])
		if slot == -1 {
			slot = ks
		} else if ks != slot {
			slot = -2
			return false
		}
		return true
	}
	if cmd.Keys != nil {
		for _, i := range cmd.Keys(args) {
			if !check(i) {
				break
			}
		}
		return slot
	}
	if cmd.FirstKey <= 0 || cmd.FirstKey >= len(args) {
		return -1
	}
	last := cmd.LastKey
	if last < 0 {
		last += len(args)
	}
	if last >= len(args) {
		last = len(args) - 1
	}
	step := cmd.Step
	if step <= 0 {
		step = 1
	}
	for i := cmd.FirstKey; i <= last; i += step {
		if !check(i) {
			break
		}
	}
	return slot
}

// execute sends the batch's pending requests, reads every reply, follows
// redirections and writes the client's replies in order. It reports false
// when the client connection failed.
func (s *session) execute() bool {
	if len(s.ops) == 0 {
		return true
	}
	start := time.Now()
	if s.sharedOK() {
		s.runShared()
	} else {
		s.writeDedicated()
		s.readDedicated()
	}
	for i := range s.subs {
		s.fix(&s.subs[i])
	}
	s.lockOut()
	for i := range s.ops {
		s.mergeOp(&s.ops[i])
	}
	err := s.out.Flush()
	s.unlockOut()
	s.blocking = false
	s.dedicated = false
	s.p.metrics.requests.Add(float64(len(s.ops)))
	s.p.metrics.latency.Observe(time.Since(start).Seconds())
	clear(s.ops)
	s.ops = s.ops[:0]
	clear(s.subs)
	s.subs = s.subs[:0]
	s.arena = s.arena[:0]
	s.reqs = s.reqs[:0]
	s.ints = s.ints[:0]
	if cap(s.arena) > 4<<20 {
		s.arena = nil
	}
	if cap(s.reqs) > 4<<20 {
		s.reqs = nil
	}
	return err == nil
}

// readDedicated flushes the session's connections and reads the replies
// in the order the requests were written.
func (s *session) readDedicated() {
	deadline := s.p.replyDeadline(s.blocking)
	for _, bc := range s.used {
		if !bc.dead {
			bc.setReadDeadline(deadline)
			if err := bc.bw.Flush(); err != nil {
				bc.cause = err
				bc.fail()
			}
		}
	}

	s.used = s.used[:0]
	for i := range s.subs {
		sb := &s.subs[i]
		if sb.failed || sb.bc == nil {
			sb.failed = true
			continue
		}
		if sb.bc.dead {
			sb.bc.pending--
			sb.failed, sb.err = true, sb.bc.cause
			continue
		}
		off := len(s.arena)
		var err error
		s.arena, err = readReply(sb.bc.br, s.arena)
		sb.bc.pending--
		if err != nil {
			sb.bc.cause = err
			sb.bc.fail()
			s.arena = s.arena[:off]
			sb.failed, sb.err = true, err
			continue
		}
		sb.reply = span{off, len(s.arena) - off}
	}
}

func (s *session) replyOf(sb *sub) []byte { return s.arena[sb.reply.off : sb.reply.off+sb.reply.n] }
