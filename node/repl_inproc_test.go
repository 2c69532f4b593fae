package node_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/testutil"
)

// TestReplicationInProcess runs a master and a replica inside the test
// process (so `go test -race` covers the replication goroutines): full
// sync, streamed writes, WAIT, concurrent readers on the replica, and
// promotion.
func TestReplicationInProcess(t *testing.T) {
	m := testutil.StartInProc(t, "repl-ping-replica-period 1")
	r := testutil.StartInProc(t)
	mc := testutil.Dial(t, m.Addr())
	rc := testutil.Dial(t, r.Addr())
	for i := 0; i < 200; i++ {
		mc.Do("HSET", "h"+strconv.Itoa(i), "f", strconv.Itoa(i))
	}
	mc.Do("RPUSH", "l", "a", "b")
	if v, _ := rc.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(m.Port)); v.Str != "OK" {
		t.Fatalf("REPLICAOF: %v", v)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !r.Node.Replication().LinkUp {
		if time.Now().After(deadline) {
			t.Fatal("link not up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := testutil.Dial(t, r.Addr())
		for i := 0; i < 300; i++ {
			c.Do("HGET", "h"+strconv.Itoa(i%250), "f")
		}
	}()
	for i := 200; i < 250; i++ {
		mc.Do("HSET", "h"+strconv.Itoa(i), "f", strconv.Itoa(i))
	}
	mc.Do("MULTI")
	mc.Do("LPUSH", "l", "z")
	mc.Do("HDEL", "h0", "f")
	mc.Do("EXEC")
	if v, _ := mc.Do("WAIT", "1", "5000"); v.Int != 1 {
		t.Fatalf("WAIT: %v", v)
	}
	<-done
	if v, _ := rc.Do("HGET", "h249", "f"); v.Str != "249" {
		t.Fatalf("replica h249: %v", v)
	}
	if v, _ := rc.Do("LRANGE", "l", "0", "-1"); v.String() != `*["z", "a", "b"]` {
		t.Fatalf("replica l: %v", v)
	}
	if v, _ := rc.Do("EXISTS", "h0"); v.Int != 0 {
		t.Fatalf("replica h0 after HDEL: %v", v)
	}
	if v, _ := rc.Do("HSET", "x", "f", "v"); !strings.HasPrefix(v.Str, "READONLY") {
		t.Fatalf("replica write: %v", v)
	}
	mi, ri := m.Node.Replication(), r.Node.Replication()
	if ri.Role != "slave" || ri.ReplID != mi.ReplID || ri.Offset != mi.Offset || len(mi.Replicas) != 1 || mi.Replicas[0].State != "online" {
		t.Fatalf("replication state: master %+v replica %+v", mi, ri)
	}
	r.Node.PromoteToMaster()
	ri = r.Node.Replication()
	if ri.Role != "master" || ri.ReplID2 != mi.ReplID || ri.SecondOffset != mi.Offset+1 {
		t.Fatalf("after promotion: %+v", ri)
	}
	if v, _ := rc.Do("HSET", "x", "f", "v"); v.Int != 1 {
		t.Fatalf("write after promotion: %v", v)
	}
	if err := m.Node.ReplicateFrom(r.Addr()); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !m.Node.Replication().LinkUp {
		if time.Now().After(deadline) {
			t.Fatal("demoted master did not link")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, _ := mc.Do("HGET", "x", "f"); v.Str != "v" {
		// The write may still be in flight; WAIT on the new master.
		testutil.Dial(t, r.Addr()).Do("WAIT", "1", "2000")
		if v, _ := mc.Do("HGET", "x", "f"); v.Str != "v" {
			t.Fatalf("demoted master lacks the new write: %v", v)
		}
	}
}
