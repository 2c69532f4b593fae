package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/slots"
)

// Open loads (or creates) the node's identity from nodes.conf, holding its
// lock. The bus does not run until Start.
func Open(cfg Config, s Settings) (*Cluster, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Cluster{
		cfg:       cfg,
		log:       log,
		settings:  s,
		nodes:     map[string]*Node{},
		blacklist: map[string]int64{},
		inbound:   map[*link]struct{}{},
		closed:    make(chan struct{}),
		size:      1,
		conf:      newConfWriter(cfg.ConfigFile),
		saveKick:  make(chan struct{}, 1),
	}
	lock, err := lockConfig(cfg.ConfigFile)
	if err != nil {
		return nil, err
	}
	c.lock = lock
	c.mu.Lock()
	defer c.mu.Unlock()
	loaded, err := c.loadConfigLocked()
	if err != nil {
		lock.release()
		return nil, err
	}
	if !loaded {
		me := c.newNode("", FlagMyself|FlagMaster)
		c.myself = me
		c.addNodeLocked(me)
		log.Info("no cluster configuration found, I'm " + me.ID)
	} else {
		log.Info("node configuration loaded, I'm " + c.myself.ID)
	}
	// Our own ports come from the configuration, not from nodes.conf.
	me := c.myself
	port, cport := cfg.Port, c.busPort()
	if cfg.AnnouncePort != 0 {
		port = cfg.AnnouncePort
	}
	if cfg.AnnounceBusPort != 0 {
		cport = cfg.AnnounceBusPort
	}
	ip := me.IP
	if cfg.AnnounceIP != "" {
		ip = cfg.AnnounceIP
	}
	me.setAddr(ip, port, cport)
	me.PPort = cfg.PPort
	if err := c.saveConfigNowLocked(false); err != nil {
		lock.release()
		return nil, err
	}
	c.wg.Add(1)
	go c.saver()
	return c, nil
}

// Start opens the bus and starts the cron.
func (c *Cluster) Start() error {
	if err := c.listen(); err != nil {
		return fmt.Errorf("cluster: bus port %d: %w", c.busPort(), err)
	}
	c.wg.Add(1)
	go c.cron()
	return nil
}

// Close stops the bus, saves nodes.conf and releases its lock.
func (c *Cluster) Close() error {
	c.closeOne.Do(func() {
		c.mu.Lock()
		close(c.closed)
		if c.bus != nil {
			for _, l := range c.bus.listeners {
				l.Close()
			}
		}
		for _, n := range c.nodes {
			c.freeLinksLocked(n)
		}
		for l := range c.inbound {
			c.freeLinkLocked(l)
		}
		c.mu.Unlock()
		c.wg.Wait()
		c.mu.Lock()
		// Whatever the saver had not written or synced yet.
		if err := c.saveConfigNowLocked(false); err != nil {
			c.log.Error("can't update cluster config file", "err", err)
		}
		c.mu.Unlock()
		c.conf.close()
		c.lock.release()
	})
	return nil
}

// BusPort is the port the bus listens on.
func (c *Cluster) BusPort() int { return c.busPort() }

// afterChangeLocked runs after an administrative command (ADDSLOTS,
// FORGET, RESET, REPLICATE...) changed the configuration: recompute the
// state, save with fsync before answering, and tell the other nodes.
// These are rare; SETSLOT, run for every slot of a reshard, saves through
// the saver instead (SetSlot).
func (c *Cluster) afterChangeLocked() error {
	c.updateStateLocked()
	err := c.saveConfigNowLocked(false)
	c.broadcastPongLocked()
	return err
}

// ---- Routing ----

// Route is how this node serves one hash slot.
type Route struct {
	// Assigned is false when no node serves the slot.
	Assigned bool
	// Mine: this node serves the slot.
	Mine bool
	// OwnerAddr is "ip:port" of the serving node.
	OwnerAddr string
	// MigratingTo is the target address when this node is migrating the
	// slot away ("" otherwise).
	MigratingTo string
	// Importing: this node is importing the slot.
	Importing bool
	// MasterOwns: this node is a replica of the serving node.
	MasterOwns bool
	// OwnerPlainAddr and MigratingToPlain are the same addresses with
	// the plaintext port, for plaintext clients of a TLS cluster (they
	// equal the others when the port is unknown).
	OwnerPlainAddr   string
	MigratingToPlain string
}

// Route returns how slot is served.
func (c *Cluster) Route(slot int) Route {
	c.mu.RLock()
	defer c.mu.RUnlock()
	o := c.slotOwner[slot]
	if o == nil {
		return Route{}
	}
	r := Route{Assigned: true, Mine: o == c.myself, OwnerAddr: o.addr, OwnerPlainAddr: o.plainAddr()}
	if r.Mine {
		if m := c.migrating[slot]; m != nil {
			r.MigratingTo, r.MigratingToPlain = m.addr, m.plainAddr()
		}
	} else if c.importing[slot] != nil {
		r.Importing = true
	}
	r.MasterOwns = c.myself.IsReplica() && c.myself.Master == o
	return r
}

// StateOK reports cluster_state:ok, and whether reads are allowed when it
// is not.
func (c *Cluster) StateOK() (ok, readsWhenDown bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ok = c.stateOK
	// A node whose cron has not run for node-timeout (the process was
	// stopped or starved) knows nothing about the cluster's changes
	// meanwhile: it answers as down until the cron has caught up.
	if t := c.settings.NodeTimeout.Milliseconds(); ok && c.lastCron != 0 && t > 0 && nowMs()-c.lastCron > t {
		ok = false
	}
	return ok, c.settings.AllowReadsWhenDown
}

// ---- Views ----

// MyID is this node's ID.
func (c *Cluster) MyID() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.myself.ID
}

// IsReplica reports whether this node is a replica.
func (c *Cluster) IsReplica() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.myself.IsReplica()
}

// MyShardID is the ID of this node's shard: slotvault uses the master's
// node ID.
func (c *Cluster) MyShardID() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.myself.Master != nil {
		return c.myself.Master.ID
	}
	return c.myself.ID
}

// NodesText is CLUSTER NODES.
func (c *Cluster) NodesText() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nodesDescriptionLocked(0)
}

// InfoText is CLUSTER INFO.
func (c *Cluster) InfoText() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	assigned, ok, pfail, fail := 0, 0, 0, 0
	for j := 0; j < slots.Count; j++ {
		o := c.slotOwner[j]
		if o == nil {
			continue
		}
		assigned++
		switch {
		case o.Flags&FlagFail != 0:
			fail++
		case o.Flags&FlagPFail != 0:
			pfail++
		default:
			ok++
		}
	}
	myEpoch := c.myself.ConfigEpoch
	if c.myself.IsReplica() && c.myself.Master != nil {
		myEpoch = c.myself.Master.ConfigEpoch
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cluster_state:%s\r\n", stateName(c.stateOK))
	fmt.Fprintf(&b, "cluster_slots_assigned:%d\r\n", assigned)
	fmt.Fprintf(&b, "cluster_slots_ok:%d\r\n", ok)
	fmt.Fprintf(&b, "cluster_slots_pfail:%d\r\n", pfail)
	fmt.Fprintf(&b, "cluster_slots_fail:%d\r\n", fail)
	fmt.Fprintf(&b, "cluster_known_nodes:%d\r\n", len(c.nodes))
	fmt.Fprintf(&b, "cluster_size:%d\r\n", c.size)
	fmt.Fprintf(&b, "cluster_current_epoch:%d\r\n", c.currentEpoch)
	fmt.Fprintf(&b, "cluster_my_epoch:%d\r\n", myEpoch)
	var sent, recv int64
	for t, v := range c.statsSent {
		if v > 0 {
			fmt.Fprintf(&b, "cluster_stats_messages_%s_sent:%d\r\n", msgTypeNames[t], v)
			sent += v
		}
	}
	fmt.Fprintf(&b, "cluster_stats_messages_sent:%d\r\n", sent)
	for t, v := range c.statsRecv {
		if v > 0 {
			fmt.Fprintf(&b, "cluster_stats_messages_%s_received:%d\r\n", msgTypeNames[t], v)
			recv += v
		}
	}
	fmt.Fprintf(&b, "cluster_stats_messages_received:%d\r\n", recv)
	b.WriteString("total_cluster_links_buffer_limit_exceeded:0\r\n")
	return b.String()
}

// NodeInfo describes a node for CLUSTER SLOTS and SHARDS.
type NodeInfo struct {
	ID, IP, Hostname string
	Port             int
	PPort            int // plaintext port in a TLS cluster (0: none known)
	Master           bool
	Failed           bool
	ReplOffset       int64
}

func infoOf(n *Node) NodeInfo {
	return NodeInfo{ID: n.ID, IP: n.IP, Hostname: n.Hostname, Port: n.Port, PPort: n.PPort,
		Master: n.IsMaster(), Failed: n.Flags&FlagFail != 0, ReplOffset: n.ReplOffset}
}

// SlotRange is one entry of CLUSTER SLOTS: a range served by one master
// and the replicas that can serve reads.
type SlotRange struct {
	Start, End int
	Master     NodeInfo
	Replicas   []NodeInfo
}

// Slots is CLUSTER SLOTS, ordered by slot.
func (c *Cluster) Slots() []SlotRange {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []SlotRange
	var cur *Node
	start := 0
	for i := 0; i <= slots.Count; i++ {
		var o *Node
		if i < slots.Count {
			o = c.slotOwner[i]
		}
		if i < slots.Count && o == cur {
			continue
		}
		if cur != nil {
			r := SlotRange{Start: start, End: i - 1, Master: infoOf(cur)}
			for _, rep := range cur.Replicas {
				// As Redis: failed replicas and replicas that never
				// replicated anything (offset 0) are left out.
				if rep.Flags&FlagFail != 0 || rep.ReplOffset == 0 {
					continue
				}
				r.Replicas = append(r.Replicas, infoOf(rep))
			}
			out = append(out, r)
		}
		cur, start = o, i
	}
	return out
}

// Shard is one entry of CLUSTER SHARDS.
type Shard struct {
	Ranges []slots.Range
	Nodes  []NodeInfo
}

// Shards is CLUSTER SHARDS: one entry per master, with its replicas.
func (c *Cluster) Shards() []Shard {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Shard
	for _, n := range c.sortedNodesLocked() {
		if !n.IsMaster() || n.Flags&FlagHandshake != 0 {
			continue
		}
		s := Shard{Ranges: n.slots.Ranges(), Nodes: []NodeInfo{infoOf(n)}}
		for _, r := range n.Replicas {
			s.Nodes = append(s.Nodes, infoOf(r))
		}
		out = append(out, s)
	}
	return out
}

// LinkInfo is one entry of CLUSTER LINKS.
type LinkInfo struct {
	Direction  string
	Node       string
	CreateTime int64
	Events     string
	SendAlloc  int64
	SendUsed   int64
}

// Links is CLUSTER LINKS.
func (c *Cluster) Links() []LinkInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []LinkInfo
	add := func(l *link, dir string) {
		if l == nil || l.node == nil || !l.connected() {
			return
		}
		used := l.queued.Load()
		ev := "r"
		if used > 0 {
			ev = "rw"
		}
		out = append(out, LinkInfo{Direction: dir, Node: l.node.ID, CreateTime: l.ctime, Events: ev,
			SendAlloc: used, SendUsed: used})
	}
	for _, n := range c.sortedNodesLocked() {
		if n == c.myself {
			continue
		}
		add(n.link, "to")
		add(n.inboundLink, "from")
	}
	return out
}

// Assigned returns the set of slots that have an owner.
func (c *Cluster) Assigned() slots.Set {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var s slots.Set
	for j := 0; j < slots.Count; j++ {
		if c.slotOwner[j] != nil {
			s.Add(j)
		}
	}
	return s
}

// ---- Operations (CLUSTER subcommands) ----

// ReplyError is an error whose text is the Redis error reply.
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

func errf(format string, a ...any) error { return ReplyError("ERR " + fmt.Sprintf(format, a...)) }

// UpdateSlots assigns (or, with del, unassigns) every slot in set to
// myself (CLUSTER ADDSLOTS / DELSLOTS after their checks).
func (c *Cluster) UpdateSlots(set *slots.Set, del bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for j := 0; j < slots.Count; j++ {
		if !set.Has(j) {
			continue
		}
		if del {
			c.delSlotLocked(j)
		} else {
			c.setImportingLocked(j, nil)
			c.addSlotLocked(c.myself, j)
		}
	}
	return c.afterChangeLocked()
}

// FlushSlots unassigns every slot of myself.
func (c *Cluster) FlushSlots() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delNodeSlotsLocked(c.myself)
	return c.afterChangeLocked()
}

// Meet starts a handshake with ip:port (bus port cport).
func (c *Cluster) Meet(ip string, port, cport int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.startHandshakeLocked(ip, port, cport); err != nil {
		return err
	}
	// Connect right away rather than at the next cron tick.
	for _, n := range c.nodes {
		if n.Flags&FlagHandshake != 0 && n.link == nil && n.IP != "" {
			c.connectLocked(n)
		}
	}
	return nil
}

// forgetBan is how long a forgotten node is ignored in gossip.
const forgetBan = 60 * time.Second

// Forget removes a node and ignores it in gossip for 60 seconds.
func (c *Cluster) Forget(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[id]
	if n == nil {
		return errf("Unknown node %s", id)
	}
	if n == c.myself {
		return errf("I tried hard but I can't forget myself...")
	}
	if c.myself.IsReplica() && c.myself.Master == n {
		return errf("Can't forget my master!")
	}
	c.blacklist[id] = nowMs() + forgetBan.Milliseconds()
	c.delNodeLocked(n)
	return c.afterChangeLocked()
}

// Reset forgets every other node and every slot; hard also resets the
// epochs and takes a new ID (CLUSTER RESET).
func (c *Cluster) Reset(hard bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	me := c.myself
	if me.IsReplica() {
		c.setNodeAsMasterLocked(me)
	}
	c.closeAllSlotsLocked()
	for j := 0; j < slots.Count; j++ {
		c.delSlotLocked(j)
	}
	for _, n := range c.nodes {
		if n != me {
			c.delNodeLocked(n)
		}
	}
	if hard {
		c.currentEpoch = 0
		c.lastVoteEpoch = 0
		me.ConfigEpoch = 0
		c.renameNodeLocked(me, RandomID())
		c.log.Info("node hard reset, now I'm " + me.ID)
	}
	return c.afterChangeLocked()
}

// SetConfigEpoch is CLUSTER SET-CONFIG-EPOCH.
func (c *Cluster) SetConfigEpoch(epoch int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case epoch < 0:
		return errf("Invalid config epoch specified: %d", epoch)
	case len(c.nodes) > 1:
		return errf("The user can assign a config epoch only when the node does not know any other node.")
	case c.myself.ConfigEpoch != 0:
		return errf("Node config epoch is already non-zero")
	}
	c.myself.ConfigEpoch = uint64(epoch)
	if c.currentEpoch < uint64(epoch) {
		c.currentEpoch = uint64(epoch)
	}
	return c.afterChangeLocked()
}

// BumpEpoch is CLUSTER BUMPEPOCH: it reports whether the epoch changed and
// the resulting config epoch.
func (c *Cluster) BumpEpoch() (bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	bumped := c.bumpEpochLocked()
	if bumped {
		c.afterChangeLocked()
	}
	return bumped, c.myself.ConfigEpoch
}

func (c *Cluster) bumpEpochLocked() bool {
	max := c.maxEpochLocked()
	if c.myself.ConfigEpoch == 0 || c.myself.ConfigEpoch != max {
		c.currentEpoch++
		c.myself.ConfigEpoch = c.currentEpoch
		return true
	}
	return false
}

// SaveConfig is CLUSTER SAVECONFIG.
func (c *Cluster) SaveConfig() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.saveConfigNowLocked(true); err != nil {
		return errf("error saving the cluster node config: %s", errors.Unwrap(err))
	}
	return nil
}

// CountFailureReports is CLUSTER COUNT-FAILURE-REPORTS.
func (c *Cluster) CountFailureReports(id string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[id]
	if n == nil {
		return 0, errf("Unknown node %s", id)
	}
	return c.countFailureReportsLocked(n), nil
}

// Replicate makes myself a replica of node id. dbEmpty tells whether the
// local dataset is empty (a master with keys or slots is refused).
func (c *Cluster) Replicate(id string, dbEmpty bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[id]
	if n == nil {
		return errf("Unknown node %s", id)
	}
	if n == c.myself {
		return errf("Can't replicate myself")
	}
	if n.IsReplica() {
		return errf("I can only replicate a master, not a replica.")
	}
	if c.myself.IsMaster() && (c.myself.numSlots != 0 || !dbEmpty) {
		return errf("To set a master the node must be empty and without assigned slots.")
	}
	c.setMasterLocked(n)
	return c.afterChangeLocked()
}

// Replicas is CLUSTER REPLICAS: the node description of each replica.
func (c *Cluster) Replicas(id string) ([]string, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.nodes[id]
	if n == nil {
		return nil, errf("Unknown node %s", id)
	}
	if n.IsReplica() {
		return nil, errf("The specified node is not a master")
	}
	out := make([]string, 0, len(n.Replicas))
	for _, r := range n.Replicas {
		var b strings.Builder
		c.nodeDescription(&b, r)
		out = append(out, b.String())
	}
	return out, nil
}

// SlotAction is a CLUSTER SETSLOT action.
type SlotAction int

// SETSLOT actions.
const (
	SlotMigrating SlotAction = iota
	SlotImporting
	SlotStable
	SlotNode
)

// SetSlot is CLUSTER SETSLOT. keysInSlot is the number of local keys in
// the slot (the node counts them under its own lock).
//
// As Redis, the change is saved before the reply but not here: the
// returned ticket is what the caller waits for (WaitConfig) once it has
// released its locks, so a reshard's SETSLOTs do not write nodes.conf
// under the cluster lock, and the SETSLOTs of one pipelined batch share a
// write. Only SETSLOT NODE that bumps the epoch asks for fsync
// (clusterBumpConfigEpochWithoutConsensus); only SETSLOT NODE ending an
// import on the new owner tells the other nodes at once (a PONG to all),
// as Redis: the other actions are local states, or reach the other nodes
// through the new owner's claim.
func (c *Cluster) SetSlot(slot int, action SlotAction, id string, keysInSlot int) (ConfigTicket, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	me := c.myself
	if me.IsReplica() {
		return ConfigTicket{}, errf("Please use SETSLOT only with masters.")
	}
	fsync, broadcast := false, false
	switch action {
	case SlotMigrating:
		if c.slotOwner[slot] != me {
			return ConfigTicket{}, errf("I'm not the owner of hash slot %d", slot)
		}
		n := c.nodes[id]
		if n == nil {
			return ConfigTicket{}, errf("I don't know about node %s", id)
		}
		if n.IsReplica() {
			return ConfigTicket{}, errf("Target node is not a master")
		}
		c.setMigratingLocked(slot, n)
	case SlotImporting:
		if c.slotOwner[slot] == me {
			return ConfigTicket{}, errf("I'm already the owner of hash slot %d", slot)
		}
		n := c.nodes[id]
		if n == nil {
			return ConfigTicket{}, errf("I don't know about node %s", id)
		}
		if n.IsReplica() {
			return ConfigTicket{}, errf("Target node is not a master")
		}
		c.setImportingLocked(slot, n)
	case SlotStable:
		c.setImportingLocked(slot, nil)
		c.setMigratingLocked(slot, nil)
	case SlotNode:
		n := c.nodes[id]
		if n == nil {
			return ConfigTicket{}, errf("Unknown node %s", id)
		}
		if n.IsReplica() {
			return ConfigTicket{}, errf("Target node is not a master")
		}
		if c.slotOwner[slot] == me && n != me && keysInSlot != 0 {
			return ConfigTicket{}, errf("Can't assign hashslot %d to a different node while I still hold keys for this hash slot.", slot)
		}
		if keysInSlot == 0 && c.migrating[slot] != nil {
			c.setMigratingLocked(slot, nil)
		}
		wasMine := c.slotOwner[slot] == me
		c.delSlotLocked(slot)
		c.addSlotLocked(n, slot)
		if wasMine && n != me && me.numSlots == 0 {
			c.log.Info("lost my last slot: configuring myself as a replica", "master", n.ID)
			c.setMasterLocked(n)
			c.confDirty, fsync = false, true // a role change: saved with fsync
		}
		if n == me && c.importing[slot] != nil {
			fsync = c.bumpEpochLocked() || fsync
			c.setImportingLocked(slot, nil)
			// After importing the slot, let the other nodes know at once
			// (Redis does so only here; redis-cli tells every master
			// itself with SETSLOT NODE).
			broadcast = true
		}
	}
	c.updateStateLocked()
	t := c.requestSaveWaitedLocked(fsync)
	if broadcast {
		c.broadcastPongLocked()
	}
	return t, nil
}

// ---- Pub/Sub over the bus ----

// Publish sends a PUBLISH to every node (shard: SPUBLISH, to the nodes of
// this node's shard only).
func (c *Cluster) Publish(channel, payload []byte, shard bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	typ := msgPublish
	if shard {
		typ = msgPublishShard
	}
	m := &message{Type: typ, Header: c.headerLocked(), Channel: channel, Payload: payload}
	if !shard {
		c.broadcastLocked(m)
		return
	}
	master := c.myself
	if master.IsReplica() && master.Master != nil {
		master = master.Master
	}
	frame := m.encode()
	for _, n := range append([]*Node{master}, master.Replicas...) {
		if n == c.myself || n.link == nil || !n.link.connected() {
			continue
		}
		c.statsSent[typ]++
		n.link.send(frame)
	}
}

// ParseMeetAddr validates CLUSTER MEET arguments the way Redis does.
func ParseMeetAddr(ip, port, cport string) (string, int, int, error) {
	p, err := strconv.ParseInt(port, 10, 64)
	if err != nil {
		return "", 0, 0, errf("Invalid TCP base port specified: %s", port)
	}
	cp := p + busPortIncr
	if cport != "" {
		if cp, err = strconv.ParseInt(cport, 10, 64); err != nil {
			return "", 0, 0, errf("Invalid TCP bus port specified: %s", cport)
		}
	}
	if net.ParseIP(ip) == nil || p <= 0 || p > 65535 || cp <= 0 || cp > 65535 {
		return "", 0, 0, errf("Invalid node address specified: %s:%s", ip, port)
	}
	return ip, int(p), int(cp), nil
}
