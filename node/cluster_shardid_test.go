package node_test

import (
	"testing"

	"github.com/slotvault/slotvault/internal/testutil"
)

// TestClusterMyShardID: a master's shard is named after itself (CLUSTER
// MYSHARDID, Redis 7.2), and the answer is a 40-hex id.
func TestClusterMyShardID(t *testing.T) {
	n := testutil.StartInProc(t, "cluster-enabled yes", "cluster-config-file "+t.TempDir()+"/nodes.conf")
	c := testutil.Dial(t, n.Addr())
	id, err := c.Do("CLUSTER", "MYID")
	if err != nil || len(id.Str) != 40 {
		t.Fatalf("CLUSTER MYID = %v, %v", id, err)
	}
	shard, err := c.Do("CLUSTER", "MYSHARDID")
	if err != nil || shard.Str != id.Str {
		t.Fatalf("CLUSTER MYSHARDID = %v (%v), want the master's own id %s", shard, err, id.Str)
	}
}
