package node

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/store"
)

// MIGRATE moves keys to another instance the way Redis 7.0's
// migrateCommand does: over a cached connection to the target it pipelines
// AUTH, SELECT (when the target's selected db differs) and one
// RESTORE-ASKING (RESTORE outside cluster mode) per key with the key's
// remaining TTL and DUMP payload, then deletes the keys the target
// acknowledged and propagates the deletion as DEL. A target answers RESTORE
// only once the key is in its write log, so a migrated key is durable on
// the target before it disappears from the source.
//
// Redis blocks the whole server for the transfer. slotvault holds the node
// lock only to snapshot and to commit:
//
//  1. Under the lock: look the keys up, copy each value to its neutral form
//     (rdb.Object) with its remaining TTL, and watch each key (the WATCH
//     machinery: every write, TTL change, delete, flush or swap marks it).
//  2. Without the lock: encode the DUMP payloads, send, read the replies.
//  3. Under the lock: delete every acknowledged key that is unchanged since
//     its snapshot (not marked, and the same entry, value and expiry).
//
// The rule for a key modified while in flight: the source's current state
// wins and is sent again. A key that still exists is snapshotted again and
// re-sent with RESTORE ... REPLACE (the target holds our older copy); a key
// that is gone (deleted, expired, flushed) is deleted on the target (DEL,
// after ASKING in cluster mode). Up to migrateUnlockedRounds such rounds run
// without the lock; keys still changing after them are sent once more with
// the lock held, as Redis does for everything, so MIGRATE always ends. The
// outcome is the one an atomic MIGRATE would have had at its commit point:
// a key is never lost and never left on both nodes, unless the target fails
// mid-way, which is reported as an error as in Redis.
//
// COPY deletes nothing, so it needs no watching: the copy is the value at
// the snapshot. Inside MULTI/EXEC the command runs entirely under the lock.

const (
	migrateCacheItems     = 64               // MIGRATE_SOCKET_CACHE_ITEMS
	migrateCacheTTL       = 10 * time.Second // MIGRATE_SOCKET_CACHE_TTL
	migrateWriteChunk     = 64 << 10
	migrateUnlockedRounds = 3
)

func migrateCommands() []*Command {
	return []*Command{
		{Name: "migrate", Arity: -6, Flags: FlagWrite, FirstKey: 3, LastKey: 3, Step: 1, Keys: migrateKeys,
			Categories: []string{"keyspace", "write", "slow", "dangerous"},
			Summary:    "Atomically transfer a key from a Redis instance to another one.", Since: "2.6.0", Group: "generic",
			Handler: cmdMigrate},
		{Name: "restore-asking", Arity: -4, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 1,
			Categories: []string{"keyspace", "write", "slow", "dangerous"},
			Summary:    "An internal command for migrating keys in a cluster", Since: "3.0.0", Group: "server",
			Handler: cmdRestore},
	}
}

// migrateKeys is Redis's migrateGetKeys: the key argument, or everything
// after KEYS when the key argument is empty.
func migrateKeys(args [][]byte) []int {
	if len(args) < 4 {
		return nil
	}
	skip := map[string]int{"copy": 0, "replace": 0, "auth": 1, "auth2": 2}
	for i := 6; i < len(args); i++ {
		w := strings.ToLower(string(args[i]))
		if w == "keys" {
			if len(args[3]) > 0 {
				return nil
			}
			out := make([]int, 0, len(args)-i-1)
			for k := i + 1; k < len(args); k++ {
				out = append(out, k)
			}
			return out
		}
		i += skip[w]
	}
	return []int{3}
}

// migrateRequest is a parsed MIGRATE.
type migrateRequest struct {
	addr          string
	db            int64
	timeout       time.Duration
	copy, replace bool
	auth          bool
	user, pass    []byte
	keys          []string
}

func parseMigrate(c *Ctx) (*migrateRequest, bool) {
	req := &migrateRequest{}
	first, num := 3, 1
	for j := 6; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		switch {
		case c.ArgIs(j, "copy"):
			req.copy = true
		case c.ArgIs(j, "replace"):
			req.replace = true
		case c.ArgIs(j, "auth"):
			if more < 1 {
				c.ErrSyntax()
				return nil, false
			}
			j++
			req.auth, req.user, req.pass = true, nil, append([]byte(nil), c.Args[j]...)
		case c.ArgIs(j, "auth2"):
			if more < 2 {
				c.ErrSyntax()
				return nil, false
			}
			req.auth = true
			req.user = append([]byte(nil), c.Args[j+1]...)
			req.pass = append([]byte(nil), c.Args[j+2]...)
			j += 2
		case c.ArgIs(j, "keys"):
			if len(c.Args[3]) != 0 {
				c.Error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
				return nil, false
			}
			first, num = j+1, len(c.Args)-j-1
			j = len(c.Args)
		default:
			c.ErrSyntax()
			return nil, false
		}
	}
	timeout, ok := c.ParseInt(5)
	if !ok {
		return nil, false
	}
	if req.db, ok = c.ParseInt(4); !ok {
		return nil, false
	}
	if timeout <= 0 {
		timeout = 1000
	}
	req.timeout = time.Duration(timeout) * time.Millisecond
	// The port goes through atoi, as in Redis: "abc" is port 0.
	req.addr = net.JoinHostPort(c.Arg(1), strconv.Itoa(atoi(c.Args[2])))
	// A repeated key is sent again, as Redis does (its second RESTORE
	// fails with BUSYKEY unless REPLACE); it is deleted once.
	for _, a := range c.Args[first : first+num] {
		req.keys = append(req.keys, string(a))
	}
	return req, true
}

// atoi is C's atoi: optional sign, leading digits, 0 when there are none.
func atoi(b []byte) int {
	s := strings.TrimLeft(string(b), " \t\n\r\v\f")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	v := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9' && v < 1<<20; i++ {
		v = v*10 + int(s[i]-'0')
	}
	if neg {
		v = -v
	}
	return v
}

// migrateItem is one key of a MIGRATE in flight.
type migrateItem struct {
	key string
	// snapshot: what was serialised, to recognise an unchanged key.
	entry  *store.Entry
	value  store.Value
	expire int64
	watch  *Client // pseudo client on n.watchers; watchDirty marks a change
	obj    rdb.Object
	ttl    int64 // relative TTL sent to the target (0: none)

	skip    bool // expired between lookup and snapshot: neither sent nor deleted
	gone    bool // deleted on the source since it was sent: delete on target
	replace bool // send with REPLACE
	payload []byte
}

// migrateJob is one MIGRATE command.
type migrateJob struct {
	n       *Node
	cl      *Client
	cmd     *Command
	db      int
	req     *migrateRequest
	cluster bool
	items   []*migrateItem

	// outcome: the first error, written as the reply.
	targetErr string // the target's error line, without '-'
	ioErr     string // the IOERR text
}

func cmdMigrate(c *Ctx) {
	req, ok := parseMigrate(c)
	if !ok {
		return
	}
	j := &migrateJob{n: c.n, cl: c.Cl, cmd: c.Cmd, db: c.Cl.DB, req: req, cluster: c.n.cfg.ClusterEnabled}
	for _, k := range req.keys {
		if c.Lookup(k) != nil {
			j.items = append(j.items, &migrateItem{key: k, replace: req.replace})
		}
	}
	if len(j.items) == 0 {
		c.R.Simple("NOKEY")
		return
	}
	j.snapshotLocked(j.items, c.Now)
	if c.Defer(func() uint64 { return j.runUnlocked(c.R) }) {
		return
	}
	// Inside MULTI/EXEC: one round under the lock, as Redis.
	sent := j.sendable(j.items)
	res := j.exchange(sent)
	j.commitLocked(c, sent, res)
	j.unwatchLocked()
	j.reply(c.R)
}

// snapshotLocked records the current state of items: the value in neutral
// form, the TTL left and a watch on the key. Node lock held.
func (j *migrateJob) snapshotLocked(items []*migrateItem, now int64) {
	db := j.n.dbs[j.db]
	for _, it := range items {
		it.payload, it.obj = nil, rdb.Object{}
		e := db.Peek(it.key)
		if e != nil && e.Expire != 0 && e.Expire <= now {
			e = nil // logically expired: gone
		}
		it.entry, it.gone, it.skip = e, e == nil, false
		if !j.req.copy && it.watch == nil {
			it.watch = &Client{}
			wk := watchKey{j.db, it.key}
			it.watch.watched = []watchKey{wk}
			j.n.watchers[wk] = append(j.n.watchers[wk], it.watch)
		}
		if it.watch != nil {
			it.watch.watchDirty = false
		}
		if e == nil {
			continue
		}
		it.value, it.expire, it.ttl = e.Value, e.Expire, 0
		if e.Expire != 0 {
			it.ttl = e.Expire - now
			if it.ttl < 0 {
				it.skip = true
				continue
			}
			if it.ttl < 1 {
				it.ttl = 1
			}
		}
		o, err := ValueObject(e.Value)
		if err != nil {
			it.skip = true
			continue
		}
		if o.Kind == rdb.KindString {
			// Strings can change in place (APPEND, SETRANGE): copy.
			o.Str = append([]byte(nil), o.Str...)
		}
		it.obj = o
	}
}

func (j *migrateJob) unwatchLocked() {
	for _, it := range j.items {
		if it.watch != nil {
			j.n.unwatchAllLocked(it.watch)
			it.watch = nil
		}
	}
}

// unchangedLocked reports whether it is as snapshotted. Node lock held.
func (j *migrateJob) unchangedLocked(it *migrateItem) bool {
	if it.watch != nil && it.watch.watchDirty {
		return false
	}
	e := j.n.dbs[j.db].Peek(it.key)
	return e != nil && e == it.entry && e.Value == it.value && e.Expire == it.expire
}

// sendable returns the items that go to the target (not skipped). A gone
// item is sent only as a target-side DEL, which only resends produce.
func (j *migrateJob) sendable(items []*migrateItem) []*migrateItem {
	out := make([]*migrateItem, 0, len(items))
	for _, it := range items {
		if !it.skip {
			out = append(out, it)
		}
	}
	return out
}

// runUnlocked is the deferred part of MIGRATE, in the client's goroutine
// without the node lock. It returns the write-log sequence of the DELs.
func (j *migrateJob) runUnlocked(r *Reply) uint64 {
	n := j.n
	var seq uint64
	pending := j.items
	for round := 0; ; round++ {
		locked := round > migrateUnlockedRounds
		if locked {
			// Keys that kept changing: one last round with the lock held,
			// so nothing can change them while they are in flight.
			n.mu.Lock()
			j.snapshotLocked(pending, time.Now().UnixMilli())
		}
		sent := j.sendable(pending)
		res := j.exchange(sent)
		if !locked {
			n.mu.Lock()
		}
		c := &Ctx{n: n, Cl: j.cl, Cmd: &Command{}, DB: n.dbs[j.db], Now: time.Now().UnixMilli()}
		pending = j.commitLocked(c, sent, res)
		if s := n.flushPropagationLocked(c); s > seq {
			seq = s
		}
		if len(pending) > 0 {
			j.snapshotLocked(pending, c.Now)
			for _, it := range pending {
				it.replace = true
			}
		}
		if len(pending) == 0 {
			j.unwatchLocked()
			mark := r.Len()
			j.reply(r)
			if r.Len() > mark && r.b[mark] == '-' {
				j.cmd.failed++
				n.countErrorLocked(r.b[mark:])
			}
			n.mu.Unlock()
			return seq
		}
		n.mu.Unlock()
	}
}

func (j *migrateJob) reply(r *Reply) {
	switch {
	case j.targetErr != "":
		r.Error("ERR Target instance replied with error: " + j.targetErr)
	case j.ioErr != "":
		r.Error(j.ioErr)
	default:
		r.OK()
	}
}

// commitLocked applies a round's outcome under the lock: acknowledged
// unchanged keys are deleted (through c: Dirty, DEL propagation, Touch);
// acknowledged keys changed since their snapshot are returned for
// another round.
func (j *migrateJob) commitLocked(c *Ctx, sent []*migrateItem, res migrateResult) (again []*migrateItem) {
	if j.targetErr == "" && j.ioErr == "" {
		j.targetErr, j.ioErr = res.targetErr, res.ioErr
	}
	if j.req.copy {
		return nil
	}
	del := [][]byte{[]byte("DEL")}
	done := make(map[string]bool, len(sent))
	for i, it := range sent {
		if !res.acked[i] || done[it.key] {
			continue // stays here and the error is reported; or a repeat
		}
		done[it.key] = true
		switch {
		case j.unchangedLocked(it):
			c.DB.Delete(it.key)
			c.Touch(it.key)
			del = append(del, []byte(it.key))
		case it.gone && j.n.dbs[j.db].Peek(it.key) == nil:
			// Deleted on the target as it is here: done.
		default:
			again = append(again, it)
		}
	}
	if len(del) > 1 {
		c.Dirty(len(del) - 1)
		c.Propagate(del...)
	}
	if res.ioErr != "" {
		return nil // the connection is gone: what changed stays here
	}
	return again
}

// migrateResult is the outcome of one exchange with the target.
type migrateResult struct {
	acked     []bool // per item sent
	targetErr string
	ioErr     string
}

func ioErrText(what string) string {
	return "IOERR error or timeout " + what + " to target instance"
}

// exchange sends items to the target and reads the replies, following
// migrateCommand: a socket error before any reply (other than a timeout)
// is retried once on a new connection, since a cached one may have been
// closed by the peer. It touches no node state and may run without the
// lock; the payloads are encoded here.
func (j *migrateJob) exchange(items []*migrateItem) migrateResult {
	res := migrateResult{acked: make([]bool, len(items))}
	for _, it := range items {
		if it.gone || it.payload != nil {
			continue
		}
		p, err := rdb.EncodePayload(&it.obj)
		if err != nil {
			res.targetErr = "" // cannot happen for values from the store
			res.ioErr = "ERR " + err.Error()
			return res
		}
		it.payload = p
		it.obj = rdb.Object{}
	}
	req := j.req
	sockets := &j.n.migrate
	for retry := true; ; retry = false {
		mc, err := sockets.get(req.addr, req.timeout)
		if err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				res.ioErr = "IOERR error or timeout connecting to the client"
				return res
			}
			// Redis's non-blocking connect "succeeds" and the first write
			// fails: a refused connection is a write error.
			if retry {
				continue
			}
			res.ioErr = ioErrText("writing")
			return res
		}
		sel := mc.lastDB != req.db
		buf := j.request(items, sel)
		if err := mc.write(buf, req.timeout); err != nil {
			mc.conn.Close()
			if retry && !isTimeout(err) {
				continue
			}
			res.ioErr = ioErrText("writing")
			return res
		}
		var authLine, selLine []byte
		if req.auth {
			if authLine, err = mc.readLine(req.timeout); err != nil {
				mc.conn.Close()
				if retry && !isTimeout(err) {
					continue
				}
				res.ioErr = ioErrText("reading")
				return res
			}
		}
		if sel {
			if selLine, err = mc.readLine(req.timeout); err != nil {
				mc.conn.Close()
				if retry && !isTimeout(err) {
					continue
				}
				res.ioErr = ioErrText("reading")
				return res
			}
		}
		failed := (authLine != nil && authLine[0] == '-') || (selLine != nil && selLine[0] == '-')
		var sockErr error
		read := 0
	replies:
		for i, it := range items {
			lines := 1
			if it.gone && j.cluster {
				lines = 2 // ASKING, DEL
			}
			ok := !failed
			for l := 0; l < lines; l++ {
				line, err := mc.readLine(req.timeout)
				if err != nil {
					sockErr = err
					break replies
				}
				read++
				if !failed && line[0] != '-' {
					continue
				}
				ok = false
				if res.targetErr == "" {
					mc.lastDB = -1
					switch {
					case authLine != nil && authLine[0] == '-':
						line = authLine
					case selLine != nil && selLine[0] == '-':
						line = selLine
					}
					res.targetErr = string(line[1:])
				}
			}
			res.acked[i] = ok
		}
		if sockErr != nil {
			mc.conn.Close()
			if res.targetErr == "" && read == 0 && retry && !isTimeout(sockErr) {
				continue
			}
			if res.targetErr == "" {
				res.ioErr = ioErrText("reading")
			}
			return res
		}
		if res.targetErr == "" {
			mc.lastDB = req.db
		}
		sockets.put(mc)
		return res
	}
}

// request builds the pipelined commands for items.
func (j *migrateJob) request(items []*migrateItem, sel bool) []byte {
	size := 64
	for _, it := range items {
		size += len(it.key) + len(it.payload) + 96
	}
	b := make([]byte, 0, size)
	req := j.req
	if req.auth {
		if req.user != nil {
			b = appendCommand(b, []byte("AUTH"), req.user, req.pass)
		} else {
			b = appendCommand(b, []byte("AUTH"), req.pass)
		}
	}
	if sel {
		b = appendCommand(b, []byte("SELECT"), strconv.AppendInt(nil, req.db, 10))
	}
	restore := []byte("RESTORE")
	if j.cluster {
		restore = []byte("RESTORE-ASKING")
	}
	for _, it := range items {
		key := []byte(it.key)
		switch {
		case it.gone:
			if j.cluster {
				b = appendCommand(b, []byte("ASKING"))
			}
			b = appendCommand(b, []byte("DEL"), key)
		case it.replace:
			b = appendCommand(b, restore, key, strconv.AppendInt(nil, it.ttl, 10), it.payload, []byte("REPLACE"))
		default:
			b = appendCommand(b, restore, key, strconv.AppendInt(nil, it.ttl, 10), it.payload)
		}
	}
	return b
}

// appendCommand appends argv as a RESP array of bulk strings.
func appendCommand(b []byte, argv ...[]byte) []byte {
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// migrateSockets caches one idle connection per target "host:port", as
// Redis's migrate_cached_sockets: at most migrateCacheItems, each closed
// after migrateCacheTTL unused. A MIGRATE checks a connection out for its
// exchange, so concurrent MIGRATEs to one target (possible here, since the
// transfer runs without the node lock) use separate connections. Its own
// mutex guards it; it is never taken together with the node lock held
// across I/O.
type migrateSockets struct {
	// wrap upgrades a new connection to TLS when tls-cluster is on
	// (tls.go); nil before Start.
	wrap   func(net.Conn, time.Duration) (net.Conn, error)
	mu     sync.Mutex
	idle   map[string]*migrateConn
	closed bool
}

// migrateConn is a connection to a target and the db selected on it.
type migrateConn struct {
	addr    string
	conn    net.Conn
	rd      *bufio.Reader
	lastDB  int64 // -1: unknown, SELECT needed
	lastUse time.Time
}

// get checks out the cached connection to addr, or dials a new one.
func (s *migrateSockets) get(addr string, timeout time.Duration) (*migrateConn, error) {
	s.mu.Lock()
	if mc := s.idle[addr]; mc != nil {
		delete(s.idle, addr)
		s.mu.Unlock()
		return mc, nil
	}
	s.mu.Unlock()
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if s.wrap != nil {
		if conn, err = s.wrap(conn, timeout); err != nil {
			return nil, err
		}
	}
	return &migrateConn{addr: addr, conn: conn, rd: bufio.NewReader(conn), lastDB: -1}, nil
}

// put returns a healthy connection to the cache.
func (s *migrateSockets) put(mc *migrateConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		mc.conn.Close()
		return
	}
	if s.idle == nil {
		s.idle = make(map[string]*migrateConn)
	}
	if old := s.idle[mc.addr]; old != nil {
		old.conn.Close()
	} else if len(s.idle) >= migrateCacheItems {
		for a, victim := range s.idle { // map order: a random victim, as Redis
			victim.conn.Close()
			delete(s.idle, a)
			break
		}
	}
	now := time.Now()
	mc.lastUse = now
	s.idle[mc.addr] = mc
	time.AfterFunc(migrateCacheTTL, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.idle[mc.addr] == mc && mc.lastUse.Equal(now) {
			delete(s.idle, mc.addr)
			mc.conn.Close()
		}
	})
}

// closeAll closes the cached connections; later puts close theirs.
func (s *migrateSockets) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for a, mc := range s.idle {
		mc.conn.Close()
		delete(s.idle, a)
	}
}

// write sends b in 64 KiB chunks, each within timeout (connSyncWrite).
func (mc *migrateConn) write(b []byte, timeout time.Duration) error {
	for len(b) > 0 {
		chunk := b
		if len(chunk) > migrateWriteChunk {
			chunk = chunk[:migrateWriteChunk]
		}
		mc.conn.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := mc.conn.Write(chunk); err != nil {
			return err
		}
		b = b[len(chunk):]
	}
	return nil
}

// readLine reads one reply line within timeout (connSyncReadLine),
// without its CRLF. An empty line is an error.
func (mc *migrateConn) readLine(timeout time.Duration) ([]byte, error) {
	mc.conn.SetReadDeadline(time.Now().Add(timeout))
	line, err := mc.rd.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(line) == 0 {
		return nil, errors.New("node: empty reply line from MIGRATE target")
	}
	return line, nil
}
