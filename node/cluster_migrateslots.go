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

const migrateSlotsBatch = 500

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
	for _, r := range m.ranges {
		for slot := r.Start; slot <= r.End; slot++ {
			n.mu.Lock()
			m.current = slot
			n.mu.Unlock()
			if err := n.migrateOneSlot(m, ctl, req, slot, myID, targetID); err != nil {
				return fmt.Errorf("slot %d: %w", slot, err)
			}
			n.mu.Lock()
			m.done++
			n.mu.Unlock()
		}
	}
	return nil
}

func (n *Node) migrateOneSlot(m *slotMigration, ctl *migrateConn, req *migrateRequest, slot int, myID, targetID string) error {
	s := []byte(strconv.Itoa(slot))
	setslot := func(action, id string) []byte {
		return appendCommand(nil, []byte("CLUSTER"), []byte("SETSLOT"), s, []byte(action), []byte(id))
	}
	if _, err := ctl.call(setslot("IMPORTING", myID), m.timeout); err != nil {
		return fmt.Errorf("SETSLOT IMPORTING on target: %w", err)
	}
	n.mu.Lock()
	err := n.cluster.SetSlot(slot, cluster.SlotMigrating, targetID, n.dbs[0].CountInSlot(slot))
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("SETSLOT MIGRATING: %w", err)
	}
	for {
		moved, more, err := n.migrateSlotBatch(req, slot)
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
	if _, err := ctl.call(setslot("NODE", targetID), m.timeout); err != nil {
		return fmt.Errorf("SETSLOT NODE on target: %w", err)
	}
	n.mu.Lock()
	err = n.cluster.SetSlot(slot, cluster.SlotNode, targetID, n.dbs[0].CountInSlot(slot))
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("SETSLOT NODE: %w", err)
	}
	return nil
}

// migrateSlotBatch moves up to migrateSlotsBatch keys of slot; more is
// false when the slot was empty.
func (n *Node) migrateSlotBatch(req *migrateRequest, slot int) (moved int, more bool, err error) {
	n.mu.Lock()
	if n.cluster == nil || !n.cluster.Route(slot).Mine {
		n.mu.Unlock()
		return 0, false, errMigrateSlotsAborted
	}
	db := n.dbs[0]
	now := time.Now().UnixMilli()
	var expired []string
	j := &migrateJob{n: n, cl: &Client{}, cmd: &Command{}, db: 0, req: req, cluster: true}
	db.KeysInSlot(slot, func(k string, e *store.Entry) bool {
		if e.Expire != 0 && e.Expire <= now {
			expired = append(expired, k)
			return true
		}
		j.items = append(j.items, &migrateItem{key: k})
		return len(j.items) < migrateSlotsBatch
	})
	for _, k := range expired {
		db.Lookup(k) // lazy expiry deletes (and propagates) it
	}
	if len(j.items) == 0 {
		more = db.CountInSlot(slot) > 0
		n.mu.Unlock()
		if more {
			return 0, false, fmt.Errorf("keys left in slot after migration")
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
