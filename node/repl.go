package node

// Replication, as Redis 7.0 does it, between slotvault nodes.
//
// # Identity and offsets
//
// Every node has a replication ID (40 hex digits, master_replid) and an
// offset (master_repl_offset): the number of bytes of replication stream
// produced (a master) or applied (a replica) under that history. A master
// creates its backlog, and takes a fresh ID, when its first replica
// attaches; before that its offset stays 0. A promoted replica keeps its
// master's ID as master_replid2, valid up to second_repl_offset, so the
// other replicas of the old master can continue from it with a partial
// resync.
//
// # The stream
//
// A master turns every record of its write stream (the same deterministic
// records the append-only log receives, see WriteLog) into a RESP command,
// preceded by SELECT when the database changes, appends it to the backlog
// (replBacklog, repl-backlog-size bytes of history) and wakes each
// replica's sender, which writes from the backlog at its own pace. It adds
// PING every repl-ping-replica-period seconds and REPLCONF GETACK * when a
// client runs WAIT. A replica applies the commands through the command
// table as its master's pseudo-client (so they reach its own write log and
// survive a restart), feeds the exact bytes it received into its own
// backlog (so its replicas, and the replicas that follow it after a
// promotion, see the same offsets), and answers GETACK — and every second
// unprompted — with REPLCONF ACK <offset>.
//
// # Handshake
//
// The replica connects and sends PING, AUTH [masteruser] masterauth when
// set, REPLCONF listening-port <port>, REPLCONF capa eof capa psync2, then
// PSYNC <replid> <offset+1> (its own history, so a demoted master or a
// restarted replica may continue) or PSYNC ? -1. The master answers
// +CONTINUE <replid> when it has that history in its backlog (INFO
// sync_partial_ok), else +FULLRESYNC <replid> <offset> and a full copy.
//
// # Full sync payload (sync format version 1)
//
// The copy is streamed from a persistence.Cut taken under the node lock at
// the offset announced in +FULLRESYNC, so the master never stops serving:
// commands after that point are in the backlog, sent once the copy is
// done. It travels in Redis's diskless RDB framing, "$EOF:<40-byte
// mark>\r\n", then the payload, then the mark again. The payload is not an
// RDB file (a Redis replica cannot load it):
//
//	"SVSYNC1\n"                            magic
//	'K' db u32 | expire i64 | keylen u32 | key | len u32 | DUMP payload
//	                                       one key (expire: Unix ms, 0 none)
//	'Z' count u64 | db u32                 end: number of 'K' records and
//	                                       the database the stream that
//	                                       follows has selected
//
// integers little-endian; the value is node.DumpPayload's encoding. The
// replica flushes its data, loads the keys (answering -LOADING meanwhile)
// and writes them to its own log as FLUSHALL and RESTORE ... ABSTTL
// REPLACE records.
//
// # Replicas and expiry
//
// A replica does not expire keys: reads hide keys whose time has passed
// (store.ExpireHide), the active cycle is off, and the key goes when the
// master's DEL arrives; the master's own commands see every key
// (store.ExpireIgnore). Writes from clients get -READONLY while
// replica-read-only is yes.
//
// # Restart
//
// A node with persistence keeps "replication.state" in its data directory:
// {replid, offset, stream db, log sequence}. It is written every second
// while the offset moves and at shutdown. At start, when the log sequence
// recovered equals the one recorded, the data is exactly the stream up to
// offset and the replica asks PSYNC replid offset+1; otherwise (a crash
// lost or added records) it asks for a full sync.
//
// # Concurrency
//
// replState is guarded by the node lock. Each attached replica has a
// sender goroutine (backlog → socket, outside the lock) and a reader
// goroutine (REPLCONF ACK). A replica's link to its master is one
// goroutine reading and applying the stream in batches, one node-lock hold
// per batch, plus a ticker sending ACKs; socket writes on the link are
// serialised by masterLink.wmu.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/persistence"
	"github.com/slotvault/slotvault/store"
	"github.com/tidwall/redcon"
)

// noReplID is master_replid2 when there is no previous history.
var noReplID = strings.Repeat("0", 40)

// Replica link states (ROLE and INFO on a replica).
const (
	linkConnect    = "connect"
	linkConnecting = "connecting"
	linkHandshake  = "handshake"
	linkSync       = "sync"
	linkConnected  = "connected"
)

// Replica states as the master sees them (INFO slaveN state=).
const (
	replicaWaitBgsave = "wait_bgsave"
	replicaSendBulk   = "send_bulk"
	replicaOnline     = "online"
)

// replState is the node's replication state; guarded by the node lock.
type replState struct {
	replID, replID2 string
	secondOffset    int64
	// offset is master_repl_offset.
	offset  int64
	backlog *replBacklog
	// seldb is the database the stream last selected (-1: none yet).
	seldb int
	// replicas attached to this node.
	replicas []*replicaLink
	waiters  []*waitState
	// getack asks replicas for an ACK at the end of the current command.
	getack bool
	// feedOff suspends feeding (the Replayer applies already-logged records).
	feedOff bool
	scratch []byte
	// lastPing is when the stream last carried a PING.
	lastPing time.Time

	// master is the link to this node's master; nil on a master.
	master *masterLink
	// cachedValid: replID/offset describe the data, so a PSYNC may
	// continue from them (false after a failed full sync).
	cachedValid bool

	syncFull, syncPartialOK, syncPartialErr int64

	// masterDB is the database the master's stream has selected (the
	// master pseudo-client's), kept across link drops and restarts.
	masterDB int

	// stateFile persists {replid, offset} across restarts ("" none);
	// saved is what it holds.
	stateFile string
	saved     replStateFile
}

// waitState is one client blocked in WAIT.
type waitState struct {
	bs   *blockState
	woff int64
	num  int64
}

func (r *replState) init() {
	r.replID = randomHexID()
	r.replID2 = noReplID
	r.secondOffset = -1
	r.seldb = -1
	r.cachedValid = true
}

// IsReplica reports whether the node is configured as a replica (node lock
// held).
func (n *Node) isReplicaLocked() bool { return n.repl.master != nil }

// expiryModeLocked is the store expiry mode for the node's role.
func (n *Node) expiryModeLocked() store.ExpiryMode {
	if n.repl.master != nil {
		return store.ExpireHide
	}
	return store.ExpireDelete
}

func (n *Node) setExpiryLocked(m store.ExpiryMode) {
	for _, db := range n.dbs {
		db.Expiry = m
	}
}

func (n *Node) cfgInt(name string, def int64) int64 {
	if v, ok := n.cfg.Extra[name]; ok {
		if x, err := strconv.ParseInt(v, 10, 64); err == nil {
			return x
		}
	}
	return def
}

func (n *Node) cfgBool(name string, def bool) bool {
	if v, ok := n.cfg.Extra[name]; ok {
		b, err := config.ParseBool(v)
		if err == nil {
			return b
		}
	}
	return def
}

// --- feeding the stream -------------------------------------------------

// appendRESP encodes argv as a RESP array.
func appendRESP(b []byte, argv [][]byte) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(argv)), 10)
	b = append(b, '\r', '\n')
	for _, a := range argv {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// feedLocked adds one mutation of a master to the replication stream. db
// < 0 means "whatever database is selected" (PING, REPLCONF).
func (n *Node) feedLocked(db int, argv [][]byte) {
	r := &n.repl
	if r.backlog == nil || r.master != nil || r.feedOff {
		return
	}
	b := r.scratch[:0]
	if db >= 0 && db != r.seldb {
		b = appendRESP(b, [][]byte{[]byte("SELECT"), []byte(strconv.Itoa(db))})
		r.seldb = db
	}
	b = appendRESP(b, argv)
	n.feedRawLocked(b)
	if cap(b) <= 64<<10 {
		r.scratch = b[:0]
	}
}

// feedRawLocked appends stream bytes to the backlog and wakes the senders.
func (n *Node) feedRawLocked(p []byte) {
	r := &n.repl
	if r.backlog == nil {
		r.offset += int64(len(p))
		return
	}
	r.backlog.write(p)
	r.offset = r.backlog.end
	if r.backlog.histlen() > r.backlog.size+backlogBlockSize {
		r.backlog.trim(r.pinLocked())
	}
	for _, rl := range r.replicas {
		rl.signal()
	}
}

// pinLocked is the lowest offset an attached replica still has to send.
func (r *replState) pinLocked() int64 {
	var pin int64
	for _, rl := range r.replicas {
		if pin == 0 || rl.next < pin {
			pin = rl.next
		}
	}
	return pin
}

// createBacklogLocked starts the backlog after the current offset.
func (n *Node) createBacklogLocked() {
	n.repl.backlog = newReplBacklog(n.cfgInt("repl-backlog-size", 1<<20), n.repl.offset)
}

// shiftReplIDLocked starts a new history continuing the current one, as a
// promoted replica does: the old ID stays valid up to the current offset.
func (n *Node) shiftReplIDLocked() {
	r := &n.repl
	r.replID2 = r.replID
	r.secondOffset = r.offset + 1
	r.replID = randomHexID()
	n.log.Info("Setting secondary replication ID", "replid2", r.replID2, "valid_up_to_offset", r.secondOffset)
}

// --- master side: attached replicas -------------------------------------

// replicaLink is one replica attached to this node.
type replicaLink struct {
	n    *Node
	conn net.Conn
	dc   redcon.DetachedConn
	id   int64
	addr string
	ip   string
	port int

	// guarded by the node lock
	state   string
	next    int64 // next stream offset to send
	ack     int64
	ackTime time.Time
	closed  bool
	cut     *persistence.Cut
	cutBuf  []byte
	cutKeys int64
	cutErr  error
	// streamDB is the database selected in the stream at the cut.
	streamDB int

	wake chan struct{}
	done chan struct{}
}

func (rl *replicaLink) signal() {
	select {
	case rl.wake <- struct{}{}:
	default:
	}
}

// closeLocked detaches the replica from the node; its goroutines end.
func (rl *replicaLink) closeLocked(why string) {
	if rl.closed {
		return
	}
	rl.closed = true
	if rl.cut != nil {
		rl.cut.CloseLocked()
		rl.cut = nil
	}
	r := &rl.n.repl
	for i, x := range r.replicas {
		if x == rl {
			r.replicas = append(r.replicas[:i], r.replicas[i+1:]...)
			break
		}
	}
	rl.conn.Close()
	close(rl.done)
	rl.n.log.Info("Connection with replica lost", "replica", rl.addr, "reason", why)
}

// disconnectReplicasLocked drops every attached replica (they reconnect
// and learn the new replication ID).
func (n *Node) disconnectReplicasLocked(why string) {
	for len(n.repl.replicas) > 0 {
		n.repl.replicas[0].closeLocked(why)
	}
}

// replClientConf is what REPLCONF told the master about a replica.
type replClientConf struct {
	listenPort int
	ip         string
	capaEOF    bool
	capaPsync2 bool
}

func cmdReplconf(c *Ctx) {
	if len(c.Args)%2 == 0 {
		c.ErrSyntax()
		return
	}
	cl := c.Cl
	for i := 1; i < len(c.Args); i += 2 {
		opt := strings.ToLower(c.Arg(i))
		switch opt {
		case "listening-port":
			v, ok := c.ParseInt(i + 1)
			if !ok {
				return
			}
			cl.replConf().listenPort = int(v)
		case "ip-address":
			cl.replConf().ip = c.Arg(i + 1)
		case "capa":
			switch strings.ToLower(c.Arg(i + 1)) {
			case "eof":
				cl.replConf().capaEOF = true
			case "psync2":
				cl.replConf().capaPsync2 = true
			}
		case "ack", "getack", "fack":
			// Only meaningful on a replication link; ignored here as Redis
			// ignores them from normal clients.
			return
		case "rdb-only", "rdb-filter-only":
		default:
			c.Error("ERR Unrecognized REPLCONF option: " + c.Arg(i))
			return
		}
	}
	c.R.Simple("OK")
}

func (cl *Client) replConf() *replClientConf {
	if cl.repl == nil {
		cl.repl = &replClientConf{}
	}
	return cl.repl
}

func cmdSync(c *Ctx) { c.n.startSyncLocked(c, false) }

func cmdPsync(c *Ctx) { c.n.startSyncLocked(c, true) }

// startSyncLocked serves SYNC / PSYNC: it decides between a partial and a
// full resync, takes over the connection and starts the replica's sender.
func (n *Node) startSyncLocked(c *Ctx, psync bool) {
	r := &n.repl
	cl := c.Cl
	if cl.netConn == nil {
		c.Error("ERR replication needs a network connection")
		return
	}
	if r.master != nil && (r.master.state != linkConnected) {
		c.Error("NOMASTERLINK Can't SYNC while not connected with my master")
		return
	}
	var reqID string
	var reqOff int64 = -1
	if psync {
		reqID = c.Arg(1)
		v, ok := c.ParseInt(2)
		if !ok {
			return
		}
		reqOff = v
	}
	conf := cl.replConf()
	ip := conf.ip
	if ip == "" {
		if h, _, err := net.SplitHostPort(cl.Addr); err == nil {
			ip = h
		}
	}
	rl := &replicaLink{n: n, conn: cl.netConn.Conn, id: cl.ID, ip: ip, port: conf.listenPort,
		addr: net.JoinHostPort(ip, strconv.Itoa(conf.listenPort)),
		wake: make(chan struct{}, 1), done: make(chan struct{}), ackTime: time.Now()}
	var preamble string
	if psync && reqID != "?" && r.backlog != nil &&
		(strings.EqualFold(reqID, r.replID) || (strings.EqualFold(reqID, r.replID2) && reqOff <= r.secondOffset)) &&
		r.backlog.has(reqOff) {
		// Partial resync.
		rl.state = replicaOnline
		rl.next = reqOff
		r.syncPartialOK++
		if conf.capaPsync2 {
			preamble = "+CONTINUE " + r.replID + "\r\n"
		} else {
			preamble = "+CONTINUE\r\n"
		}
		n.log.Info("Partial resynchronization request accepted", "replica", rl.addr,
			"backlog_bytes", r.offset-reqOff+1, "from_offset", reqOff)
	} else {
		if psync && reqID != "?" {
			r.syncPartialErr++
			if !strings.EqualFold(reqID, r.replID) && !strings.EqualFold(reqID, r.replID2) {
				n.log.Info("Partial resynchronization not accepted: Replication ID mismatch", "replica", rl.addr,
					"asked", reqID, "my_id", r.replID, "my_id2", r.replID2)
			} else {
				n.log.Info("Unable to partial resync with replica: lack of backlog", "replica", rl.addr,
					"offset", reqOff, "backlog_first", r.backlogStart())
			}
		}
		if r.backlog == nil {
			if len(r.replicas) == 0 && r.master == nil {
				r.replID = randomHexID()
				r.replID2 = noReplID
				r.secondOffset = -1
			}
			n.createBacklogLocked()
		}
		r.syncFull++
		rl.state = replicaWaitBgsave
		rl.next = r.offset + 1
		// The stream after the cut must begin with SELECT; a replica
		// relays its master's stream and tells the database instead.
		if r.master == nil {
			r.seldb = -1
		} else if r.master.cl != nil {
			rl.streamDB = r.master.cl.DB
		}
		if psync {
			preamble = "+FULLRESYNC " + r.replID + " " + strconv.FormatInt(r.offset, 10) + "\r\n"
		}
		n.log.Info("Starting full sync with replica from a consistent cut", "replica", rl.addr, "offset", r.offset)
		rl.cut = persistence.NewCutLocked(cutHost{n}, 0, func(db, slot int, key string, e *store.Entry) {
			rl.encodeKeyLocked(db, key, e)
		})
	}
	cl.netConn.idleTimeout = nil
	if cl.netConn.guard != nil {
		cl.netConn.guard.callerDeadlines = true
	}
	rl.dc = cl.conn.Detach()
	r.replicas = append(r.replicas, rl)
	n.wg.Add(2)
	go rl.send(preamble)
	go rl.readAcks()
}

func (r *replState) backlogStart() int64 {
	if r.backlog == nil {
		return 0
	}
	return r.backlog.start
}

// encodeKeyLocked appends one 'K' record of the full sync payload.
func (rl *replicaLink) encodeKeyLocked(db int, key string, e *store.Entry) {
	if rl.cutErr != nil {
		return
	}
	p, err := DumpPayload(e.Value)
	if err != nil {
		rl.cutErr = fmt.Errorf("encode key %q: %w", key, err)
		return
	}
	b := rl.cutBuf
	b = append(b, 'K')
	b = le32(b, uint32(db))
	b = le64(b, uint64(e.Expire))
	b = le32(b, uint32(len(key)))
	b = append(b, key...)
	b = le32(b, uint32(len(p)))
	b = append(b, p...)
	rl.cutBuf = b
	rl.cutKeys++
}

func le32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func le64(b []byte, v uint64) []byte {
	return le32(le32(b, uint32(v)), uint32(v>>32))
}

const syncMagic = "SVSYNC1\n"

// send writes the preamble, the full sync payload when there is one, then
// the stream from the backlog, until the link closes.
func (rl *replicaLink) send(preamble string) {
	n := rl.n
	defer n.wg.Done()
	fail := func(err error) {
		n.mu.Lock()
		rl.closeLocked(err.Error())
		n.mu.Unlock()
	}
	if preamble != "" {
		if _, err := rl.conn.Write([]byte(preamble)); err != nil {
			fail(err)
			return
		}
	}
	n.mu.Lock()
	full := rl.cut != nil
	if full {
		rl.state = replicaSendBulk
	}
	n.mu.Unlock()
	if full {
		if err := rl.sendPayload(); err != nil {
			fail(err)
			return
		}
	}
	var bufs net.Buffers
	for {
		n.mu.Lock()
		if rl.closed {
			n.mu.Unlock()
			return
		}
		b := n.repl.backlog
		if b == nil || rl.next < b.start {
			n.mu.Unlock()
			fail(errors.New("replica fell out of the backlog"))
			return
		}
		bufs = bufs[:0]
		for _, s := range b.read(rl.next, 4<<20) {
			bufs = append(bufs, s)
			rl.next += int64(len(s))
		}
		n.mu.Unlock()
		if len(bufs) == 0 {
			select {
			case <-rl.wake:
			case <-rl.done:
				return
			case <-n.closed:
				return
			}
			// Let the connections that are ready run their commands first,
			// so one write carries the stream of the whole round instead
			// of one command (Redis writes to replicas once per event-loop
			// iteration).
			runtime.Gosched()
			continue
		}
		w := bufs
		if _, err := w.WriteTo(rl.conn); err != nil {
			fail(err)
			return
		}
	}
}

// sendPayload streams the cut in the sync format.
func (rl *replicaLink) sendPayload() error {
	n := rl.n
	var mark [20]byte
	rand.Read(mark[:])
	eof := hex.EncodeToString(mark[:])
	if _, err := rl.conn.Write([]byte("$EOF:" + eof + "\r\n" + syncMagic)); err != nil {
		return err
	}
	var keys int64
	for {
		var out []byte
		var more bool
		var err error
		n.mu.Lock()
		if rl.closed {
			n.mu.Unlock()
			return errors.New("closed")
		}
		more = rl.cut.StepLocked(1024)
		out, rl.cutBuf = rl.cutBuf, nil
		err = rl.cutErr
		keys = rl.cutKeys
		if !more || err != nil {
			rl.cut.CloseLocked()
			rl.cut = nil
		}
		n.mu.Unlock()
		if err != nil {
			return err
		}
		if len(out) > 0 {
			if _, err := rl.conn.Write(out); err != nil {
				return err
			}
		}
		if !more {
			break
		}
	}
	n.mu.Lock()
	sdb := rl.streamDB
	n.mu.Unlock()
	end := le32(le64([]byte{'Z'}, uint64(keys)), uint32(sdb))
	end = append(end, eof...)
	if _, err := rl.conn.Write(end); err != nil {
		return err
	}
	n.mu.Lock()
	rl.state = replicaOnline
	rl.ackTime = time.Now()
	n.mu.Unlock()
	n.log.Info("Synchronization with replica succeeded", "replica", rl.addr, "keys", keys)
	return nil
}

// readAcks reads what the replica sends: REPLCONF ACK <offset>.
func (rl *replicaLink) readAcks() {
	n := rl.n
	defer n.wg.Done()
	for {
		// Only an online replica is timed out on its ACKs (as Redis): one
		// still loading a large copy sends nothing until it is done.
		n.mu.Lock()
		timeout := time.Duration(n.cfgInt("repl-timeout", 60)) * time.Second
		online := rl.state == replicaOnline
		n.mu.Unlock()
		if online {
			rl.conn.SetReadDeadline(time.Now().Add(timeout))
		} else {
			rl.conn.SetReadDeadline(time.Now().Add(time.Second))
		}
		cmd, err := rl.dc.ReadCommand()
		if ne, ok := err.(net.Error); ok && ne.Timeout() && !online {
			continue
		}
		if err != nil {
			n.mu.Lock()
			why := "connection closed"
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				why = "timeout"
			}
			rl.closeLocked(why)
			n.mu.Unlock()
			return
		}
		if len(cmd.Args) >= 3 && strings.EqualFold(string(cmd.Args[0]), "replconf") && strings.EqualFold(string(cmd.Args[1]), "ack") {
			off, ok := ParseInt(cmd.Args[2])
			if !ok {
				continue
			}
			n.mu.Lock()
			if off > rl.ack {
				rl.ack = off
			}
			rl.ackTime = time.Now()
			n.serveWaitersLocked()
			n.mu.Unlock()
		}
	}
}

// --- WAIT ----------------------------------------------------------------

// ackedLocked counts online replicas that acknowledged offset off.
func (r *replState) ackedLocked(off int64) int64 {
	var k int64
	for _, rl := range r.replicas {
		if rl.state == replicaOnline && rl.ack >= off {
			k++
		}
	}
	return k
}

func (n *Node) serveWaitersLocked() {
	r := &n.repl
	keep := r.waiters[:0]
	for _, w := range r.waiters {
		if w.bs.finished {
			continue
		}
		if k := r.ackedLocked(w.woff); k >= w.num {
			w.bs.ctx.R.Int(k)
			n.unregisterBlockedLocked(w.bs)
			w.bs.unblock(unblockServed)
			continue
		}
		keep = append(keep, w)
	}
	for i := len(keep); i < len(r.waiters); i++ {
		r.waiters[i] = nil
	}
	r.waiters = keep
}

func cmdWait(c *Ctx) {
	n := c.n
	r := &n.repl
	if r.master != nil {
		c.Error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	num, ok := c.ParseInt(1)
	if !ok {
		return
	}
	ms, ok := ParseInt(c.Args[2])
	if !ok {
		c.Error("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.Error("ERR timeout is negative")
		return
	}
	woff := c.Cl.woff
	k := r.ackedLocked(woff)
	if k >= num || c.InMulti() {
		c.R.Int(k)
		return
	}
	c.Block(nil, time.Duration(ms)*time.Millisecond, func(*Ctx) bool { return false }, func(bc *Ctx) {
		bc.R.Int(bc.n.repl.ackedLocked(woff))
	})
	r.waiters = append(r.waiters, &waitState{bs: c.Cl.blocked, woff: woff, num: num})
	r.getack = true
}

// afterCommandLocked runs after each client command: it records the
// client's replication offset for WAIT and sends a pending GETACK.
func (n *Node) afterCommandLocked(cl *Client, before int64) {
	r := &n.repl
	if r.offset != before {
		cl.woff = r.offset
	}
	if r.getack {
		r.getack = false
		n.feedLocked(-1, [][]byte{[]byte("REPLCONF"), []byte("GETACK"), []byte("*")})
	}
}

// --- ROLE, REPLICAOF ------------------------------------------------------

func cmdRole(c *Ctx) {
	n := c.n
	r := &n.repl
	if ml := r.master; ml != nil {
		c.R.Array(5)
		c.R.BulkString("slave")
		c.R.BulkString(ml.host)
		c.R.Int(int64(ml.port))
		c.R.BulkString(ml.state)
		if ml.state == linkConnected {
			c.R.Int(r.offset)
		} else {
			c.R.Int(-1)
		}
		return
	}
	var online []*replicaLink
	for _, rl := range r.replicas {
		if rl.state == replicaOnline {
			online = append(online, rl)
		}
	}
	c.R.Array(3)
	c.R.BulkString("master")
	c.R.Int(r.offset)
	c.R.Array(len(online))
	for _, rl := range online {
		c.R.Array(3)
		c.R.BulkString(rl.ip)
		c.R.BulkString(strconv.Itoa(rl.port))
		c.R.BulkString(strconv.FormatInt(rl.ack, 10))
	}
}

func cmdReplicaof(c *Ctx) {
	n := c.n
	if n.cfg.ClusterEnabled {
		c.Error("ERR REPLICAOF not allowed in cluster mode.")
		return
	}
	if c.ArgIs(1, "no") && c.ArgIs(2, "one") {
		if n.repl.master != nil {
			n.promoteLocked()
			n.log.Info("MASTER MODE enabled", "client", c.Cl.Addr)
		}
		c.R.Simple("OK")
		return
	}
	port, ok := ParseInt(c.Args[2])
	if !ok || port < 0 || port > 65535 {
		c.Error("ERR Invalid master port")
		return
	}
	host := c.Arg(1)
	if ml := n.repl.master; ml != nil && strings.EqualFold(ml.host, host) && ml.port == int(port) {
		n.log.Info("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
		c.R.Simple("OK Already connected to specified master")
		return
	}
	n.replicateLocked(host, int(port))
	n.log.Info("REPLICAOF enabled (user request)", "master", net.JoinHostPort(host, strconv.Itoa(int(port))), "client", c.Cl.Addr)
	c.R.Simple("OK")
}

// --- API for cluster failover --------------------------------------------

// ReplicateFrom makes the node a replica of the master at addr
// ("host:port"), as REPLICAOF host port does, without cluster-mode checks:
// the cluster layer calls it for CLUSTER REPLICATE and when a failover
// re-points the replicas. It returns once the link is configured; the
// sync proceeds in the background (see ReplicationInfo). The node first
// offers its own history (PSYNC replid offset+1), so a node that was the
// master's replica, or a demoted master whose writes the new master has,
// continues with a partial resync. Calling it with the current master is
// a no-op.
func (n *Node) ReplicateFrom(addr string) error {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("node: replicate from %q: %w", addr, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("node: replicate from %q: invalid port", addr)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if ml := n.repl.master; ml != nil && strings.EqualFold(ml.host, host) && ml.port == port {
		return nil
	}
	n.replicateLocked(host, port)
	return nil
}

// PromoteToMaster turns a replica into a master, as REPLICAOF NO ONE: the
// link is closed, the node takes a new replication ID and keeps the old one
// as master_replid2 (valid up to the current offset + 1), so the other
// replicas of the old master can PSYNC to it without a full sync; expiry
// and writes are enabled. On a master it does nothing.
func (n *Node) PromoteToMaster() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.repl.master != nil {
		n.promoteLocked()
		n.log.Info("MASTER MODE enabled (promoted)")
	}
}

// ReplicationInfo is a snapshot of the node's replication state.
type ReplicationInfo struct {
	// Role is "master" or "slave".
	Role string
	// ReplID and Offset are master_replid and master_repl_offset: on a
	// replica, the offset of the master's stream applied so far (the
	// replication offset a failover election ranks by).
	ReplID string
	Offset int64
	// ReplID2 and SecondOffset are master_replid2 and second_repl_offset.
	ReplID2      string
	SecondOffset int64
	// For a replica: the master's address, whether the link is up, and
	// since when it has been down (zero when up or never connected).
	MasterAddr    string
	LinkUp        bool
	LinkDownSince time.Time
	// LastIO is when the master last sent anything (zero: never).
	LastIO time.Time
	// Replicas attached to this node.
	Replicas []ReplicaInfo
}

// ReplicaInfo describes one attached replica.
type ReplicaInfo struct {
	// Addr is ip:listening-port as the replica announced it.
	Addr string
	// State is wait_bgsave, send_bulk or online.
	State string
	// AckOffset is the offset the replica last acknowledged.
	AckOffset int64
	LastAck   time.Time
}

// Replication returns the node's replication state.
func (n *Node) Replication() ReplicationInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := &n.repl
	ri := ReplicationInfo{Role: "master", ReplID: r.replID, Offset: r.offset, ReplID2: r.replID2, SecondOffset: r.secondOffset}
	if ml := r.master; ml != nil {
		ri.Role = "slave"
		ri.MasterAddr = net.JoinHostPort(ml.host, strconv.Itoa(ml.port))
		ri.LinkUp = ml.state == linkConnected
		ri.LinkDownSince = ml.downSince
		ri.LastIO = ml.lastIOTime()
	}
	for _, rl := range r.replicas {
		ri.Replicas = append(ri.Replicas, ReplicaInfo{Addr: rl.addr, State: rl.state, AckOffset: rl.ack, LastAck: rl.ackTime})
	}
	return ri
}

// ReplicationOffset returns master_repl_offset (what a failover election
// compares).
func (n *Node) ReplicationOffset() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.repl.offset
}

// --- INFO -----------------------------------------------------------------

func (n *Node) infoReplicationLocked(b *strings.Builder) {
	r := &n.repl
	now := time.Now()
	if ml := r.master; ml != nil {
		kv(b, "role", "slave")
		kv(b, "master_host", ml.host)
		kv(b, "master_port", ml.port)
		status := "down"
		if ml.state == linkConnected {
			status = "up"
		}
		kv(b, "master_link_status", status)
		lastIO := -1
		if t := ml.lastIOTime(); ml.connUp && !t.IsZero() {
			lastIO = int(now.Sub(t) / time.Second)
		}
		kv(b, "master_last_io_seconds_ago", lastIO)
		kv(b, "master_sync_in_progress", boolInt(ml.state == linkSync))
		readOff, applied := int64(1), int64(1)
		if ml.state == linkConnected {
			readOff, applied = ml.readOff, r.offset
		} else if r.cachedValid {
			readOff, applied = r.offset, r.offset
		}
		kv(b, "slave_read_repl_offset", readOff)
		kv(b, "slave_repl_offset", applied)
		if ml.state == linkSync {
			kv(b, "master_sync_total_bytes", -1)
			kv(b, "master_sync_read_bytes", ml.syncRead)
			kv(b, "master_sync_left_bytes", -1-ml.syncRead)
			kv(b, "master_sync_perc", "0.00")
			kv(b, "master_sync_last_io_seconds_ago", int(now.Sub(ml.lastIOTime())/time.Second))
		}
		if ml.state != linkConnected {
			down := -1
			if !ml.downSince.IsZero() {
				down = int(now.Sub(ml.downSince) / time.Second)
			}
			kv(b, "master_link_down_since_seconds", down)
		}
		kv(b, "slave_priority", n.cfgInt("replica-priority", 100))
		kv(b, "slave_read_only", boolInt(n.cfgBool("replica-read-only", true)))
		kv(b, "replica_announced", boolInt(n.cfgBool("replica-announced", true)))
	} else {
		kv(b, "role", "master")
	}
	kv(b, "connected_slaves", len(r.replicas))
	if k := n.cfgInt("min-replicas-to-write", 0); k > 0 && n.cfgInt("min-replicas-max-lag", 10) > 0 {
		kv(b, "min_slaves_good_slaves", n.goodReplicasLocked())
	}
	for i, rl := range r.replicas {
		lag := int64(0)
		if rl.state == replicaOnline {
			lag = int64(now.Sub(rl.ackTime) / time.Second)
		}
		fmt.Fprintf(b, "slave%d:ip=%s,port=%d,state=%s,offset=%d,lag=%d\r\n", i, rl.ip, rl.port, rl.state, rl.ack, lag)
	}
	kv(b, "master_failover_state", "no-failover")
	kv(b, "master_replid", r.replID)
	kv(b, "master_replid2", r.replID2)
	kv(b, "master_repl_offset", r.offset)
	kv(b, "second_repl_offset", r.secondOffset)
	if bl := r.backlog; bl != nil {
		kv(b, "repl_backlog_active", 1)
		kv(b, "repl_backlog_size", bl.size)
		kv(b, "repl_backlog_first_byte_offset", bl.start)
		kv(b, "repl_backlog_histlen", bl.histlen())
	} else {
		kv(b, "repl_backlog_active", 0)
		kv(b, "repl_backlog_size", n.cfgInt("repl-backlog-size", 1<<20))
		kv(b, "repl_backlog_first_byte_offset", 0)
		kv(b, "repl_backlog_histlen", 0)
	}
}

// goodReplicasLocked counts online replicas whose lag is within
// min-replicas-max-lag.
func (n *Node) goodReplicasLocked() int {
	maxLag := time.Duration(n.cfgInt("min-replicas-max-lag", 10)) * time.Second
	k := 0
	for _, rl := range n.repl.replicas {
		if rl.state == replicaOnline && time.Since(rl.ackTime) <= maxLag {
			k++
		}
	}
	return k
}

// --- cron -------------------------------------------------------------------

// replCronLocked runs once a second: PING to replicas, backlog size and
// trimming, the replication state file.
func (n *Node) replCronLocked(now time.Time) {
	r := &n.repl
	if r.backlog != nil {
		r.backlog.size = n.cfgInt("repl-backlog-size", 1<<20)
		r.backlog.trim(r.pinLocked())
	}
	if r.master == nil && len(r.replicas) > 0 {
		period := time.Duration(n.cfgInt("repl-ping-replica-period", 10)) * time.Second
		if now.Sub(r.lastPing) >= period {
			r.lastPing = now
			n.feedLocked(-1, [][]byte{[]byte("PING")})
		}
	}
	// Replicas that fell too far behind (more than the hard output limit
	// past the backlog) are dropped; they come back with a full sync.
	if r.backlog != nil {
		const hardLimit = 256 << 20
		for _, rl := range append([]*replicaLink(nil), r.replicas...) {
			if rl.cut == nil && r.offset-rl.next > r.backlog.size+hardLimit {
				rl.closeLocked("output buffer limit reached")
			}
		}
	}
}

// cutHost lets the node take a persistence.Cut of itself.
type cutHost struct{ n *Node }

var _ persistence.Host = cutHost{}

func (h cutHost) WithLock(fn func())     { h.n.WithLock(fn) }
func (h cutHost) NumDBs() int            { return len(h.n.dbs) }
func (h cutHost) DB(i int) *store.DB     { return h.n.dbs[i] }
func (h cutHost) SetLoading(v bool)      { h.n.SetLoading(v) }
func (h cutHost) Config() *config.Config { return h.n.cfg }
func (h cutHost) Dirty() int64           { return h.n.dirty }
func (h cutHost) LastSave() int64        { return h.n.lastSave }
func (h cutHost) MarkSaved(before, at int64) {
	h.n.MarkSaved(before, at)
}
func (h cutHost) Apply(db int, argv [][]byte, nowMs int64) error {
	return errors.New("node: a replication cut does not apply records")
}

// equalFoldBytes compares a byte slice and a lower-case word.
func equalFoldBytes(b []byte, word string) bool {
	return len(b) == len(word) && bytes.EqualFold(b, []byte(word))
}
