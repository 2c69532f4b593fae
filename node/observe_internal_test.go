package node

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slotvault/slotvault/config"
)

func TestLatBucket(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {1, 0}, {1024, 0}, {1025, 1}, {2048, 1}, {2049, 2}, {4096, 2},
		{time.Millisecond, 10}, {time.Hour, latBuckets - 1},
	} {
		if got := latBucket(tc.d); got != tc.want {
			t.Errorf("latBucket(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	// Redis prints bucket bounds as hdr's highest equivalent value / 1000.
	want := []int64{1, 2, 4, 8, 16, 32, 65, 131, 262, 524, 1048}
	for i, w := range want {
		if got := latBucketUsec(i); got != w {
			t.Errorf("latBucketUsec(%d) = %d, want %d", i, got, w)
		}
	}
}

func TestLatHistPercentile(t *testing.T) {
	var h latHist
	for i := 0; i < 99; i++ {
		h.record(500 * time.Nanosecond) // bucket 0
	}
	h.record(3 * time.Millisecond) // bucket 12 (<= 4.194 ms)
	if p := h.percentileUsec(50); p != 1.024 {
		t.Errorf("p50 = %v", p)
	}
	if p := h.percentileUsec(99); p != 1.024 {
		t.Errorf("p99 = %v", p)
	}
	if p := h.percentileUsec(100); p != 4194.304 {
		t.Errorf("p100 = %v", p)
	}
	if h.total != 100 || h.sumNs != 99*500+3e6 {
		t.Errorf("total %d sum %d", h.total, h.sumNs)
	}
}

func TestAppendRepr(t *testing.T) {
	got := string(appendRepr(nil, []byte("a\"b\\c\n\r\t\a\b\x00\x7f\xffé")))
	want := `"a\"b\\c\n\r\t\a\b\x00\x7f\xff\xc3\xa9"`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestMetricsCollector gathers the collector through a registry: every
// metric is well formed (no duplicate series, consistent label sets) and
// the command figures follow the commands run.
func TestMetricsCollector(t *testing.T) {
	n := newTestNode(t)
	cmd := n.cmds["set"]
	n.mu.Lock()
	cmd.calls, cmd.failed = 3, 1
	for i := 0; i < 3; i++ {
		cmd.lat.record(time.Duration(i+1) * time.Microsecond)
	}
	n.latency.addLocked("command", time.Now().Unix(), 12)
	n.mu.Unlock()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(n.MetricsCollector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, f := range families {
		count[f.GetName()] = len(f.GetMetric())
		switch f.GetName() {
		case "slotvault_commands_total":
			m := f.GetMetric()
			if len(m) != 1 || m[0].GetLabel()[0].GetValue() != "set" || m[0].GetCounter().GetValue() != 3 {
				t.Errorf("commands_total: %v", m)
			}
		case "slotvault_command_duration_seconds":
			h := f.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 3 || h.GetSampleSum() <= 0 {
				t.Errorf("duration histogram: %v", h)
			}
		}
	}
	for name, want := range map[string]int{"slotvault_slot_range_keys": 16, "slotvault_command_duration_seconds": 1,
		"slotvault_commands_failed_total": 1, "slotvault_latency_event_max_milliseconds": 1, "slotvault_memory_used_bytes": 1} {
		if count[name] != want {
			t.Errorf("%s: %d series, want %d", name, count[name], want)
		}
	}
}

// BenchmarkObserveLocked is the per-command cost observability adds under
// the node lock, in the default configuration (latency tracking on, no
// latency monitor, no MONITOR client, no slot statistics).
func BenchmarkObserveLocked(b *testing.B) {
	n, err := New(config.Default(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	cl := &Client{}
	c := &Ctx{n: n, Cl: cl, Cmd: n.cmds["get"], Args: [][]byte{[]byte("GET"), []byte("k")}, R: &cl.reply}
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.observeLocked(c, c.Cmd, start, time.Duration(i&4095)*time.Nanosecond, 0)
	}
}
