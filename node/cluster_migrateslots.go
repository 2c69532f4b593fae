package node

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/cluster"
	"github.com/slotvault/slotvault/slots"
	"github.com/slotvault/slotvault/store"
)

// CLUSTER MIGRATESLOTS moves whole slot ranges to another master in one
// background job (docs/migrateslots.md). It does per slot what
// `redis-cli --cluster reshard` does, with the same slot states, so clients
// see the usual ASK/TRYAGAIN redirections:
//
//  1. CLUSTER SETSLOT <slot> IMPORTING <source-id> on the target, then
//     MIGRATING <target-id> on the source (this node).
//  2. Batches of up to migrateSlotsBatch keys of the slot are taken under
//     the node lock and moved with MIGRATE's machinery (migrateJob): values
//     are copied under the lock, encoded and pipelined as RESTORE-ASKING
//     without it, and only acknowledged keys unchanged since their copy are
//     deleted. Repeated until the slot is empty.
//  3. CLUSTER SETSLOT <slot> NODE <target-id> on the target (which bumps
//     its epoch), then on the source.
//
// Only one job runs per node; it is guarded by the node lock
// (Node.slotMig).

const (
	migrateSlotsBatch = 128 // keys per pipelined round trip
	migrateSlotsGroup = 64  // slots whose SETSLOTs are pipelined together
)

// slotMigration is the state of a MIGRATESLOTS job.
type slotMigration struct {
	addr     string
	ranges   []slots.Range
	timeout  time.Duration
	total    int // slots to move
	done     int // slots moved
	keys     int64
	current  int // slot in progress, -1 none
	running  bool
	err      string
	started  time.Time
	finished time.Time
}

func cmdClusterMigrateSlots(c *Ctx) {
	if len(c.Args) == 3 && c.ArgIs(2, "status") {
		migrateSlotsStatus(c)
		return
	}
	if len(c.Args) < 5 {
		c.Error("ERR wrong number of arguments for 'cluster|migrateslots' command")
		return
	}
	if c.n.cluster.IsReplica() {
		c.Error("ERR Please use MIGRATESLOTS only with masters.")
		return
	}
	if m := c.n.slotMig; m != nil && m.running {
		c.Error("ERR A slot migration is already in progress")
		return
	}
	port := atoi(c.Args[3])
	if port <= 0 || port > 65535 {
		c.Error("ERR Invalid port")
		return
	}
	m := &slotMigration{addr: net.JoinHostPort(c.Arg(2), strconv.Itoa(port)), timeout: 5 * time.Second, current: -1}
	var set slots.Set
	for i := 4; i < len(c.Args); i++ {
		if c.ArgIs(i, "timeout") && i+1 < len(c.Args) {
			ms, ok := c.ParseInt(i + 1)
			if !ok {
				return
			}
			if ms <= 0 {
				c.Error("ERR timeout is out of range")
				return
			}
			m.timeout = time.Duration(ms) * time.Millisecond
			i++
			continue
		}
		r, err := slots.ParseRange(string(c.Args[i]))
		if err != nil || r.End < r.Start {
			c.Error("ERR Invalid slot range " + strconv.Quote(string(c.Args[i])))
			return
		}
		for s := r.Start; s <= r.End; s++ {
			if !c.n.cluster.Route(s).Mine {
				c.Error(fmt.Sprintf("ERR I'm not the owner of hash slot %d", s))
				return
			}
			set.Add(s)
		}
	}
	m.ranges = set.Ranges()
	for _, r := range m.ranges {
		m.total += r.End - r.Start + 1
	}
	if m.total == 0 {
		c.ErrSyntax()
		return
	}
	m.running, m.started = true, time.Now()
	c.n.slotMig = m
	go c.n.runSlotMigration(m)
	c.R.OK()
}

// migrateSlotsStatus replies with the job's state as a flat list of
// field/value pairs (a map in RESP3).
func migrateSlotsStatus(c *Ctx) {
	m := c.n.slotMig
	if m == nil {
		c.R.Map(1)
		c.R.BulkString("state")
		c.R.BulkString("none")
		return
	}
	state := "running"
	switch {
	case m.running:
	case m.err != "":
		state = "failed"
	default:
		state = "done"
	}
	end := m.finished
	if m.running {
		end = time.Now()
	}
	rs := make([]string, len(m.ranges))
	for i, r := range m.ranges {
		rs[i] = r.String()
	}
	c.R.Map(9)
	c.R.BulkString("state")
	c.R.BulkString(state)
	c.R.BulkString("target")
	c.R.BulkString(m.addr)
	c.R.BulkString("ranges")
	c.R.BulkString(strings.Join(rs, " "))
	c.R.BulkString("slots-total")
	c.R.Int(int64(m.total))
	c.R.BulkString("slots-done")
	c.R.Int(int64(m.done))
	c.R.BulkString("current-slot")
	c.R.Int(int64(m.current))
	c.R.BulkString("keys-moved")
	c.R.Int(m.keys)
	c.R.BulkString("elapsed-ms")
	c.R.Int(end.Sub(m.started).Milliseconds())
	c.R.BulkString("error")
	c.R.BulkString(m.err)
}

// runSlotMigration is the job's goroutine; it holds the node lock only
// for short steps.
func (n *Node) runSlotMigration(m *slotMigration) {
	err := n.migrateSlots(m)
	n.mu.Lock()
	m.running, m.current, m.finished = false, -1, time.Now()
	if err != nil {
		m.err = err.Error()
		n.log.Warn("MIGRATESLOTS failed", "target", m.addr, "err", err)
	} else {
		n.log.Info("MIGRATESLOTS done", "target", m.addr, "slots", m.done, "keys", m.keys)
	}
	n.mu.Unlock()
}

var errMigrateSlotsAborted = errors.New("node: slot migration aborted")

func (n *Node) migrateSlots(m *slotMigration) error {
	conn, err := net.DialTimeout("tcp", m.addr, m.timeout)
	if err == nil {
		conn, err = n.wrapClusterTLS(conn, m.timeout)
	}
	if err != nil {
		return fmt.Errorf("connecting to target: %w", err)
	}
	ctl := &migrateConn{addr: m.addr, conn: conn, lastDB: -1}
	ctl.rd = bufio.NewReader(conn)
	defer conn.Close()

	n.mu.Lock()
	user, pass := n.cfg.Extra["masteruser"], n.cfg.Extra["masterauth"]
	n.mu.Unlock()
	var auth []byte
	if pass != "" {
		if user != "" {
			auth = appendCommand(nil, []byte("AUTH"), []byte(user), []byte(pass))
		} else {
			auth = appendCommand(nil, []byte("AUTH"), []byte(pass))
		}
		if _, err := ctl.call(auth, m.timeout); err != nil {
			return fmt.Errorf("AUTH on target: %w", err)
		}
	}
	targetID, err := ctl.call(appendCommand(nil, []byte("CLUSTER"), []byte("MYID")), m.timeout)
	if err != nil {
		return fmt.Errorf("CLUSTER MYID on target: %w", err)
	}
	myID := n.cluster.MyID()
	req := &migrateRequest{addr: m.addr, timeout: m.timeout}
	if pass != "" {
		req.auth, req.pass = true, []byte(pass)
		if user != "" {
			req.user = []byte(user)
		}
	}
	var group []int
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		n.mu.Lock()
		m.current = group[0]
		n.mu.Unlock()
		if err := n.migrateSlotGroup(m, ctl, req, group, myID, targetID); err != nil {
			return fmt.Errorf("slots %d-%d: %w", group[0], group[len(group)-1], err)
		}
		n.mu.Lock()
		m.done += len(group)
		n.mu.Unlock()
		group = group[:0]
		return nil
	}
	for _, r := range m.ranges {
		for slot := r.Start; slot <= r.End; slot++ {
			group = append(group, slot)
			if len(group) == migrateSlotsGroup {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// migrateSlotGroup moves a group of slots together: the SETSLOT commands
// to the target are pipelined and key batches span the group's slots, so
// per-slot round trips are amortised. Each slot still goes through the
// same states as with redis-cli.
func (n *Node) migrateSlotGroup(m *slotMigration, ctl *migrateConn, req *migrateRequest, group []int, myID, targetID string) error {
	setslots := func(action, id string) []byte {
		var b []byte
		for _, slot := range group {
			b = appendCommand(b, []byte("CLUSTER"), []byte("SETSLOT"), []byte(strconv.Itoa(slot)), []byte(action), []byte(id))
		}
		return b
	}
	if err := ctl.callMany(setslots("IMPORTING", myID), len(group), m.timeout); err != nil {
		return fmt.Errorf("SETSLOT IMPORTING on target: %w", err)
	}
	if err := n.setSlots(group, cluster.SlotMigrating, targetID); err != nil {
		return fmt.Errorf("SETSLOT MIGRATING: %w", err)
	}
	for {
		moved, more, err := n.migrateSlotBatch(req, group)
		n.mu.Lock()
		m.keys += int64(moved)
		n.mu.Unlock()
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	if err := ctl.callMany(setslots("NODE", targetID), len(group), m.timeout); err != nil {
		return fmt.Errorf("SETSLOT NODE on target: %w", err)
	}
	if err := n.setSlots(group, cluster.SlotNode, targetID); err != nil {
		return fmt.Errorf("SETSLOT NODE: %w", err)
	}
	return nil
}

// setSlots applies one SETSLOT action to every slot of the group on this
// node, taking the node lock per slot so that clients interleave, then
// waits once until nodes.conf holds them all (one write for the group,
// without any lock held).
func (n *Node) setSlots(group []int, action cluster.SlotAction, id string) error {
	var t cluster.ConfigTicket
	for _, slot := range group {
		n.mu.Lock()
		ts, err := n.cluster.SetSlot(slot, action, id, n.dbs[0].CountInSlot(slot))
		n.mu.Unlock()
		if err != nil {
			return fmt.Errorf("slot %d: %w", slot, err)
		}
		t = t.Max(ts)
	}
	return n.cluster.WaitConfig(t)
}

// migrateSlotBatch moves up to migrateSlotsBatch keys of the group's
// slots; more is false when they were all empty.
func (n *Node) migrateSlotBatch(req *migrateRequest, group []int) (moved int, more bool, err error) {
	n.mu.Lock()
	if n.cluster == nil {
		n.mu.Unlock()
		return 0, false, errMigrateSlotsAborted
	}
	db := n.dbs[0]
	now := time.Now().UnixMilli()
	var expired []string
	j := &migrateJob{n: n, cl: &Client{}, cmd: &Command{}, db: 0, req: req, cluster: true}
	for _, slot := range group {
		if !n.cluster.Route(slot).Mine {
			n.mu.Unlock()
			return 0, false, errMigrateSlotsAborted
		}
		db.KeysInSlot(slot, func(k string, e *store.Entry) bool {
			if e.Expire != 0 && e.Expire <= now {
				expired = append(expired, k)
				return true
			}
			j.items = append(j.items, &migrateItem{key: k})
			return len(j.items) < migrateSlotsBatch
		})
		if len(j.items) >= migrateSlotsBatch {
			break
		}
	}
	for _, k := range expired {
		db.Lookup(k) // lazy expiry deletes (and propagates) it
	}
	if len(j.items) == 0 {
		left := 0
		for _, slot := range group {
			left += db.CountInSlot(slot)
		}
		n.mu.Unlock()
		if left > 0 {
			return 0, false, fmt.Errorf("%d keys left in slots after migration", left)
		}
		return 0, false, nil
	}
	j.snapshotLocked(j.items, now)
	n.mu.Unlock()
	var r Reply
	j.runUnlocked(&r)
	switch {
	case j.targetErr != "":
		return 0, false, errors.New("target replied with error: " + j.targetErr)
	case j.ioErr != "":
		return 0, false, errors.New(j.ioErr)
	}
	return len(j.items), true, nil
}

// callMany sends pipelined commands and expects count replies, none an
// error.
func (mc *migrateConn) callMany(cmds []byte, count int, timeout time.Duration) error {
	if err := mc.write(cmds, timeout); err != nil {
		return err
	}
	var first error
	for i := 0; i < count; i++ {
		line, err := mc.readLine(timeout)
		if err != nil {
			return err
		}
		if line[0] == '-' && first == nil {
			first = errors.New(string(line[1:]))
		}
	}
	return first
}

// call sends one command and reads a simple, integer or bulk reply.
func (mc *migrateConn) call(cmd []byte, timeout time.Duration) (string, error) {
	if err := mc.write(cmd, timeout); err != nil {
		return "", err
	}
	line, err := mc.readLine(timeout)
	if err != nil {
		return "", err
	}
	switch line[0] {
	case '-':
		return "", errors.New(string(line[1:]))
	case '$':
		size, _ := strconv.Atoi(string(line[1:]))
		if size < 0 {
			return "", nil
		}
		b, err := mc.readLine(timeout)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return string(line[1:]), nil
}
