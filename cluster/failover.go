package cluster

import (
	"math/rand"
	"time"
)

// Replica failover, as Redis Cluster does it (clusterHandleSlaveFailover,
// clusterSendFailoverAuthIfNeeded, the manual failover of CLUSTER
// FAILOVER).
//
// The cluster decides roles; the node holding the data follows them. The
// cron reads the node's replication state (ReplicationHost.ReplStatus)
// before taking the cluster lock, and after releasing it applies the
// role the cluster table gives myself: a replica replicates from its
// master's address, a master that still replicates is promoted, a master
// in a manual failover pauses its writers. Nothing calls the host with the
// cluster lock held.

// ReplicationHost is what failover needs from the node, optional beside
// Host: a Host that implements it gets its data replication driven by the
// cluster roles.
type ReplicationHost interface {
	// ReplStatus returns the node's replication state.
	ReplStatus() ReplStatus
	// ReplicateFrom makes the node a replica of the master at addr
	// ("ip:port"); a no-op when it already is.
	ReplicateFrom(addr string) error
	// PromoteToMaster stops replicating and accepts writes.
	PromoteToMaster()
	// PauseWrites holds client writes until until (or UnpauseWrites) and
	// returns the replication offset, final once writes are paused.
	PauseWrites(until time.Time) int64
	// UnpauseWrites lifts PauseWrites.
	UnpauseWrites()
}

// ReplStatus is the node's replication state as failover needs it.
type ReplStatus struct {
	Replica    bool
	MasterAddr string
	// Offset is master_repl_offset (a replica: how much of its master's
	// stream it applied).
	Offset int64
	LinkUp bool
	// LastIO is when the master last sent data; LinkDownSince when the
	// link went down (zero: never connected).
	LastIO        time.Time
	LinkDownSince time.Time
}

// mfTimeout bounds a manual failover (CLUSTER_MF_TIMEOUT).
const mfTimeout = 5000

// failoverState is the election and manual failover bookkeeping, guarded
// by the cluster lock.
type failoverState struct {
	status ReplStatus // last read by the cron

	authTime  int64 // when the election may start / started (ms)
	authCount int   // votes received
	authSent  bool  // request sent for this election
	authRank  int
	authEpoch uint64 // epoch of the request sent

	// Manual failover. mfEnd != 0 while one runs (both sides).
	mfEnd          int64
	mfReplica      *Node // master side: the replica taking over
	mfPaused       bool  // master side: writes paused by us
	mfMasterOffset int64 // replica side: the paused master's offset (-1 unknown)
	mfCanStart     bool  // replica side: may run the election now
}

func (c *Cluster) replHost() ReplicationHost {
	rh, _ := c.cfg.Host.(ReplicationHost)
	return rh
}

// ManualFailoverMode is CLUSTER FAILOVER's option.
type ManualFailoverMode int

// CLUSTER FAILOVER modes.
const (
	FailoverDefault ManualFailoverMode = iota
	FailoverForce
	FailoverTakeover
)

// ManualFailover is CLUSTER FAILOVER, run on a replica.
func (c *Cluster) ManualFailover(mode ManualFailoverMode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	me := c.myself
	if me.IsMaster() {
		return errf("You should send CLUSTER FAILOVER to a replica")
	}
	m := me.Master
	if m == nil {
		return errf("I'm a replica but my master is unknown to me")
	}
	if mode == FailoverDefault && (m.Failed() || m.link == nil || !m.link.connected()) {
		return errf("Master is down or failed, please use CLUSTER FAILOVER FORCE")
	}
	c.resetManualFailoverLocked()
	c.fo.mfEnd = nowMs() + mfTimeout
	switch mode {
	case FailoverTakeover:
		// No election: take a new configEpoch unilaterally.
		c.log.Info("taking over the master (user request)")
		c.currentEpoch++
		me.ConfigEpoch = c.currentEpoch
		c.replaceMasterLocked()
	case FailoverForce:
		c.log.Info("forced failover user request accepted")
		c.fo.mfCanStart = true
		// Start the election at once rather than at the next tick.
		c.fo.authTime = 0
	default:
		c.log.Info("manual failover user request accepted")
		c.sendLocked(m.link, &message{Type: msgMFStart, Header: c.headerLocked()})
	}
	return nil
}

func (c *Cluster) resetManualFailoverLocked() {
	c.fo.mfEnd = 0
	c.fo.mfReplica = nil
	c.fo.mfCanStart = false
	c.fo.mfMasterOffset = -1
}

// noteManualFailoverLocked: a replica in a manual failover learns its
// paused master's final offset from the master's PING/PONG.
func (c *Cluster) noteManualFailoverLocked(sender *Node, h *header) {
	me := c.myself
	if c.fo.mfEnd != 0 && me.IsReplica() && me.Master == sender &&
		h.MFlags&mflagPaused != 0 && c.fo.mfMasterOffset == -1 {
		c.fo.mfMasterOffset = h.ReplOffset
		c.log.Info("received replication offset for paused master manual failover", "offset", h.ReplOffset)
	}
}

// processFailoverMsgLocked handles FAILOVER_AUTH_REQUEST, _ACK, MFSTART.
func (c *Cluster) processFailoverMsgLocked(m *message, sender *Node) {
	if sender == nil {
		return
	}
	h := &m.Header
	switch m.Type {
	case msgFailoverAuthRequest:
		c.sendFailoverAuthIfNeededLocked(sender, h)
	case msgFailoverAuthAck:
		if sender.IsMaster() && sender.numSlots > 0 && h.CurrentEpoch >= c.fo.authEpoch {
			c.fo.authCount++
			c.log.Info("failover auth granted", "by", sender.ID, "votes", c.fo.authCount)
		}
	case msgMFStart:
		if sender.Master != c.myself || !c.myself.IsMaster() {
			return
		}
		c.resetManualFailoverLocked()
		c.fo.mfEnd = nowMs() + mfTimeout
		c.fo.mfReplica = sender
		c.log.Info("manual failover requested by replica", "replica", sender.ID)
	}
}

// sendFailoverAuthIfNeededLocked votes for a replica asking to replace its
// failed master: once per epoch, once per master in twice the node
// timeout, and only when no slot it claims is served with a newer epoch.
func (c *Cluster) sendFailoverAuthIfNeededLocked(node *Node, h *header) {
	me := c.myself
	if me.IsReplica() || me.numSlots == 0 {
		return
	}
	if h.CurrentEpoch < c.currentEpoch {
		return
	}
	if c.lastVoteEpoch == c.currentEpoch {
		return
	}
	m := node.Master
	if !node.IsReplica() || m == nil {
		return
	}
	if !m.Failed() && h.MFlags&mflagForceAck == 0 {
		return
	}
	now := nowMs()
	if now-m.votedTime < c.settings.NodeTimeout.Milliseconds()*2 {
		return
	}
	for j := 0; j < len(c.slotOwner); j++ {
		if !bitmapHas(&h.Slots, j) {
			continue
		}
		if o := c.slotOwner[j]; o != nil && o.ConfigEpoch > h.ConfigEpoch {
			return
		}
	}
	c.lastVoteEpoch = c.currentEpoch
	m.votedTime = now
	// The vote must be on disk before the ACK leaves: a restarted master
	// must not vote twice in one epoch.
	if err := c.saveConfigNowLocked(false); err != nil {
		c.log.Error("can't save the vote", "err", err)
		return
	}
	c.log.Info("failover auth granted", "to", node.ID, "epoch", c.currentEpoch)
	c.sendLocked(node.link, &message{Type: msgFailoverAuthAck, Header: c.headerLocked()})
}

// replicaRankLocked is the number of replicas of my master with a greater
// replication offset (those that may fail over).
func (c *Cluster) replicaRankLocked() int {
	me := c.myself
	if me.Master == nil {
		return 0
	}
	rank := 0
	for _, r := range me.Master.Replicas {
		if r != me && r.Flags&FlagNoFailover == 0 && r.ReplOffset > c.fo.status.Offset {
			rank++
		}
	}
	return rank
}

// failoverCronLocked runs each cron tick (clusterHandleManualFailover and
// clusterHandleSlaveFailover on a replica; the manual failover's pings
// and timeout on a master).
func (c *Cluster) failoverCronLocked() {
	now := nowMs()
	me := c.myself
	if f := me.Flags; c.settings.ReplicaNoFailover {
		me.Flags |= FlagNoFailover
		c.confDirty = c.confDirty || f != me.Flags
	} else {
		me.Flags &^= FlagNoFailover
		c.confDirty = c.confDirty || f != me.Flags
	}
	if c.fo.mfEnd != 0 && c.fo.mfEnd < now {
		c.log.Info("manual failover timed out")
		c.resetManualFailoverLocked()
	}
	if me.IsMaster() {
		if c.fo.mfEnd != 0 && c.fo.mfReplica != nil && c.fo.mfPaused && c.fo.mfReplica.link != nil {
			c.sendPingLocked(c.fo.mfReplica.link, msgPing)
		}
		return
	}
	if c.fo.mfEnd != 0 && !c.fo.mfCanStart && c.fo.mfMasterOffset >= 0 &&
		c.fo.status.Offset >= c.fo.mfMasterOffset {
		c.fo.mfCanStart = true
		c.log.Info("all master replication stream processed, manual failover can start")
	}
	c.handleReplicaFailoverLocked(now)
	if me.IsReplica() {
		c.replicaMigrationLocked(now)
	}
}

// migrationDelay is how long a master must stay orphaned before a replica
// migrates to it (CLUSTER_SLAVE_MIGRATION_DELAY).
const migrationDelay = 5000

func okReplicas(m *Node) int {
	n := 0
	for _, r := range m.Replicas {
		if r.Flags&(FlagFail|FlagPFail) == 0 {
			n++
		}
	}
	return n
}

// replicaMigrationLocked moves myself to an orphaned master (one with
// slots that has lost its working replicas) when my master keeps more
// than cluster-migration-barrier working replicas, I have the smallest
// ID among them, and my master has the most replicas of all masters
// (clusterCron's orphaned-master scan and clusterHandleSlaveMigration).
func (c *Cluster) replicaMigrationLocked(now int64) {
	me := c.myself
	my := me.Master
	if my == nil || !c.stateOK {
		return
	}
	maxReplicas, mine := 0, 0
	var target *Node
	for _, n := range c.nodes {
		if !n.IsMaster() || n.Flags&(FlagFail|FlagPFail) != 0 {
			continue
		}
		ok := okReplicas(n)
		if ok == 0 && n.numSlots > 0 && n.Flags&FlagMigrateTo != 0 {
			if n.orphanedTime == 0 {
				n.orphanedTime = now
			}
			if target == nil || n.orphanedTime < target.orphanedTime {
				target = n
			}
		} else {
			n.orphanedTime = 0
		}
		if ok > maxReplicas {
			maxReplicas = ok
		}
		if n == my {
			mine = ok
		}
	}
	if target == nil || maxReplicas < 2 || mine != maxReplicas || !c.settings.AllowReplicaMigration ||
		mine <= c.settings.MigrationBarrier {
		return
	}
	for _, r := range my.Replicas {
		if r.Flags&(FlagFail|FlagPFail) == 0 && r.ID < me.ID {
			return // another replica is the candidate
		}
	}
	if now-target.orphanedTime <= migrationDelay {
		return
	}
	c.log.Info("migrating to orphaned master", "master", target.ID)
	c.setMasterLocked(target)
	target.orphanedTime = 0
	c.updateStateLocked()
	c.broadcastPongLocked()
}

func (c *Cluster) handleReplicaFailoverLocked(now int64) {
	me := c.myself
	m := me.Master
	timeout := c.settings.NodeTimeout.Milliseconds()
	if timeout <= 0 {
		timeout = 15000
	}
	authTimeout := timeout * 2
	if authTimeout < 2000 {
		authTimeout = 2000
	}
	authRetry := authTimeout * 2
	needed := c.size/2 + 1
	manual := c.fo.mfEnd != 0 && c.fo.mfCanStart
	if m == nil || (!m.Failed() && !manual) || (me.Flags&FlagNoFailover != 0 && !manual) || m.numSlots == 0 {
		return
	}
	st := &c.fo.status
	var dataAge int64
	switch {
	case st.LinkUp && !st.LastIO.IsZero():
		dataAge = now - st.LastIO.UnixMilli()
	case !st.LinkDownSince.IsZero():
		dataAge = now - st.LinkDownSince.UnixMilli()
	default:
		dataAge = now
	}
	if dataAge > timeout {
		dataAge -= timeout
	}
	if f := int64(c.settings.ReplicaValidityFactor); f > 0 && !manual {
		ping := c.settings.ReplPingPeriod.Milliseconds()
		if ping <= 0 {
			ping = 10000
		}
		if dataAge > ping+timeout*f {
			return
		}
	}
	if now-c.fo.authTime > authRetry {
		c.fo.authTime = now + 500 + rand.Int63n(500)
		c.fo.authCount = 0
		c.fo.authSent = false
		c.fo.authRank = c.replicaRankLocked()
		c.fo.authTime += int64(c.fo.authRank) * 1000
		if manual {
			c.fo.authTime = now
			c.fo.authRank = 0
		}
		c.log.Info("start of election delayed", "ms", c.fo.authTime-now, "rank", c.fo.authRank,
			"offset", st.Offset)
		// Tell the other replicas our offset, so they rank themselves.
		for _, r := range m.Replicas {
			if r != me && r.link != nil {
				c.sendPingLocked(r.link, msgPong)
			}
		}
		return
	}
	if !c.fo.authSent && !manual {
		if rank := c.replicaRankLocked(); rank > c.fo.authRank {
			c.fo.authTime += int64(rank-c.fo.authRank) * 1000
			c.fo.authRank = rank
		}
	}
	if now < c.fo.authTime || now-c.fo.authTime > authTimeout {
		return
	}
	if !c.fo.authSent {
		c.currentEpoch++
		c.fo.authEpoch = c.currentEpoch
		c.log.Info("starting a failover election", "epoch", c.currentEpoch)
		h := c.headerLocked()
		if manual {
			h.MFlags |= mflagForceAck
		}
		c.broadcastLocked(&message{Type: msgFailoverAuthRequest, Header: h})
		c.fo.authSent = true
		c.confDirty = true
		return
	}
	if c.fo.authCount >= needed {
		c.log.Info("failover election won", "votes", c.fo.authCount, "epoch", c.fo.authEpoch)
		if me.ConfigEpoch < c.fo.authEpoch {
			me.ConfigEpoch = c.fo.authEpoch
		}
		c.replaceMasterLocked()
	}
}

// replaceMasterLocked turns myself into the master of my master's slots
// (clusterFailoverReplaceYourMaster); the cron then promotes the node's
// data and the PONG broadcast re-points everybody.
func (c *Cluster) replaceMasterLocked() {
	me := c.myself
	old := me.Master
	if me.IsMaster() || old == nil {
		return
	}
	c.setNodeAsMasterLocked(me)
	for j := 0; j < len(c.slotOwner); j++ {
		if c.slotOwner[j] == old {
			c.delSlotLocked(j)
			c.addSlotLocked(me, j)
		}
	}
	c.resetManualFailoverLocked()
	c.fo.authTime = 0
	c.updateStateLocked()
	c.requestSaveLocked(true)
	c.broadcastPongLocked()
}

// replActions are what the cron asks of the node after a tick.
type replActions struct {
	replicateFrom string
	promote       bool
	pause         time.Time
	unpause       bool
}

// replActionsLocked compares the role the cluster gives myself with the
// node's replication state.
func (c *Cluster) replActionsLocked() replActions {
	var a replActions
	me, st := c.myself, &c.fo.status
	if me.IsReplica() && me.Master != nil && me.Master.Port != 0 && me.Master.IP != "" {
		if addr := me.Master.Addr(); !st.Replica || st.MasterAddr != addr {
			a.replicateFrom = addr
		}
	} else if me.IsMaster() && st.Replica {
		a.promote = true
	}
	if c.fo.mfEnd != 0 && me.IsMaster() && c.fo.mfReplica != nil && !c.fo.mfPaused {
		a.pause = time.Now().Add(2 * mfTimeout * time.Millisecond)
	}
	if c.fo.mfPaused && (c.fo.mfEnd == 0 || !me.IsMaster()) {
		a.unpause = true
		c.fo.mfPaused = false
	}
	return a
}

// runReplActions applies a, without the cluster lock.
func (c *Cluster) runReplActions(rh ReplicationHost, a replActions) {
	if a.promote {
		c.log.Info("promoting the data to master")
		rh.PromoteToMaster()
	}
	if a.replicateFrom != "" {
		c.log.Info("replicating from master", "addr", a.replicateFrom)
		if err := rh.ReplicateFrom(a.replicateFrom); err != nil {
			c.log.Error("can't replicate", "err", err)
		}
	}
	if a.unpause {
		rh.UnpauseWrites()
	}
	if !a.pause.IsZero() {
		off := rh.PauseWrites(a.pause)
		c.mu.Lock()
		if c.fo.mfEnd != 0 && c.myself.IsMaster() && c.fo.mfReplica != nil {
			c.fo.mfPaused = true
			c.myself.ReplOffset = off
			if l := c.fo.mfReplica.link; l != nil {
				c.sendPingLocked(l, msgPing)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		rh.UnpauseWrites()
	}
}

// resumeIfStalledLocked handles a cron that did not run for half the node
// timeout (the process was stopped or starved). Redis reads the bus before
// running its cron; here both resume together, so the pings pending
// before the stall are re-armed (a peer is PFAIL only after a whole
// node-timeout of silence we actually witnessed), and a master turns
// cluster_state fail and waits the rejoin delay before accepting writes
// again, time to hear about a failover that happened meanwhile.
func (c *Cluster) resumeIfStalledLocked() {
	now := nowMs()
	limit := c.settings.NodeTimeout.Milliseconds() / 2
	if limit < 500 {
		limit = 500
	}
	if c.lastCron == 0 || now-c.lastCron <= limit {
		return
	}
	c.log.Warn("cluster cron stalled, re-arming failure detection", "ms", now-c.lastCron)
	for _, n := range c.nodes {
		if n.PingSent != 0 {
			n.PingSent = now
		}
	}
	if c.myself.IsMaster() {
		c.stateOK = false
		c.amongMinority = true
		c.amongMinorityTime = now
	}
}
