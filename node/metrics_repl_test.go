package node_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slotvault/slotvault/internal/testutil"
)

// gatherMetrics collects a node's metrics as "name,label=value..." -> value.
func gatherMetrics(t *testing.T, s *testutil.InProc) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Node.MetricsCollector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestMetricsReplication: replication offset and per-replica offset and
// lag on the master; role and link state on the replica.
func TestMetricsReplication(t *testing.T) {
	m := testutil.StartInProc(t, "repl-ping-replica-period 1")
	r := testutil.StartInProc(t)
	mc := testutil.Dial(t, m.Addr())
	rc := testutil.Dial(t, r.Addr())
	if v, _ := rc.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(m.Port)); v.Str != "OK" {
		t.Fatalf("REPLICAOF: %v", v)
	}
	for deadline := time.Now().Add(10 * time.Second); !r.Node.Replication().LinkUp; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("link not up")
		}
	}
	mc.Do("SET", "k", "v")
	if v, _ := mc.Do("WAIT", "1", "5000"); v.Int != 1 {
		t.Fatalf("WAIT: %v", v)
	}
	mm := gatherMetrics(t, m)
	if mm["slotvault_role,role=master"] != 1 || mm["slotvault_connected_replicas"] != 1 || mm["slotvault_repl_offset_bytes"] <= 0 {
		t.Errorf("master metrics: %v", mm)
	}
	found := false
	for k, v := range mm {
		if strings.HasPrefix(k, "slotvault_replica_offset_bytes,replica=127.0.0.1:") {
			found = true
			if v <= 0 || v > mm["slotvault_repl_offset_bytes"] {
				t.Errorf("%s = %v (master offset %v)", k, v, mm["slotvault_repl_offset_bytes"])
			}
		}
	}
	if !found {
		t.Errorf("no replica_offset_bytes series: %v", mm)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rm := gatherMetrics(t, r)
		if rm["slotvault_role,role=slave"] == 1 && rm["slotvault_master_link_up"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica metrics: %v", rm)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
