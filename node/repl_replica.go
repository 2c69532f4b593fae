package node

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotvault/slotvault/store"
)

// errLinkStopped ends a link session that REPLICAOF / promotion replaced.
var errLinkStopped = errors.New("node: replication link stopped")

// masterLink is a replica's connection to its master. Fields are guarded
// by the node lock unless noted.
type masterLink struct {
	n    *Node
	host string
	port int

	state     string
	stopped   bool
	stop      chan struct{}
	conn      net.Conn
	connUp    bool
	downSince time.Time
	// cl is the master's pseudo-client: its DB and MULTI state.
	cl *Client
	// readOff is slave_read_repl_offset.
	readOff  int64
	syncRead int64

	lastIO atomic.Int64 // Unix nanoseconds of the last byte from the master
	wmu    sync.Mutex   // serialises writes to conn (ACKs)
}

func (ml *masterLink) lastIOTime() time.Time {
	v := ml.lastIO.Load()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

func (ml *masterLink) addr() string { return net.JoinHostPort(ml.host, strconv.Itoa(ml.port)) }

func (n *Node) newMasterClient(db int) *Client {
	return &Client{ID: -2, RESP: 2, Authenticated: true, User: "default", DB: db, Addr: "master"}
}

// stopLinkLocked ends the current master link, if any.
func (n *Node) stopLinkLocked() {
	ml := n.repl.master
	if ml == nil {
		return
	}
	ml.stopped = true
	close(ml.stop)
	if ml.conn != nil {
		ml.conn.Close()
	}
	if ml.state == linkSync {
		n.loading.Store(false)
	}
	n.repl.master = nil
}

// replicateLocked makes the node a replica of host:port.
func (n *Node) replicateLocked(host string, port int) {
	r := &n.repl
	if r.master == nil {
		n.log.Info("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.")
	}
	n.stopLinkLocked()
	// Our replicas must learn about the change; they come back and
	// continue from us when they can.
	n.disconnectReplicasLocked("master changed")
	for _, w := range r.waiters {
		if !w.bs.finished {
			w.bs.ctx.R.Int(r.ackedLocked(w.woff))
			n.unregisterBlockedLocked(w.bs)
			w.bs.unblock(unblockServed)
		}
	}
	r.waiters = nil
	ml := &masterLink{n: n, host: host, port: port, state: linkConnect, stop: make(chan struct{})}
	r.master = ml
	n.setExpiryLocked(n.expiryModeLocked())
	n.wg.Add(1)
	go ml.run()
	n.log.Info("Connecting to MASTER", "master", ml.addr())
}

// promoteLocked turns the replica into a master (REPLICAOF NO ONE).
func (n *Node) promoteLocked() {
	r := &n.repl
	wasSyncing := r.master != nil && r.master.state == linkSync
	n.stopLinkLocked()
	if wasSyncing {
		r.cachedValid = false
	}
	n.shiftReplIDLocked()
	r.seldb = -1
	n.disconnectReplicasLocked("replication ID changed")
	if r.backlog == nil {
		n.createBacklogLocked()
	}
	n.setExpiryLocked(n.expiryModeLocked())
}

// run keeps the link up: connect, handshake, sync, stream; retry each
// second after a failure, until stopped.
func (ml *masterLink) run() {
	n := ml.n
	defer n.wg.Done()
	for {
		err := ml.session()
		n.mu.Lock()
		stopped := ml.stopped
		if ml.state == linkConnected {
			ml.downSince = time.Now()
		}
		if ml.state == linkSync && !stopped {
			n.loading.Store(false)
		}
		ml.connUp = false
		ml.conn = nil
		if !stopped {
			ml.state = linkConnect
		}
		n.mu.Unlock()
		if stopped {
			return
		}
		n.log.Warn("Connection with master lost or failed", "master", ml.addr(), "err", err)
		select {
		case <-ml.stop:
			return
		case <-n.closed:
			return
		case <-time.After(time.Second):
		}
	}
}

// linkReader reads the master's replies and stream, counting bytes.
type linkReader struct {
	ml *masterLink
	rd *bufio.Reader
	c  net.Conn
}

// linkConn is the replica's side of the link as the buffered reader sees
// it: every read from the socket (only when the buffer is empty) arms the
// repl-timeout deadline and records the time of the last I/O.
type linkConn struct {
	ml *masterLink
	c  net.Conn
	to time.Duration
}

func (lc *linkConn) Read(p []byte) (int, error) {
	lc.c.SetReadDeadline(time.Now().Add(lc.to))
	n, err := lc.c.Read(p)
	if n > 0 {
		lc.ml.lastIO.Store(time.Now().UnixNano())
	}
	return n, err
}

func newLinkReader(ml *masterLink, c net.Conn, to time.Duration) *linkReader {
	return &linkReader{ml: ml, c: c, rd: bufio.NewReaderSize(&linkConn{ml: ml, c: c, to: to}, 64<<10)}
}

// line reads one reply line, skipping the empty keepalive lines a master
// sends while preparing a sync.
func (lr *linkReader) line() (string, error) {
	for {
		s, err := lr.rd.ReadString('\n')
		if err != nil {
			return "", err
		}
		s = strings.TrimRight(s, "\r\n")
		if s != "" {
			return s, nil
		}
	}
}

func (lr *linkReader) full(p []byte) error {
	_, err := io.ReadFull(lr.rd, p)
	return err
}

// command reads one RESP array command from the stream and returns its
// arguments and its size in bytes. The arguments share one allocation.
func (lr *linkReader) command() ([][]byte, int, error) {
	head, err := lr.rd.ReadSlice('\n')
	if err != nil {
		return nil, 0, err
	}
	size := len(head)
	if len(head) < 3 || head[0] != '*' {
		return nil, 0, fmt.Errorf("node: protocol error from master: %q", head)
	}
	argc, ok := ParseInt(head[1 : len(head)-2])
	if !ok || argc < 0 || argc > 1<<20 {
		return nil, 0, fmt.Errorf("node: protocol error from master: bad array length %q", head)
	}
	args := make([][]byte, argc)
	var slab []byte
	for i := range args {
		h, err := lr.rd.ReadSlice('\n')
		if err != nil {
			return nil, 0, err
		}
		size += len(h)
		if len(h) < 3 || h[0] != '$' {
			return nil, 0, fmt.Errorf("node: protocol error from master: %q", h)
		}
		l, ok := ParseInt(h[1 : len(h)-2])
		if !ok || l < 0 {
			return nil, 0, fmt.Errorf("node: protocol error from master: bad bulk length %q", h)
		}
		need := int(l) + 2
		if need > 4096 {
			// Big values get their own buffer.
			a := make([]byte, need)
			if err := lr.full(a); err != nil {
				return nil, 0, err
			}
			args[i] = a[:l:l]
			size += need
			continue
		}
		if cap(slab)-len(slab) < need {
			slab = make([]byte, 0, max(need, 512))
		}
		a := slab[len(slab) : len(slab)+need]
		slab = slab[:len(slab)+need]
		if err := lr.full(a); err != nil {
			return nil, 0, err
		}
		args[i] = a[:l:l]
		size += need
	}
	return args, size, nil
}

func (ml *masterLink) write(conn net.Conn, args ...string) error {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	ml.wmu.Lock()
	defer ml.wmu.Unlock()
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := conn.Write(appendRESP(nil, argv))
	return err
}

// session is one connection to the master, from connect to loss.
func (ml *masterLink) session() error {
	n := ml.n
	n.mu.Lock()
	if ml.stopped {
		n.mu.Unlock()
		return errLinkStopped
	}
	ml.state = linkConnecting
	timeout := time.Duration(n.cfgInt("repl-timeout", 60)) * time.Second
	user, pass := n.cfg.Extra["masteruser"], n.cfg.Extra["masterauth"]
	port := int(n.cfgInt("replica-announce-port", 0))
	if port == 0 {
		port = n.replicaListeningPortLocked()
	}
	announceIP := n.cfg.Extra["replica-announce-ip"]
	n.mu.Unlock()

	conn, err := net.DialTimeout("tcp", ml.addr(), timeout)
	if err == nil {
		conn, err = n.wrapReplicationTLS(conn, timeout)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	n.mu.Lock()
	if ml.stopped {
		n.mu.Unlock()
		return errLinkStopped
	}
	ml.conn = conn
	ml.state = linkHandshake
	n.mu.Unlock()
	n.log.Info("MASTER <-> REPLICA sync started", "master", ml.addr())

	lr := newLinkReader(ml, conn, timeout)
	ask := func(args ...string) (string, error) {
		if err := ml.write(conn, args...); err != nil {
			return "", err
		}
		return lr.line()
	}
	reply, err := ask("PING")
	if err != nil {
		return err
	}
	if reply[0] == '-' && !strings.HasPrefix(reply, "-NOAUTH") && !strings.HasPrefix(reply, "-NOPERM") &&
		!strings.HasPrefix(reply, "-ERR operation not permitted") {
		return fmt.Errorf("node: error reply to PING from master: %s", reply)
	}
	n.log.Info("Master replied to PING, replication can continue...")
	if pass != "" {
		args := []string{"AUTH", pass}
		if user != "" {
			args = []string{"AUTH", user, pass}
		}
		if reply, err = ask(args...); err != nil {
			return err
		}
		if reply[0] == '-' {
			return fmt.Errorf("node: unable to AUTH to MASTER: %s", reply)
		}
	}
	if reply, err = ask("REPLCONF", "listening-port", strconv.Itoa(port)); err != nil {
		return err
	} else if reply[0] == '-' {
		n.log.Info("(Non critical) Master does not understand REPLCONF listening-port", "reply", reply)
	}
	if announceIP != "" {
		if reply, err = ask("REPLCONF", "ip-address", announceIP); err != nil {
			return err
		}
	}
	if reply, err = ask("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		return err
	}

	n.mu.Lock()
	id, off := "?", int64(-1)
	if n.repl.cachedValid {
		id, off = n.repl.replID, n.repl.offset+1
	}
	n.mu.Unlock()
	if id != "?" {
		n.log.Info(fmt.Sprintf("Trying a partial resynchronization (request %s:%d).", id, off))
	}
	if reply, err = ask("PSYNC", id, strconv.FormatInt(off, 10)); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(reply, "+FULLRESYNC"):
		f := strings.Fields(reply)
		if len(f) != 3 {
			return fmt.Errorf("node: bad FULLRESYNC reply %q", reply)
		}
		moff, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("node: bad FULLRESYNC reply %q", reply)
		}
		n.log.Info(fmt.Sprintf("Full resync from master: %s:%d", f[1], moff))
		if err := ml.fullSync(lr, f[1], moff); err != nil {
			return err
		}
	case strings.HasPrefix(reply, "+CONTINUE"):
		newID := strings.TrimSpace(strings.TrimPrefix(reply, "+CONTINUE"))
		if err := ml.partialSync(newID); err != nil {
			return err
		}
	default:
		return fmt.Errorf("node: unexpected reply to PSYNC from master: %s", reply)
	}
	return ml.stream(lr)
}

// partialSync continues the current history after +CONTINUE.
func (ml *masterLink) partialSync(newID string) error {
	n := ml.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if ml.stopped {
		return errLinkStopped
	}
	r := &n.repl
	if newID != "" && newID != r.replID {
		r.replID2 = r.replID
		r.secondOffset = r.offset + 1
		r.replID = newID
		n.log.Info("Master replication ID changed", "replid", newID, "replid2", r.replID2, "second_offset", r.secondOffset)
		n.disconnectReplicasLocked("replication ID changed")
	}
	if r.backlog == nil {
		n.createBacklogLocked()
	}
	ml.cl = n.newMasterClient(r.masterDB)
	ml.readOff = r.offset
	ml.state = linkConnected
	ml.connUp = true
	ml.downSince = time.Time{}
	n.log.Info("Successful partial resynchronization with master.")
	n.log.Info("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.", "offset", r.offset)
	return nil
}

// syncRecord is one key of a full sync payload.
type syncRecord struct {
	db     int
	expire int64
	key    string
	val    []byte
}

// fullSync loads the master's copy (see "Full sync payload" in repl.go).
func (ml *masterLink) fullSync(lr *linkReader, id string, moff int64) error {
	n := ml.n
	head, err := lr.line()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(head, "$EOF:") || len(head) != 5+40 {
		return fmt.Errorf("node: unsupported full sync framing %q (the master is not slotvault?)", head)
	}
	mark := head[5:]
	magic := make([]byte, len(syncMagic))
	if err := lr.full(magic); err != nil {
		return err
	}
	if string(magic) != syncMagic {
		return fmt.Errorf("node: full sync payload has bad magic %q", magic)
	}
	n.mu.Lock()
	if ml.stopped {
		n.mu.Unlock()
		return errLinkStopped
	}
	ml.state = linkSync
	ml.syncRead = 0
	n.loading.Store(true)
	r := &n.repl
	r.cachedValid = false
	r.backlog = nil
	n.disconnectReplicasLocked("full resync with my master")
	n.log.Info("MASTER <-> REPLICA sync: Flushing old data")
	for i, db := range n.dbs {
		db.Flush()
		n.touchAllWatchedLocked(i)
	}
	if n.wal != nil {
		n.wal.Append(0, [][]byte{[]byte("FLUSHALL")})
	}
	n.mu.Unlock()
	n.log.Info("MASTER <-> REPLICA sync: Loading DB in memory")

	var batch []syncRecord
	batchBytes := 0
	var keys int64
	var streamDB int
	var hdr [13]byte
	apply := func() error {
		if len(batch) == 0 {
			return nil
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if ml.stopped {
			return errLinkStopped
		}
		lim := n.limitsLocked()
		for _, rec := range batch {
			if rec.db < 0 || rec.db >= len(n.dbs) {
				return fmt.Errorf("node: full sync key in database %d, but only %d databases", rec.db, len(n.dbs))
			}
			v, err := RestorePayload(rec.val, lim)
			if err != nil {
				return fmt.Errorf("node: full sync key %q: %w", rec.key, err)
			}
			n.dbs[rec.db].Set(rec.key, v, rec.expire)
			n.dirty++
			if n.wal != nil {
				n.wal.Append(rec.db, [][]byte{[]byte("RESTORE"), []byte(rec.key),
					[]byte(strconv.FormatInt(rec.expire, 10)), rec.val, []byte("ABSTTL"), []byte("REPLACE")})
			}
		}
		ml.syncRead += int64(batchBytes)
		batch = batch[:0]
		batchBytes = 0
		return nil
	}
	for {
		if err := lr.full(hdr[:1]); err != nil {
			return err
		}
		if hdr[0] == 'Z' {
			if err := lr.full(hdr[:12]); err != nil {
				return err
			}
			count := int64(binary.LittleEndian.Uint64(hdr[:8]))
			streamDB = int(binary.LittleEndian.Uint32(hdr[8:12]))
			if count != keys+int64(len(batch)) {
				return fmt.Errorf("node: full sync payload announces %d keys, got %d", count, keys+int64(len(batch)))
			}
			break
		}
		if hdr[0] != 'K' {
			return fmt.Errorf("node: full sync payload has bad record type %q", hdr[0])
		}
		if err := lr.full(hdr[:12]); err != nil {
			return err
		}
		rec := syncRecord{db: int(binary.LittleEndian.Uint32(hdr[:4])), expire: int64(binary.LittleEndian.Uint64(hdr[4:12]))}
		var l [4]byte
		if err := lr.full(l[:]); err != nil {
			return err
		}
		key := make([]byte, binary.LittleEndian.Uint32(l[:]))
		if err := lr.full(key); err != nil {
			return err
		}
		if err := lr.full(l[:]); err != nil {
			return err
		}
		val := make([]byte, binary.LittleEndian.Uint32(l[:]))
		if err := lr.full(val); err != nil {
			return err
		}
		rec.key = string(key)
		rec.val = val
		batch = append(batch, rec)
		batchBytes += 21 + len(key) + len(val)
		if len(batch) >= 1024 || batchBytes >= 4<<20 {
			keys += int64(len(batch))
			if err := apply(); err != nil {
				return err
			}
		}
	}
	keys += int64(len(batch))
	if err := apply(); err != nil {
		return err
	}
	end := make([]byte, 40)
	if err := lr.full(end); err != nil {
		return err
	}
	if string(end) != mark {
		return errors.New("node: full sync payload does not end with its EOF mark")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if ml.stopped {
		return errLinkStopped
	}
	r.replID = id
	r.replID2 = noReplID
	r.secondOffset = -1
	r.offset = moff
	r.masterDB = streamDB
	n.createBacklogLocked()
	r.cachedValid = true
	ml.cl = n.newMasterClient(streamDB)
	ml.readOff = moff
	ml.state = linkConnected
	ml.connUp = true
	ml.downSince = time.Time{}
	n.loading.Store(false)
	n.log.Info("MASTER <-> REPLICA sync: Finished with success", "keys", keys)
	return nil
}

// stream applies the master's commands until the link fails.
func (ml *masterLink) stream(lr *linkReader) error {
	n := ml.n
	done := make(chan struct{})
	defer close(done)
	conn := lr.c
	ack := func() error {
		n.mu.Lock()
		off := n.repl.offset
		n.mu.Unlock()
		return ml.write(conn, "REPLCONF", "ACK", strconv.FormatInt(off, 10))
	}
	ack()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if ack() != nil {
					conn.Close()
					return
				}
			}
		}
	}()
	type rawCmd struct {
		args [][]byte
		size int
	}
	var batch []rawCmd
	var enc []byte
	for {
		args, size, err := lr.command()
		if err != nil {
			return err
		}
		batch = append(batch[:0], rawCmd{args, size})
		total := size
		for lr.rd.Buffered() > 0 && len(batch) < 512 && total < 1<<20 {
			args, size, err := lr.command()
			if err != nil {
				return err
			}
			batch = append(batch, rawCmd{args, size})
			total += size
		}
		var seq uint64
		getack := false
		n.mu.Lock()
		if ml.stopped || n.repl.master != ml {
			n.mu.Unlock()
			return errLinkStopped
		}
		n.setExpiryLocked(store.ExpireIgnore)
		for _, rc := range batch {
			if len(rc.args) > 0 && equalFoldBytes(rc.args[0], "replconf") {
				if len(rc.args) > 1 && equalFoldBytes(rc.args[1], "getack") {
					getack = true
				}
			} else if s := n.applyMasterCmdLocked(ml.cl, rc.args); s > seq {
				seq = s
			}
			enc = appendRESP(enc[:0], rc.args)
			if len(enc) != rc.size {
				n.log.Error("replication stream command is not in canonical RESP form; offsets may diverge", "cmd", string(rc.args[0]))
			}
			n.feedRawLocked(enc)
		}
		n.setExpiryLocked(n.expiryModeLocked())
		ml.readOff = n.repl.offset
		n.repl.masterDB = ml.cl.DB
		wal := n.wal
		n.mu.Unlock()
		if cap(enc) > 1<<20 {
			enc = nil
		}
		if getack {
			if err := ack(); err != nil {
				return err
			}
		}
		if seq > 0 && wal != nil {
			if err := wal.Wait(seq); err != nil {
				n.log.Error("replica could not write the master's stream to its log", "err", err)
			}
		}
	}
}

// applyMasterCmdLocked runs one command of the master's stream as the
// master's pseudo-client and returns the write-log sequence it produced.
func (n *Node) applyMasterCmdLocked(cl *Client, args [][]byte) uint64 {
	if len(args) == 0 {
		return 0
	}
	// SELECT is the stream's own framing: the replica follows it even
	// where clients could not select.
	if equalFoldBytes(args[0], "select") && len(args) == 2 && !cl.inMulti {
		if db, ok := ParseInt(args[1]); ok && db >= 0 && db < int64(len(n.dbs)) {
			cl.DB = int(db)
		} else {
			n.log.Warn("== CRITICAL == master selected a database this replica does not have", "db", string(args[1]))
		}
		return 0
	}
	cmd := n.cmds.lookup(args[0])
	if cmd == nil || !arityOK(cmd.Arity, len(args)) {
		n.log.Warn("== CRITICAL == This replica got a command it cannot run from its master", "cmd", string(args[0]))
		return 0
	}
	sub := cmd
	if cmd.Subcommands != nil && len(args) >= 2 {
		if s := cmd.Subcommands[lowerASCII(args[1])]; s != nil {
			sub = s
		}
	}
	if cl.inMulti && !isTxControl(cmd.Name) {
		cl.queued = append(cl.queued, queuedCmd{cmd: cmd, args: args})
		return 0
	}
	cl.reply.Reset()
	c := Ctx{n: n, Cl: cl, Cmd: sub, Args: args, DB: n.dbs[cl.DB], R: &cl.reply, Now: time.Now().UnixMilli()}
	seq := n.callLocked(&c, cmd)
	if out := cl.reply.Bytes(); len(out) > 0 && out[0] == '-' {
		n.log.Warn("== CRITICAL == This replica is sending an error to its master", "cmd", cmd.Name,
			"reply", strings.TrimSpace(string(out[1:])))
	}
	cl.reply.Reset()
	return seq
}

// --- persistent replication state ------------------------------------------

// replStateFile is the JSON content of replication.state.
type replStateFile struct {
	ReplID   string `json:"replid"`
	Offset   int64  `json:"offset"`
	StreamDB int    `json:"stream_db"`
	Seq      uint64 `json:"seq"`
}

// lastSeqer is implemented by write logs that report their last sequence
// (persistence.Log).
type lastSeqer interface{ LastSeq() uint64 }

// LoadReplicationState sets the file that keeps the replication ID and
// offset across restarts (inside the data directory) and, when it matches
// the dataset just recovered (lastSeq is the write log's last sequence
// after recovery), resumes that history so a replica can PSYNC. Call it
// after recovery and before StartReplication.
func (n *Node) LoadReplicationState(path string, lastSeq uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := &n.repl
	r.stateFile = path
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var st replStateFile
	if err := json.Unmarshal(b, &st); err != nil || len(st.ReplID) != 40 {
		n.log.Warn("ignoring unreadable replication state", "path", path, "err", err)
		return
	}
	if st.Seq != lastSeq {
		n.log.Info("replication state does not match the recovered data: a full sync will be needed",
			"state_seq", st.Seq, "log_seq", lastSeq)
		return
	}
	r.replID = st.ReplID
	r.offset = st.Offset
	r.masterDB = st.StreamDB
	r.saved = st
	n.log.Info("restored replication state", "replid", st.ReplID, "offset", st.Offset)
}

// StartReplication applies the replicaof directive of the configuration,
// if any (call after LoadReplicationState).
func (n *Node) StartReplication() error {
	n.mu.Lock()
	spec := strings.Fields(n.cfg.Extra["replicaof"])
	n.mu.Unlock()
	if len(spec) == 0 {
		return nil
	}
	if len(spec) != 2 {
		return fmt.Errorf("node: replicaof needs host and port, got %q", strings.Join(spec, " "))
	}
	return n.ReplicateFrom(net.JoinHostPort(spec[0], spec[1]))
}

// replStateLocked returns what replication.state should hold now, and
// whether it changed since the last write.
func (n *Node) replStateLocked() (replStateFile, bool) {
	r := &n.repl
	if r.stateFile == "" || !r.cachedValid || n.loading.Load() {
		return replStateFile{}, false
	}
	st := replStateFile{ReplID: r.replID, Offset: r.offset, StreamDB: r.masterDB}
	if r.master == nil {
		st.StreamDB = 0
	}
	if ls, ok := n.wal.(lastSeqer); ok {
		st.Seq = ls.LastSeq()
	} else {
		return replStateFile{}, false
	}
	return st, st != r.saved
}

// saveReplState writes replication.state when it changed (or always when
// force): temp file, fsync, rename, without the node lock.
func (n *Node) saveReplState(force bool) {
	n.mu.Lock()
	st, changed := n.replStateLocked()
	path := n.repl.stateFile
	n.mu.Unlock()
	if path == "" || st.ReplID == "" || (!changed && !force) {
		return
	}
	b, _ := json.Marshal(st)
	if err := writeFileSync(path, append(b, '\n')); err != nil {
		n.log.Warn("could not write the replication state", "path", path, "err", err)
		return
	}
	n.mu.Lock()
	n.repl.saved = st
	n.mu.Unlock()
}

func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// stopReplicationLocked ends the master link and drops attached replicas
// (node shutdown).
func (n *Node) stopReplicationLocked() {
	if ml := n.repl.master; ml != nil {
		ml.stopped = true
		close(ml.stop)
		if ml.conn != nil {
			ml.conn.Close()
		}
		// Keep r.master so INFO still says slave while shutting down.
	}
	n.disconnectReplicasLocked("shutdown")
	for _, w := range n.repl.waiters {
		if !w.bs.finished {
			w.bs.unblock(unblockShutdown)
		}
	}
	n.repl.waiters = nil
}
