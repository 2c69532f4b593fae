package node

import (
	"time"

	"github.com/slotvault/slotvault/cluster"
)

// Cluster failover: the cluster decides roles (elections, CLUSTER
// REPLICATE, UPDATE messages) and drives the node's data replication
// through cluster.ReplicationHost, implemented here on clusterHost.

var _ cluster.ReplicationHost = clusterHost{}

func (h clusterHost) ReplStatus() cluster.ReplStatus {
	ri := h.n.Replication()
	return cluster.ReplStatus{
		Replica:       ri.Role == "slave",
		MasterAddr:    ri.MasterAddr,
		Offset:        ri.Offset,
		LinkUp:        ri.LinkUp,
		LastIO:        ri.LastIO,
		LinkDownSince: ri.LinkDownSince,
	}
}

func (h clusterHost) ReplicateFrom(addr string) error { return h.n.ReplicateFrom(addr) }

func (h clusterHost) PromoteToMaster() { h.n.PromoteToMaster() }

// PauseWrites pauses client writes as CLIENT PAUSE WRITE does (keeping a
// stronger pause in force) and returns the offset, final from now on:
// commands run under the node lock, so none is half done.
func (h clusterHost) PauseWrites(until time.Time) int64 {
	n := h.n
	n.mu.Lock()
	defer n.mu.Unlock()
	p := &n.pause
	now := time.Now()
	all := false
	if p.activeLocked(now) {
		all = p.all
		if p.end.After(until) {
			until = p.end
		}
	} else if p.wake == nil {
		p.wake = make(chan struct{})
	}
	p.end, p.all = until, all
	return n.repl.offset
}

func (h clusterHost) UnpauseWrites() {
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	h.n.unpauseLocked()
}

// cmdClusterFailover is CLUSTER FAILOVER [FORCE|TAKEOVER].
func cmdClusterFailover(c *Ctx) {
	mode := cluster.FailoverDefault
	switch {
	case len(c.Args) == 2:
	case len(c.Args) == 3 && c.ArgIs(2, "force"):
		mode = cluster.FailoverForce
	case len(c.Args) == 3 && c.ArgIs(2, "takeover"):
		mode = cluster.FailoverTakeover
	default:
		c.Error("ERR syntax error")
		return
	}
	replyOKOrErr(c, c.n.cluster.ManualFailover(mode))
}
