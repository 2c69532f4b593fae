package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// TestClusterSlotStats checks CLUSTER SLOT-STATS (Valkey 8.0 syntax and
// replies) on a one-node cluster serving every slot but 100-199.
func TestClusterSlotStats(t *testing.T) {
	s := testutil.StartInProc(t, "cluster-enabled yes", "cluster-node-timeout 1000", "cluster-require-full-coverage no", "cluster-config-file "+t.TempDir()+"/nodes.conf")
	c := testutil.Dial(t, s.Addr())
	do := func(args ...string) resp.Value {
		t.Helper()
		v, err := c.Do(args...)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return v
	}
	expect := func(want string, args ...string) {
		t.Helper()
		if got := do(args...).String(); got != want {
			t.Errorf("%q\n  got:  %s\n  want: %s", args, got, want)
		}
	}
	expect("+OK", "CLUSTER", "ADDSLOTSRANGE", "0", "99", "200", "16383")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(do("CLUSTER", "INFO").Str, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster_state never ok: %s", do("CLUSTER", "INFO"))
		}
	}
	checkClusterMetrics(t, s)
	expect("+OK", "SET", "foo", "1") // slot 12182
	expect("+OK", "SET", "{foo}2", "1")
	expect("+OK", "SET", "a", "1") // slot 15495

	expect(`*[*[(integer) 98, *["key-count", (integer) 0]], *[(integer) 99, *["key-count", (integer) 0]], *[(integer) 200, *["key-count", (integer) 0]]]`,
		"CLUSTER", "SLOT-STATS", "SLOTSRANGE", "98", "200")
	expect(`*[]`, "CLUSTER", "SLOT-STATS", "SLOTSRANGE", "100", "199")
	expect(`*[*[(integer) 12182, *["key-count", (integer) 2]], *[(integer) 15495, *["key-count", (integer) 1]]]`,
		"CLUSTER", "SLOT-STATS", "ORDERBY", "key-count", "LIMIT", "2")
	expect(`*[*[(integer) 0, *["key-count", (integer) 0]]]`, "CLUSTER", "SLOT-STATS", "ORDERBY", "KEY-COUNT", "ASC", "LIMIT", "1")
	if v := do("CLUSTER", "SLOT-STATS", "ORDERBY", "key-count"); len(v.Elems) != 16 {
		t.Errorf("default LIMIT is 16: %d entries", len(v.Elems))
	}
	if v := do("CLUSTER", "SLOT-STATS", "ORDERBY", "key-count", "LIMIT", "16384"); len(v.Elems) != 16384-100 {
		t.Errorf("LIMIT 16384 lists the node's %d slots: %d entries", 16384-100, len(v.Elems))
	}
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"(error) ERR Unrecognized sort metric for ORDERBY.", []string{"ORDERBY", "cpu-usec"}},
		{"(error) ERR Unrecognized sort metric for ORDERBY.", []string{"ORDERBY", "nosuch"}},
		{"(error) ERR Limit has to lie in between 1 and 16384 (maximum number of slots).", []string{"ORDERBY", "key-count", "LIMIT", "0"}},
		{"(error) ERR Limit has to lie in between 1 and 16384 (maximum number of slots).", []string{"ORDERBY", "key-count", "LIMIT", "x"}},
		{"(error) ERR Multiple filters of the same type are disallowed.", []string{"ORDERBY", "key-count", "LIMIT", "1", "LIMIT", "2"}},
		{"(error) ERR Multiple filters of the same type are disallowed.", []string{"ORDERBY", "key-count", "ASC", "DESC"}},
		{"(error) ERR syntax error", []string{"ORDERBY", "key-count", "foo"}},
		{"(error) ERR syntax error", []string{"ORDERBY", "key-count", "LIMIT"}},
		{"(error) ERR Start slot number 5 is greater than end slot number 4", []string{"SLOTSRANGE", "5", "4"}},
		{"(error) ERR Invalid or out of range slot", []string{"SLOTSRANGE", "x", "4"}},
		{"(error) ERR Invalid or out of range slot", []string{"SLOTSRANGE", "0", "16384"}},
		{"(error) ERR unknown subcommand or wrong number of arguments for 'SLOT-STATS'. Try CLUSTER HELP.", []string{"SLOTSRANGE", "1", "2", "3"}},
		{"(error) ERR unknown subcommand or wrong number of arguments for 'SLOT-STATS'. Try CLUSTER HELP.", []string{"FOO", "bar"}},
		{"(error) ERR wrong number of arguments for 'cluster|slot-stats' command", []string{"SLOTSRANGE"}},
	} {
		expect(tc.want, append([]string{"CLUSTER", "SLOT-STATS"}, tc.args...)...)
	}

	// With cluster-slot-stats-enabled, traffic is charged to the key's slot.
	expect("+OK", "CONFIG", "SET", "cluster-slot-stats-enabled", "yes")
	expect(`*["cluster-slot-stats-enabled", "yes"]`, "CONFIG", "GET", "cluster-slot-stats-enabled")
	for i := 0; i < 3; i++ {
		expect(`"1"`, "GET", "foo")
	}
	v := do("CLUSTER", "SLOT-STATS", "ORDERBY", "network-bytes-in", "LIMIT", "1")
	if len(v.Elems) != 1 || v.Elems[0].Elems[0].Int != 12182 {
		t.Fatalf("ORDERBY network-bytes-in: %v", v)
	}
	st := v.Elems[0].Elems[1].Elems
	if len(st) != 8 || st[0].Str != "key-count" || st[2].Str != "cpu-usec" || st[4].Str != "network-bytes-in" || st[6].Str != "network-bytes-out" {
		t.Fatalf("stats: %v", v)
	}
	// GET foo is "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n" (22 bytes) in, "$1\r\n1\r\n" (7) out.
	if st[1].Int != 2 || st[5].Int != 3*22 || st[7].Int != 3*7 {
		t.Errorf("slot 12182 stats: %v", v)
	}
	if v := do("CLUSTER", "SLOT-STATS", "ORDERBY", "cpu-usec", "LIMIT", "1"); len(v.Elems) != 1 {
		t.Errorf("ORDERBY cpu-usec: %v", v)
	}
	if v := do("CLUSTER", "SLOT-STATS", "ORDERBY", "network-bytes-out", "LIMIT", "1"); len(v.Elems) != 1 || v.Elems[0].Elems[0].Int != 12182 {
		t.Errorf("ORDERBY network-bytes-out: %v", v)
	}
}

func TestClusterSlotStatsDisabled(t *testing.T) {
	s := testutil.StartInProc(t)
	c := testutil.Dial(t, s.Addr())
	v, _ := c.Do("CLUSTER", "SLOT-STATS", "SLOTSRANGE", "0", "1")
	if v.String() != "(error) ERR This instance has cluster support disabled" {
		t.Errorf("got %s", v)
	}
}

// checkClusterMetrics: the Prometheus collector reports cluster state.
func checkClusterMetrics(t *testing.T, s *testutil.InProc) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Node.MetricsCollector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			got[name] = m.GetGauge().GetValue()
		}
	}
	for k, want := range map[string]float64{
		"slotvault_cluster_enabled": 1, "slotvault_cluster_state_ok": 1, "slotvault_cluster_known_nodes": 1,
		"slotvault_cluster_size": 1, "slotvault_cluster_slots,state=assigned": 16284, "slotvault_cluster_slots,state=fail": 0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
}
