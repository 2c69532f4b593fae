package node_test

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// observabilityOnly names the directives and commands slotvault adds for
// observability (docs/observability.md): metrics-port and log-format, and
// Valkey 8's CLUSTER SLOT-STATS.
func observabilityOnly(name string) bool {
	return name == "metrics-port" || name == "log-format" || name == "cluster|slot-stats"
}

func TestDiffObsLatency(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
LATENCY HELP
latency help
LATENCY
LATENCY FOO
LATENCY HELP x
LATENCY LATEST
LATENCY LATEST x
LATENCY HISTORY
LATENCY HISTORY command
LATENCY HISTORY nosuch x
LATENCY RESET
LATENCY RESET command fast-command nosuch
LATENCY GRAPH
LATENCY GRAPH command
LATENCY GRAPH nosuch
LATENCY DOCTOR x
? LATENCY DOCTOR
CONFIG GET latency-monitor-threshold
CONFIG SET latency-monitor-threshold -1
CONFIG SET latency-monitor-threshold abc
CONFIG SET latency-monitor-threshold 0
CONFIG GET latency-monitor-threshold
LATENCY HISTOGRAM nosuch
LATENCY HISTOGRAM nosuch other|sub
SET k v
GET k
GET k
? LATENCY HISTOGRAM set
? LATENCY HISTOGRAM SET GET nosuch
? LATENCY HISTOGRAM get get
CONFIG SET latency-tracking no
CONFIG GET latency-tracking
CONFIG SET latency-tracking yes
`)
	// LATENCY HISTOGRAM's shape: calls, then cumulative counts per bucket.
	for _, c := range []*resp.Conn{d.Redis, d.SV} {
		v, err := c.Do("LATENCY", "HISTOGRAM", "get")
		if err != nil || len(v.Elems) != 2 || v.Elems[0].Str != "get" {
			t.Fatalf("LATENCY HISTOGRAM get: %v %v", v, err)
		}
		h := v.Elems[1]
		if len(h.Elems) != 4 || h.Elems[0].Str != "calls" || h.Elems[1].Int != 2 || h.Elems[2].Str != "histogram_usec" {
			t.Fatalf("histogram entry: %v", h)
		}
		buckets := h.Elems[3].Elems
		if len(buckets) == 0 || buckets[len(buckets)-1].Int != 2 {
			t.Errorf("buckets must end at the call count: %v", h.Elems[3])
		}
	}
}

// TestObsLatencyMonitor: with latency-monitor-threshold set, a slow
// command is recorded as a "command" event (timing: slotvault only).
func TestObsLatencyMonitor(t *testing.T) {
	s := testutil.StartInProc(t, "latency-monitor-threshold 1", "enable-debug-command yes")
	c := testutil.Dial(t, s.Addr())
	mustOK := func(args ...string) resp.Value {
		t.Helper()
		v, err := c.Do(args...)
		if err != nil || v.Type == '-' {
			t.Fatalf("%q: %v %v", args, v, err)
		}
		return v
	}
	mustOK("DEBUG", "SLEEP", "0.01")
	v := mustOK("LATENCY", "LATEST")
	if len(v.Elems) != 1 || v.Elems[0].Elems[0].Str != "command" || v.Elems[0].Elems[2].Int < 10 || v.Elems[0].Elems[3].Int < 10 {
		t.Fatalf("LATENCY LATEST: %v", v)
	}
	v = mustOK("LATENCY", "HISTORY", "command")
	if len(v.Elems) != 1 || v.Elems[0].Elems[1].Int < 10 {
		t.Fatalf("LATENCY HISTORY: %v", v)
	}
	if v := mustOK("LATENCY", "DOCTOR"); !strings.Contains(v.Str, "command") {
		t.Errorf("LATENCY DOCTOR: %v", v)
	}
	if v := mustOK("LATENCY", "GRAPH", "command"); !strings.HasPrefix(v.Str, "command - high") {
		t.Errorf("LATENCY GRAPH: %v", v)
	}
	if v := mustOK("LATENCY", "RESET"); v.Int != 1 {
		t.Errorf("LATENCY RESET: %v", v)
	}
	if v := mustOK("LATENCY", "LATEST"); len(v.Elems) != 0 {
		t.Errorf("after RESET: %v", v)
	}
}

func TestDiffObsMemory(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
MEMORY HELP
MEMORY
MEMORY FOO
MEMORY HELP x
MEMORY USAGE
MEMORY USAGE nosuch
MEMORY USAGE nosuch SAMPLES 5
SET s hello
MEMORY USAGE s SAMPLES
MEMORY USAGE s SAMPLES -1
MEMORY USAGE s SAMPLES abc
MEMORY USAGE s SAMPLES 99999999999999999999
MEMORY USAGE s FOO
MEMORY USAGE s SAMPLES 1 FOO
MEMORY USAGE nosuch FOO
? MEMORY USAGE s
? MEMORY USAGE s SAMPLES 0
? MEMORY USAGE s samples 1 SAMPLES 2
RPUSH l a b c
HSET h f v
SADD st 1 2 3
SADD st2 a b c
ZADD z 1 a 2 b
? MEMORY USAGE l
? MEMORY USAGE h
? MEMORY USAGE st
? MEMORY USAGE st2
? MEMORY USAGE z SAMPLES 0
MEMORY STATS x
MEMORY DOCTOR x
MEMORY MALLOC-STATS x
MEMORY PURGE x
? MEMORY DOCTOR
? MEMORY MALLOC-STATS
MEMORY PURGE
`)
	// MEMORY STATS: the same field names in the same order (values differ).
	keys := func(c *resp.Conn) []string {
		v, err := c.Do("MEMORY", "STATS")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := 0; i+1 < len(v.Elems); i += 2 {
			out = append(out, v.Elems[i].Str)
			if strings.HasPrefix(v.Elems[i].Str, "db.") {
				for j := 0; j < len(v.Elems[i+1].Elems); j += 2 {
					out = append(out, "  "+v.Elems[i+1].Elems[j].Str)
				}
			}
		}
		return out
	}
	if r, s := strings.Join(keys(d.Redis), ","), strings.Join(keys(d.SV), ","); r != s {
		t.Errorf("MEMORY STATS fields\n  redis:     %s\n  slotvault: %s", r, s)
	}
}

// TestObsMemoryUsageProportional: MEMORY USAGE grows with the value.
func TestObsMemoryUsageProportional(t *testing.T) {
	s := testutil.StartInProc(t)
	c := testutil.Dial(t, s.Addr())
	usage := func(key string, extra ...string) int64 {
		v, err := c.Do(append([]string{"MEMORY", "USAGE", key}, extra...)...)
		if err != nil || v.Type != ':' {
			t.Fatalf("MEMORY USAGE %s: %v %v", key, v, err)
		}
		return v.Int
	}
	c.Do("SET", "small", "x")
	c.Do("SET", "big", strings.Repeat("x", 10000))
	if a, b := usage("small"), usage("big"); a <= 0 || b < 10000 || b > 2*10000 {
		t.Errorf("string usage small=%d big=%d", a, b)
	}
	args := []string{"RPUSH", "list"}
	for i := 0; i < 1000; i++ {
		args = append(args, strings.Repeat("v", 100))
	}
	c.Do(args...)
	if u := usage("list", "SAMPLES", "0"); u < 100*1000 || u > 400*1000 {
		t.Errorf("list of 1000 x 100 bytes: usage %d", u)
	}
	if a, b := usage("list"), usage("list", "SAMPLES", "0"); a != b {
		t.Errorf("uniform list: sampled %d, full %d", a, b)
	}
}

// monitorLine normalises a MONITOR line: timestamp and client port.
var monitorVolatile = regexp.MustCompile(`^\+\d+\.\d{6} \[(\d+) [^\]]*:\d+\]`)

func TestDiffObsMonitor(t *testing.T) {
	d := testutil.NewDiff(t)
	type side struct {
		mon, cl *resp.Conn
		lines   []string
	}
	sides := []*side{
		{mon: testutil.Dial(t, d.RedisAddr), cl: testutil.Dial(t, d.RedisAddr)},
		{mon: testutil.Dial(t, d.SVAddr), cl: testutil.Dial(t, d.SVAddr)},
	}
	script := [][]string{
		{"SET", "k", "v"},
		{"GET", "k"},
		{"SELECT", "3"},
		{"SET", "quote\"back\\slash", "line\nbreak\r\ttab\x01\xff"},
		{"INCR", "nosuch-int"},
		{"HSET", "k", "f", "v"}, // an error reply is still shown
		{"SELECT", "0"},
		{"MULTI"},
		{"SET", "a", "1"},
		{"EXEC"},
		{"CONFIG", "GET", "maxmemory"}, // admin: not shown
		{"AUTH", "nosuchpass"},
		{"PING"},
	}
	for _, s := range sides {
		v, err := s.mon.Do("MONITOR")
		if err != nil || v.String() != `OK` && v.Str != "OK" {
			t.Fatalf("MONITOR: %v %v", v, err)
		}
		for _, a := range script {
			if _, err := s.cl.Do(a...); err != nil {
				t.Fatal(err)
			}
		}
		// A marker command ends the stream.
		s.cl.Do("ECHO", "end")
		for {
			v, err := s.mon.Read()
			if err != nil {
				t.Fatal(err)
			}
			line := monitorVolatile.ReplaceAllString("+"+v.Str, "[$1 addr]")
			s.lines = append(s.lines, line)
			if strings.HasSuffix(v.Str, `"ECHO" "end"`) {
				break
			}
		}
		// The monitoring client itself: no keyspace access, PING works,
		// a second MONITOR replies nothing.
		for _, a := range [][]string{{"GET", "k"}, {"SET", "k", "v"}, {"PING"}, {"MONITOR"}, {"PING"}} {
			if err := s.mon.Send(a...); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 6; i++ { // 4 replies (MONITOR again: none), 2 feeds of PING
			v, err := s.mon.Read()
			if err != nil {
				t.Fatal(err)
			}
			line := v.String()
			if v.Type == '+' {
				line = monitorVolatile.ReplaceAllString("+"+v.Str, "[$1 addr]")
			}
			s.lines = append(s.lines, "reply: "+line)
		}
	}
	r, s := strings.Join(sides[0].lines, "\n"), strings.Join(sides[1].lines, "\n")
	if r != s {
		t.Errorf("MONITOR stream differs\nredis:\n%s\nslotvault:\n%s", r, s)
	}
	// CLIENT LIST marks the monitor with flag O; MONITOR in MULTI fails.
	for _, c := range []*resp.Conn{d.Redis, d.SV} {
		v, _ := c.Do("CLIENT", "LIST")
		if !strings.Contains(v.Str, " flags=O ") {
			t.Errorf("CLIENT LIST without a monitor (flags=O):\n%s", v.Str)
		}
	}
	// RESET ends monitoring: the keyspace is reachable again.
	for _, s := range sides {
		s.lines = nil
		for _, a := range [][]string{{"RESET"}, {"GET", "k"}} {
			v, err := s.mon.Do(a...)
			if err != nil {
				t.Fatal(err)
			}
			s.lines = append(s.lines, v.String())
		}
	}
	if r, s := strings.Join(sides[0].lines, "\n"), strings.Join(sides[1].lines, "\n"); r != s {
		t.Errorf("after RESET\nredis:\n%s\nslotvault:\n%s", r, s)
	}
	d.Run(`
MULTI
MONITOR
EXEC
MONITOR x
`)
}

// TestDiffObsSlowlog: with every command logged, the slow log holds the
// same entries (arguments, client name) as Redis's.
func TestDiffObsSlowlog(t *testing.T) {
	d := testutil.NewDiff(t, "slowlog-log-slower-than 0", "slowlog-max-len 5")
	d.Run(`
SLOWLOG RESET
CLIENT SETNAME tester
SET k v
GET k
CONFIG SET requirepass ""
AUTH default nosuch
LPUSH biglist a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7 8 9 0 aa bb
SLOWLOG LEN
`)
	entries := func(c *resp.Conn) string {
		v, err := c.Do("SLOWLOG", "GET", "-1")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range v.Elems {
			if len(e.Elems) != 6 {
				t.Fatalf("slowlog entry: %v", e)
			}
			b.WriteString(e.Elems[3].String() + " " + e.Elems[5].String() + "\n")
		}
		return b.String()
	}
	if r, s := entries(d.Redis), entries(d.SV); r != s {
		t.Errorf("SLOWLOG GET -1\nredis:\n%s\nslotvault:\n%s", r, s)
	}
	d.Run(`
SLOWLOG GET 0
? SLOWLOG GET 2
SLOWLOG RESET
SLOWLOG LEN
`)
}

// TestDiffObsLatencyStats: INFO latencystats lists the same commands with
// the same percentile fields as Redis (values differ: timing).
func TestDiffObsLatencyStats(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
CONFIG RESETSTAT
SET k v
GET k
GET k
CONFIG GET maxmemory
CLIENT GETNAME
CONFIG SET latency-tracking-info-percentiles "50 99.99 100"
`)
	num := regexp.MustCompile(`=\d+\.\d{3}`)
	lines := func(c *resp.Conn) string {
		v, err := c.Do("INFO", "latencystats")
		if err != nil {
			t.Fatal(err)
		}
		ls := strings.Split(strings.TrimSpace(num.ReplaceAllString(v.Str, "=N")), "\r\n")
		sort.Strings(ls)
		return strings.Join(ls, "\n")
	}
	if r, s := lines(d.Redis), lines(d.SV); r != s {
		t.Errorf("INFO latencystats\nredis:\n%s\nslotvault:\n%s", r, s)
	}
}

// TestDiffObsRESP3: reply types under RESP3 (maps, verbatim strings).
func TestDiffObsRESP3(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
? HELLO 3
SET k v
LATENCY HISTOGRAM nosuch
? LATENCY HISTOGRAM set
LATENCY LATEST
LATENCY HISTORY command
? LATENCY DOCTOR
? MEMORY STATS
? MEMORY DOCTOR
? MEMORY MALLOC-STATS
? MEMORY USAGE k
MEMORY USAGE nosuch
LATENCY HELP
MEMORY HELP
`)
}
