package cluster

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

// voteFixture: myself a master with slots 0-99 (configEpoch 2), and a
// failed master F (slots 100-199, configEpoch 1) with replica R.
func voteFixture(t *testing.T) (c *Cluster, f, r *Node) {
	t.Helper()
	c, err := Open(Config{ConfigFile: filepath.Join(t.TempDir(), "nodes.conf"), Port: 7100}, Settings{NodeTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.mu.Lock()
	defer c.mu.Unlock()
	f = c.newNode("", FlagMaster|FlagFail)
	r = c.newNode("", FlagSlave)
	c.addNodeLocked(f)
	c.addNodeLocked(r)
	r.Master = f
	f.addReplica(r)
	for j := 0; j < 100; j++ {
		c.addSlotLocked(c.myself, j)
		c.addSlotLocked(f, 100+j)
	}
	c.myself.ConfigEpoch, f.ConfigEpoch = 2, 1
	c.currentEpoch = 3
	return c, f, r
}

func request(c *Cluster, r *Node, epoch uint64, mflags uint8) header {
	h := header{Sender: r.ID, CurrentEpoch: epoch, ConfigEpoch: r.Master.ConfigEpoch,
		Master: r.Master.ID, Slots: r.Master.slotBitmap(), MFlags: mflags}
	return h
}

func TestFailoverVoteRules(t *testing.T) {
	c, f, r := voteFixture(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	vote := func(h header) bool {
		before := c.lastVoteEpoch
		c.sendFailoverAuthIfNeededLocked(r, &h)
		return c.lastVoteEpoch != before
	}
	if vote(request(c, r, 2, 0)) {
		t.Fatal("voted for a request with an old currentEpoch")
	}
	f.Flags &^= FlagFail
	if vote(request(c, r, 3, 0)) {
		t.Fatal("voted while the master is not failing")
	}
	if !vote(request(c, r, 3, mflagForceAck)) {
		t.Fatal("refused a manual failover's forced request")
	}
	c.currentEpoch = 4
	f.Flags |= FlagFail
	if vote(request(c, r, 4, 0)) {
		t.Fatal("voted twice for the same master within 2 x node-timeout")
	}
	f.votedTime = 0
	h := request(c, r, 4, 0)
	h.ConfigEpoch = 0
	c.slotOwner[150].ConfigEpoch = 1
	bitmapSet(&h.Slots, 5) // a slot of mine, configEpoch 2 > 0
	if vote(h) {
		t.Fatal("voted for a claim older than a slot's owner")
	}
	if !vote(request(c, r, 4, 0)) {
		t.Fatal("refused a valid request")
	}
	if vote(request(c, r, 4, 0)) {
		t.Fatal("voted twice in one epoch")
	}
}

func TestReplicaRank(t *testing.T) {
	c, f, r := voteFixture(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	// Make myself a replica of f too, beside r.
	c.delNodeSlotsLocked(c.myself)
	c.setMasterLocked(f)
	c.fo.status.Offset = 100
	r.ReplOffset = 50
	if got := c.replicaRankLocked(); got != 0 {
		t.Fatalf("rank with the best offset = %d", got)
	}
	r.ReplOffset = 150
	if got := c.replicaRankLocked(); got != 1 {
		t.Fatalf("rank behind one replica = %d", got)
	}
	r.Flags |= FlagNoFailover
	if got := c.replicaRankLocked(); got != 0 {
		t.Fatalf("a nofailover replica counts in the rank: %d", got)
	}
}

func TestReplicaValidityFactor(t *testing.T) {
	c, f, _ := voteFixture(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delNodeSlotsLocked(c.myself)
	c.setMasterLocked(f)
	c.size = 2
	c.fo.status = ReplStatus{Replica: true, LinkDownSince: time.Now().Add(-time.Hour)}
	c.settings.ReplicaValidityFactor = 10
	c.settings.ReplPingPeriod = 10 * time.Second
	c.handleReplicaFailoverLocked(nowMs())
	if c.fo.authTime != 0 {
		t.Fatal("a replica with data an hour old scheduled an election")
	}
	c.settings.ReplicaValidityFactor = 0
	c.handleReplicaFailoverLocked(nowMs())
	if c.fo.authTime == 0 {
		t.Fatal("cluster-replica-validity-factor 0 did not allow the election")
	}
	c.fo.authTime = 0
	c.settings.ReplicaNoFailover = true
	c.failoverCronLocked()
	if c.fo.authTime != 0 {
		t.Fatal("cluster-replica-no-failover replica scheduled an election")
	}
}

func TestFailoverMessagesRoundTrip(t *testing.T) {
	h := header{Sender: RandomID(), CurrentEpoch: 9, ConfigEpoch: 4, ReplOffset: 1234, Master: RandomID(),
		Flags: FlagSlave, MFlags: mflagPaused | mflagForceAck, IP: "127.0.0.1", Port: 7101, CPort: 17101}
	bitmapSet(&h.Slots, 42)
	for _, typ := range []uint16{msgFailoverAuthRequest, msgFailoverAuthAck, msgMFStart, msgPing} {
		m := &message{Type: typ, Header: h}
		got, err := readMessage(bytes.NewReader(m.encode()))
		if err != nil {
			t.Fatalf("type %d: %v", typ, err)
		}
		if got.Type != typ || got.Header != h {
			t.Fatalf("type %d: header %+v, want %+v", typ, got.Header, h)
		}
	}
}

func TestReplicaMigrationBarrier(t *testing.T) {
	c, f, r := voteFixture(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	// f is alive with slots and orphaned (its replica r failed); myself a
	// replica of master m, beside r2.
	f.Flags &^= FlagFail
	r.Flags |= FlagFail
	m := c.newNode("", FlagMaster)
	r2 := c.newNode("ffffffffffffffffffffffffffffffffffffffff", FlagSlave)
	c.addNodeLocked(m)
	c.addNodeLocked(r2)
	for j := 0; j < 100; j++ {
		c.slotOwner[j] = nil
	}
	c.myself.numSlots = 0
	for j := 0; j < 100; j++ {
		c.addSlotLocked(m, j)
	}
	c.setMasterLocked(m)
	r2.Master = m
	m.addReplica(r2)
	c.stateOK = true
	c.settings.AllowReplicaMigration = true
	c.settings.MigrationBarrier = 1
	now := nowMs()
	c.replicaMigrationLocked(now)
	if c.myself.Master != m {
		t.Fatal("migrated before the orphan delay")
	}
	c.settings.MigrationBarrier = 2
	c.replicaMigrationLocked(now + migrationDelay + 1)
	if c.myself.Master != m {
		t.Fatal("migrated although it would leave the barrier's replicas")
	}
	c.settings.MigrationBarrier = 1
	c.replicaMigrationLocked(now + migrationDelay + 1)
	if c.myself.Master != f {
		t.Fatal("did not migrate to the orphaned master")
	}
}
