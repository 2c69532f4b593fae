package cluster

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/bits"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slotvault/slotvault/slots"
)

// IDLen is the length of a node ID: 40 hex characters, as Redis.
const IDLen = 40

// Flags are a node's flags, as CLUSTER NODES prints them.
type Flags uint16

// Node flags, in the order Redis prints them.
const (
	FlagMyself Flags = 1 << iota
	FlagMaster
	FlagSlave
	FlagPFail
	FlagFail
	FlagHandshake
	FlagNoAddr
	FlagMeet
	FlagMigrateTo
	FlagNoFailover
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagMyself, "myself"}, {FlagMaster, "master"}, {FlagSlave, "slave"},
	{FlagPFail, "fail?"}, {FlagFail, "fail"}, {FlagHandshake, "handshake"},
	{FlagNoAddr, "noaddr"}, {FlagNoFailover, "nofailover"},
}

// String renders flags the way CLUSTER NODES does ("noflags" when none).
func (f Flags) String() string {
	var parts []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			parts = append(parts, fn.name)
		}
	}
	if len(parts) == 0 {
		return "noflags"
	}
	return strings.Join(parts, ",")
}

// Errors returned by state operations; node turns them into Redis replies.
var (
	ErrLocked       = errors.New("cluster: configuration file already used by a different node")
	ErrCorruptConf  = errors.New("cluster: corrupted cluster config file")
	ErrUnknownNode  = errors.New("cluster: unknown node")
	ErrInvalidAddr  = errors.New("cluster: invalid node address")
	ErrClusterClose = errors.New("cluster: closed")
)

// Node is one node of the cluster as this node sees it. Every field is
// guarded by the Cluster lock.
type Node struct {
	ID          string
	Flags       Flags
	IP          string
	Port        int
	CPort       int
	Hostname    string
	ConfigEpoch uint64
	ReplOffset  int64

	// PPort is the plaintext client port of a node whose Port is its TLS
	// port (tls-cluster), 0 if unknown or none; learned from its bus
	// header (tls.go).
	PPort int

	// Master is the node this one replicates (nil for masters).
	Master   *Node
	Replicas []*Node

	slots    slots.Set
	numSlots int

	// Times in Unix milliseconds.
	Ctime        int64
	PingSent     int64
	PongReceived int64
	DataReceived int64
	FailTime     int64

	failReports map[*Node]int64 // reporter -> time of its last report
	// votedTime is when this node (a master) last voted for a replica of
	// this node (Redis's voted_time), in Unix ms.
	votedTime int64
	// orphanedTime is since when this master (with slots) has had no
	// working replica, 0 when it has one (replica migration).
	orphanedTime int64

	link        *link // outbound
	inboundLink *link

	// addr caches "ip:port" for redirections.
	addr string
}

// NumSlots is the number of slots the node serves.
func (n *Node) NumSlots() int { return n.numSlots }

// IsMaster reports the master flag.
func (n *Node) IsMaster() bool { return n.Flags&FlagMaster != 0 }

// IsReplica reports the slave flag.
func (n *Node) IsReplica() bool { return n.Flags&FlagSlave != 0 }

// Failed reports the fail flag.
func (n *Node) Failed() bool { return n.Flags&FlagFail != 0 }

// Addr is "ip:port", the address MOVED and ASK redirect to.
func (n *Node) Addr() string { return n.addr }

func (n *Node) setAddr(ip string, port, cport int) {
	n.IP, n.Port, n.CPort = ip, port, cport
	n.addr = net.JoinHostPort(ip, strconv.Itoa(port))
	if strings.IndexByte(ip, ':') < 0 {
		n.addr = ip + ":" + strconv.Itoa(port)
	}
}

// Settings are the tunables that CONFIG SET may change at run time.
type Settings struct {
	NodeTimeout         time.Duration
	RequireFullCoverage bool
	AllowReadsWhenDown  bool
	// Failover tunables: cluster-replica-validity-factor (0: any data
	// age), cluster-replica-no-failover, repl-ping-replica-period.
	ReplicaValidityFactor int
	ReplicaNoFailover     bool
	ReplPingPeriod        time.Duration
	// Replica migration: cluster-allow-replica-migration and
	// cluster-migration-barrier.
	AllowReplicaMigration bool
	MigrationBarrier      int
}

// Host is what the cluster needs from the node it runs in. Its methods are
// called without the cluster lock held.
type Host interface {
	// Settings returns the current tunables.
	Settings() Settings
	// Deliver hands a message published on another node to local
	// subscribers (shard: SPUBLISH).
	Deliver(channel, message []byte, shard bool)
}

// Config is what a cluster needs at start.
type Config struct {
	// ConfigFile is the path of nodes.conf.
	ConfigFile string
	// Port is the client port; BusPort the cluster bus port (0 = Port+10000).
	Port    int
	BusPort int
	// Bind are the addresses to listen on for the bus ("" or "*" = all).
	Bind []string
	// Secret, when set, authenticates the cluster bus (busauth.go): peers
	// must know it to connect or be connected to.
	Secret []byte
	// Announced address, when it differs from what peers see.
	AnnounceIP      string
	AnnouncePort    int
	AnnounceBusPort int
	Logger          *slog.Logger
	Host            Host
	// TLS, when set, returns the bus's TLS configurations while
	// tls-cluster is on (nils otherwise); see tls.go.
	TLS func() (server, client *tls.Config)
	// PPort is this node's plaintext client port announced in a TLS
	// cluster (Redis's pport), 0 for none.
	PPort int
}

// Cluster is this node's view of the cluster and its bus endpoint. Its
// methods take the cluster lock; see doc.go for the lock order.
type Cluster struct {
	mu  sync.RWMutex
	cfg Config
	log *slog.Logger

	settings Settings // guarded by mu, refreshed by cron

	myself        *Node
	nodes         map[string]*Node
	currentEpoch  uint64
	lastVoteEpoch uint64

	slotOwner [slots.Count]*Node
	// migrating and importing change only through setMigratingLocked and
	// setImportingLocked, which keep openSlots (slots set in either).
	migrating [slots.Count]*Node
	importing [slots.Count]*Node
	openSlots slots.Set

	stateOK bool
	size    int
	// Bookkeeping of clusterUpdateState.
	firstStateCall    int64
	amongMinority     bool
	amongMinorityTime int64
	blacklist         map[string]int64 // forgotten node id -> expiry ms
	authWarn          authWarnings     // busauth.go

	statsSent [msgTypeCount]int64
	statsRecv [msgTypeCount]int64

	fo       failoverState
	lastCron int64 // when the cron last ran (ms); see StateOK

	// nodes.conf (confsave.go): confDirty marks changes not yet
	// requested; confGen numbers the requested ones, confSyncGen is the
	// last that asked for fsync; saveKick wakes the saver.
	confDirty   bool
	confGen     uint64
	confSyncGen uint64
	conf        *confWriter
	saveKick    chan struct{}
	lock        *fileLock

	bus      *bus
	inbound  map[*link]struct{} // accepted links
	closed   chan struct{}
	closeOne sync.Once
	wg       sync.WaitGroup
}

func nowMs() int64 { return time.Now().UnixMilli() }

// RandomID returns a new 40-hex node ID.
func RandomID() string {
	var b [IDLen / 2]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// ValidID reports whether s looks like a node ID.
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (c *Cluster) newNode(id string, flags Flags) *Node {
	if id == "" {
		id = RandomID()
	}
	n := &Node{ID: id, Flags: flags, Ctime: nowMs()}
	n.setAddr("", 0, 0)
	return n
}

func (c *Cluster) addNodeLocked(n *Node) { c.nodes[n.ID] = n }

// delNodeLocked removes n from the table: its slots, its failure reports,
// its links and its replica links.
func (c *Cluster) delNodeLocked(n *Node) {
	for j := 0; j < slots.Count; j++ {
		if c.importing[j] == n {
			c.setImportingLocked(j, nil)
		}
		if c.migrating[j] == n {
			c.setMigratingLocked(j, nil)
		}
		if c.slotOwner[j] == n {
			c.delSlotLocked(j)
		}
	}
	for _, o := range c.nodes {
		delete(o.failReports, n)
	}
	if n.Master != nil {
		n.Master.removeReplica(n)
	}
	for _, r := range n.Replicas {
		if r.Master == n {
			r.Master = nil
		}
	}
	c.freeLinksLocked(n)
	delete(c.nodes, n.ID)
}

func (c *Cluster) renameNodeLocked(n *Node, id string) {
	delete(c.nodes, n.ID)
	n.ID = id
	c.nodes[id] = n
}

func (m *Node) removeReplica(r *Node) {
	for i, x := range m.Replicas {
		if x == r {
			m.Replicas = append(m.Replicas[:i], m.Replicas[i+1:]...)
			break
		}
	}
	if len(m.Replicas) == 0 {
		m.Flags &^= FlagMigrateTo
	}
}

func (m *Node) addReplica(r *Node) {
	for _, x := range m.Replicas {
		if x == r {
			return
		}
	}
	m.Replicas = append(m.Replicas, r)
	m.Flags |= FlagMigrateTo
}

func (c *Cluster) addSlotLocked(n *Node, slot int) bool {
	if c.slotOwner[slot] != nil {
		return false
	}
	n.slots.Add(slot)
	n.numSlots++
	c.slotOwner[slot] = n
	return true
}

func (c *Cluster) delSlotLocked(slot int) bool {
	n := c.slotOwner[slot]
	if n == nil {
		return false
	}
	n.slots.Remove(slot)
	n.numSlots--
	c.slotOwner[slot] = nil
	return true
}

func (c *Cluster) delNodeSlotsLocked(n *Node) int {
	deleted := 0
	for j := 0; j < slots.Count; j++ {
		if n.slots.Has(j) {
			c.delSlotLocked(j)
			deleted++
		}
	}
	return deleted
}

// maxEpochLocked is the greatest configEpoch known (clusterGetMaxEpoch).
func (c *Cluster) maxEpochLocked() uint64 {
	max := c.currentEpoch
	for _, n := range c.nodes {
		if n.ConfigEpoch > max {
			max = n.ConfigEpoch
		}
	}
	return max
}

// setMasterLocked makes myself a replica of m (clusterSetMaster).
func (c *Cluster) setMasterLocked(m *Node) {
	me := c.myself
	if me.IsMaster() {
		me.Flags &^= FlagMaster | FlagMigrateTo
		me.Flags |= FlagSlave
		c.closeAllSlotsLocked()
	} else if me.Master != nil {
		me.Master.removeReplica(me)
	}
	me.Master = m
	m.addReplica(me)
	c.confDirty = true
}

// setNodeAsMasterLocked turns n into a master (clusterSetNodeAsMaster).
func (c *Cluster) setNodeAsMasterLocked(n *Node) {
	if n.IsMaster() {
		return
	}
	if n.Master != nil {
		n.Master.removeReplica(n)
		if n != c.myself {
			n.Flags |= FlagMigrateTo
		}
	}
	n.Flags &^= FlagSlave
	n.Flags |= FlagMaster
	n.Master = nil
	c.confDirty = true
}

// setMigratingLocked and setImportingLocked change a slot's migration
// state and keep openSlots, the slots with an entry in either table, so
// that rendering nodes.conf visits only those.
func (c *Cluster) setMigratingLocked(j int, n *Node) {
	c.migrating[j] = n
	c.markOpenLocked(j)
}

func (c *Cluster) setImportingLocked(j int, n *Node) {
	c.importing[j] = n
	c.markOpenLocked(j)
}

func (c *Cluster) markOpenLocked(j int) {
	if c.migrating[j] != nil || c.importing[j] != nil {
		c.openSlots.Add(j)
	} else {
		c.openSlots.Remove(j)
	}
}

func (c *Cluster) closeAllSlotsLocked() {
	for j := range c.migrating {
		c.setMigratingLocked(j, nil)
		c.setImportingLocked(j, nil)
	}
}

// nodeDescription renders one CLUSTER NODES line without the newline.
func (c *Cluster) nodeDescription(b *strings.Builder, n *Node) {
	b.Write(c.appendNodeDescription(nil, n))
}

// appendNodeDescription appends one CLUSTER NODES line without the
// newline. It runs for every node at every save of nodes.conf (once per
// SETSLOT in a reshard), so it writes numbers in place and walks the slot
// bitmap a word at a time.
func (c *Cluster) appendNodeDescription(b []byte, n *Node) []byte {
	b = append(b, n.ID...)
	b = append(b, ' ')
	b = append(b, n.IP...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(n.Port), 10)
	b = append(b, '@')
	b = strconv.AppendInt(b, int64(n.CPort), 10)
	if n.Hostname != "" {
		b = append(b, ',')
		b = append(b, n.Hostname...)
	}
	b = append(b, ' ')
	b = append(b, n.Flags.String()...)
	b = append(b, ' ')
	if n.Master != nil {
		b = append(b, n.Master.ID...)
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.PingSent, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.PongReceived, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, n.ConfigEpoch, 10)
	if n == c.myself || (n.link != nil && n.link.connected()) {
		b = append(b, " connected"...)
	} else {
		b = append(b, " disconnected"...)
	}
	b = appendSlotRanges(b, &n.slots)
	if n == c.myself {
		for j := 0; j < slots.Count; j++ {
			if c.openSlots[j>>6] == 0 {
				j |= 63 // no open slot in this word: skip its 64 slots
				continue
			}
			if m := c.migrating[j]; m != nil {
				b = append(b, " ["...)
				b = strconv.AppendInt(b, int64(j), 10)
				b = append(b, "->-"...)
				b = append(b, m.ID...)
				b = append(b, ']')
			} else if i := c.importing[j]; i != nil {
				b = append(b, " ["...)
				b = strconv.AppendInt(b, int64(j), 10)
				b = append(b, "-<-"...)
				b = append(b, i.ID...)
				b = append(b, ']')
			}
		}
	}
	return b
}

// appendSlotRanges appends " start-end" (" slot" for a single slot) for
// each maximal range of s, skipping empty and full 64-slot words.
func appendSlotRanges(b []byte, s *slots.Set) []byte {
	start := -1
	flush := func(end int) {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(start), 10)
		if end != start {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(end), 10)
		}
		start = -1
	}
	for w, word := range s {
		if (word == 0 && start < 0) || (word == ^uint64(0) && start >= 0) {
			continue
		}
		for bit := 0; bit < 64; bit++ {
			in := word&(1<<bit) != 0
			if in && start < 0 {
				start = w*64 + bit
			} else if !in && start >= 0 {
				flush(w*64 + bit - 1)
			}
		}
	}
	if start >= 0 {
		flush(slots.Count - 1)
	}
	return b
}

// sortedNodesLocked returns the nodes ordered by ID, for stable output.
func (c *Cluster) sortedNodesLocked() []*Node {
	out := make([]*Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// nodesDescriptionLocked renders CLUSTER NODES (and nodes.conf), skipping
// nodes with any flag in filter.
func (c *Cluster) nodesDescriptionLocked(filter Flags) string {
	b := make([]byte, 0, 256*len(c.nodes))
	for _, n := range c.sortedNodesLocked() {
		if n.Flags&filter != 0 {
			continue
		}
		b = c.appendNodeDescription(b, n)
		b = append(b, '\n')
	}
	return string(b)
}

// updateStateLocked recomputes cluster_state and cluster_size
// (clusterUpdateState).
func (c *Cluster) updateStateLocked() {
	now := nowMs()
	if c.firstStateCall == 0 {
		c.firstStateCall = now
	}
	// A restarted master waits before turning ok so the cluster can
	// reconfigure it first (CLUSTER_WRITABLE_DELAY).
	if c.myself.IsMaster() && !c.stateOK && now-c.firstStateCall < writableDelay {
		return
	}
	// Every assigned slot is counted in exactly one node's numSlots, so
	// full coverage is "the counts add up to 16384 and no node serving
	// slots is FAIL": O(nodes) rather than a walk of the slot table, as
	// this runs after every SETSLOT and slot change heard on the bus.
	ok := true
	size, reachable, assigned := 0, 0, 0
	for _, n := range c.nodes {
		assigned += n.numSlots
		if n.numSlots > 0 && n.Flags&FlagFail != 0 && c.settings.RequireFullCoverage {
			ok = false
		}
		if n.IsMaster() && n.numSlots > 0 {
			size++
			if n.Flags&(FlagFail|FlagPFail) == 0 {
				reachable++
			}
		}
	}
	if c.settings.RequireFullCoverage && assigned != slots.Count {
		ok = false
	}
	c.size = size
	if reachable < size/2+1 {
		ok = false
		c.amongMinority = true
		c.amongMinorityTime = now
	}
	if ok != c.stateOK {
		delay := c.settings.NodeTimeout.Milliseconds()
		if delay > 5000 {
			delay = 5000
		}
		if delay < 500 {
			delay = 500
		}
		// Only a master waits: it must not accept writes before it had a
		// chance to hear about a newer configuration.
		if ok && c.myself.IsMaster() && c.amongMinority && now-c.amongMinorityTime < delay {
			return
		}
		if ok {
			c.amongMinority = false
		}
		c.stateOK = ok
		c.log.Info("cluster state changed", "state", stateName(ok))
	}
}

const writableDelay = 2000

func stateName(ok bool) string {
	if ok {
		return "ok"
	}
	return "fail"
}

func popcount(b []byte) int {
	n := 0
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	return n
}
