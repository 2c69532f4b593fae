package backup

import (
	"context"
	"time"
)

// SnapshotSource gives a consistent image of the dataset. Persistence
// implements it (a cut or a stored snapshot at one log sequence number).
type SnapshotSource interface {
	// OpenSnapshot starts a point-in-time view of every key. It may take a
	// while (it can wait for a snapshot to be written); it must not stop
	// the node serving. The caller reads the view to the end or closes it.
	OpenSnapshot(ctx context.Context) (SnapshotReader, error)
}

// SnapshotReader is one consistent view.
type SnapshotReader interface {
	// Seq is the log sequence number the view is consistent with: it holds
	// the effect of every record <= Seq and of none after.
	Seq() uint64
	// Time is the moment the view is consistent with.
	Time() time.Time
	// DBs is the number of databases of the node.
	DBs() int
	// Next returns the next key, or io.EOF after the last. Keys come in
	// any order; each exactly once. The returned slices are valid until
	// the next call (a source may reuse their memory afterwards).
	Next() (Entry, error)
	// Close releases the view; safe to call more than once.
	Close() error
}

// LogSource gives the write log to ship. Persistence implements it.
type LogSource interface {
	// LastSeq returns the sequence number of the newest record that
	// ReadLog can return (written to the local log).
	LastSeq() uint64
	// ReadLog calls fn with each record whose sequence is in (after, upTo],
	// in order, stopping at fn's first error. It returns ErrLogGap when
	// record after+1 is no longer in the local log.
	ReadLog(after, upTo uint64, fn func(LogRecord) error) error
	// Retain tells the source that records with sequence > after are not
	// shipped yet: it must keep them on local disk (not drop them at a
	// log rewrite) until a later Retain moves the mark forward.
	Retain(after uint64)
}

// NodeInfo is the node's identity and place in the cluster at one moment.
type NodeInfo struct {
	NodeID       string
	ShardID      string
	Role         string // "master" or "replica"
	Slots        [][2]int
	ConfigEpoch  uint64
	CurrentEpoch uint64
	ReplID       string
	ReplOffset   int64
}

// TopologyNode is one node of a cluster as another node sees it.
type TopologyNode struct {
	ID          string   `json:"id"`
	Addr        string   `json:"addr"`
	Role        string   `json:"role"`
	MasterID    string   `json:"master_id,omitempty"`
	ConfigEpoch uint64   `json:"config_epoch"`
	Slots       [][2]int `json:"slots"`
}

// Topology is a node's view of the whole cluster.
type Topology struct {
	CurrentEpoch uint64         `json:"current_epoch"`
	Nodes        []TopologyNode `json:"nodes"`
}

// Identity returns the node's current identity; it is called from the
// agent's goroutines and must be safe for that (take the node lock inside).
type Identity func() NodeInfo

// TopologySource returns the node's current view of the cluster; same rules
// as Identity.
type TopologySource func() Topology
