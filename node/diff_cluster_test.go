package node_test

import (
	"strings"
	"testing"

	"github.com/slotvault/slotvault/internal/testutil"
)

// TestDiffClusterSingleNode compares a fresh single cluster node of each
// server: replies that carry no node ID or time must be identical.
func TestDiffClusterSingleNode(t *testing.T) {
	d := testutil.NewDiff(t, "cluster-enabled yes", "cluster-node-timeout 1000")
	d.Run(`
cluster keyslot foo
cluster keyslot {user1000}.following
cluster countkeysinslot 12182
cluster myid extra
cluster nodes extra
cluster addslots
cluster addslots x
cluster addslots -1
cluster addslots 16384
cluster addslots 1 2 2
cluster addslotsrange 1
cluster addslotsrange 1 2 3
cluster addslotsrange 5 4
cluster addslotsrange 0 x
cluster addslotsrange 0 16384
cluster delslots 5
cluster delslotsrange 5 6
cluster addslots 0 1 2 3
cluster addslots 3
cluster addslotsrange 10 20 15 30
cluster addslotsrange 100 200 300 400
cluster delslots 0 0
cluster delslotsrange 100 150 120 130
cluster delslotsrange 100 150
cluster countkeysinslot 16384
cluster countkeysinslot -1
cluster getkeysinslot 0 -1
cluster setslot 0
cluster setslot x stable
cluster setslot 0 bogus
cluster setslot 0 stable extra
cluster setslot 0 node
cluster setslot 0 node 0000000000000000000000000000000000000000
cluster setslot 0 migrating 0000000000000000000000000000000000000000
cluster setslot 5000 migrating 0000000000000000000000000000000000000000
cluster setslot 0 importing 0000000000000000000000000000000000000000
cluster setslot 5000 importing 0000000000000000000000000000000000000000
cluster setslot 0 stable
cluster meet
cluster meet 127.0.0.1
cluster meet 127.0.0.1 x
cluster meet 127.0.0.1 1 x
cluster meet nohost 1
cluster meet 127.0.0.1 0
cluster meet 127.0.0.1 70000
cluster meet 127.0.0.1 1 2 3
cluster forget 0000000000000000000000000000000000000000
cluster forget
cluster replicate 0000000000000000000000000000000000000000
cluster replicas 0000000000000000000000000000000000000000
cluster slaves 0000000000000000000000000000000000000000
cluster count-failure-reports 0000000000000000000000000000000000000000
cluster set-config-epoch x
cluster set-config-epoch -1
cluster set-config-epoch 5
cluster set-config-epoch 6
cluster bumpepoch
cluster bumpepoch
cluster reset bogus
cluster reset soft extra
cluster saveconfig
cluster links
cluster shards extra
cluster bogus
readonly
readwrite
readonly extra
asking
select 0
select 1
`)
	// Replies with this node's ID: compare their shape.
	for _, cmd := range [][]string{
		{"cluster", "info"}, {"cluster", "slots"}, {"cluster", "shards"},
	} {
		d.DoType(cmd...)
	}
	sv := d.SV
	r := d.Redis
	myID, _ := sv.Do("cluster", "myid")
	rID, _ := r.Do("cluster", "myid")
	if len(myID.Str) != 40 || len(rID.Str) != 40 {
		t.Fatalf("myid: %q / %q", myID.Str, rID.Str)
	}
	for _, args := range [][]string{
		{"cluster", "replicate", "ID"}, {"cluster", "forget", "ID"}, {"cluster", "replicas", "ID"},
		{"cluster", "count-failure-reports", "ID"}, {"cluster", "setslot", "0", "node", "ID"},
		{"cluster", "setslot", "0", "migrating", "ID"}, {"cluster", "setslot", "9000", "importing", "ID"},
		{"cluster", "setslot", "0", "importing", "ID"},
	} {
		a := append([]string(nil), args...)
		b := append([]string(nil), args...)
		a[len(a)-1], b[len(b)-1] = myID.Str, rID.Str
		got, _ := sv.Do(a...)
		want, _ := r.Do(b...)
		if strings.ReplaceAll(got.String(), myID.Str, "ID") != strings.ReplaceAll(want.String(), rID.Str, "ID") {
			t.Errorf("%v:\n  redis:     %s\n  slotvault: %s", args, want, got)
		}
	}
	// Both nodes now serve slots 0-3, 10-30, 151-200, 300-400 and 0 was
	// assigned to myself again: compare the slot part of CLUSTER NODES.
	slotsOf := func(s string) string {
		f := strings.Fields(s)
		return strings.Join(f[8:], " ")
	}
	gotNodes, _ := sv.Do("cluster", "nodes")
	wantNodes, _ := r.Do("cluster", "nodes")
	if strings.ReplaceAll(slotsOf(gotNodes.Str), myID.Str, "ID") != strings.ReplaceAll(slotsOf(wantNodes.Str), rID.Str, "ID") || !strings.HasSuffix(gotNodes.Str, "\n") {
		t.Errorf("CLUSTER NODES slots:\n  redis:     %q\n  slotvault: %q", wantNodes.Str, gotNodes.Str)
	}
	// Keys route to this node or to nobody.
	d.Run(`
cluster countkeysinslot 0
hset {a}h f v
hget {a}h f
hset nosuchslot f v
hget x f
sunionstore {a}1 {a}2 b
`)
	d.Do("cluster", "flushslots")
	d.Do("del", "{a}h")
	d.Do("cluster", "flushslots")
	d.Do("cluster", "reset", "hard")
	d.Do("cluster", "reset")
}

// TestDiffClusterDisabled: without cluster support every cluster command
// refuses alike.
func TestDiffClusterDisabled(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
cluster info
cluster nodes
cluster myid
cluster addslots 1
cluster addslotsrange 1 2
cluster meet 127.0.0.1 1
cluster reset
cluster setslot 1 stable
readonly
readwrite
asking
cluster bogus
`)
}
