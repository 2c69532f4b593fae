package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/testutil"
)

// scrape fetches /metrics and returns its sample lines by metric name with
// labels ("name{labels}" -> value).
func scrape(t *testing.T, port int) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsEndpoint starts the binary with metrics-port, runs commands
// and checks that /metrics has every family with plausible values; then
// that the endpoint stops with the node.
func TestMetricsEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mport := testutil.FreePort(t)
	s := testutil.StartSlotvault(t, "--metrics-port", strconv.Itoa(mport), "--appendonly", "yes",
		"--appendfsync", "always", "--log-format", "json", "--latency-monitor-threshold", "1", "--enable-debug-command", "yes")
	c := testutil.Dial(t, s.Addr())
	for i := 0; i < 50; i++ {
		if _, err := c.Do("SET", "key:"+strconv.Itoa(i), "value"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		c.Do("GET", "key:"+strconv.Itoa(i))
	}
	c.Do("HSET", "key:0", "f", "v") // WRONGTYPE
	c.Do("DEBUG", "SLEEP", "0.01")  // a latency event
	c.Do("CONFIG", "GET", "maxmemory")

	m := scrape(t, mport)
	want := map[string]func(float64) bool{
		`slotvault_commands_total{cmd="set"}`:                            func(v float64) bool { return v == 50 },
		`slotvault_commands_total{cmd="get"}`:                            func(v float64) bool { return v == 20 },
		`slotvault_commands_total{cmd="config|get"}`:                     func(v float64) bool { return v == 1 },
		`slotvault_commands_failed_total{cmd="hset"}`:                    func(v float64) bool { return v == 1 },
		`slotvault_command_duration_seconds_count{cmd="set"}`:            func(v float64) bool { return v == 50 },
		`slotvault_command_duration_seconds_bucket{cmd="set",le="+Inf"}`: func(v float64) bool { return v == 50 },
		`slotvault_command_duration_seconds_sum{cmd="set"}`:              func(v float64) bool { return v > 0 && v < 50 },
		`slotvault_connected_clients`:                                    func(v float64) bool { return v >= 1 },
		`slotvault_commands_processed_total`:                             func(v float64) bool { return v >= 73 },
		`slotvault_error_replies_total{prefix="WRONGTYPE"}`:              func(v float64) bool { return v == 1 },
		`slotvault_db_keys{db="0"}`:                                      func(v float64) bool { return v == 50 },
		`slotvault_memory_used_bytes`:                                    func(v float64) bool { return v > 1e5 },
		`slotvault_memory_rss_bytes`:                                     func(v float64) bool { return v > 1e6 },
		`slotvault_role{role="master"}`:                                  func(v float64) bool { return v == 1 },
		`slotvault_repl_offset_bytes`:                                    func(v float64) bool { return v >= 0 },
		`slotvault_aof_enabled`:                                          func(v float64) bool { return v == 1 },
		`slotvault_aof_current_size_bytes`:                               func(v float64) bool { return v > 0 },
		`slotvault_aof_last_write_ok`:                                    func(v float64) bool { return v == 1 },
		`slotvault_rdb_last_save_timestamp_seconds`:                      func(v float64) bool { return v > 1.6e9 },
		`slotvault_aof_fsync_duration_seconds_count`:                     func(v float64) bool { return v >= 50 },
		`slotvault_cluster_enabled`:                                      func(v float64) bool { return v == 0 },
		`slotvault_latency_event_max_milliseconds{event="command"}`:      func(v float64) bool { return v >= 10 },
		`slotvault_uptime_seconds`:                                       func(v float64) bool { return v >= 0 },
		`go_goroutines`:                                                  func(v float64) bool { return v > 0 },
		`process_resident_memory_bytes`:                                  func(v float64) bool { return v > 0 },
	}
	for k, ok := range want {
		v, found := m[k]
		if !found {
			t.Errorf("missing %s", k)
		} else if !ok(v) {
			t.Errorf("%s = %v: implausible", k, v)
		}
	}
	var slotKeys float64
	for k, v := range m {
		if strings.HasPrefix(k, "slotvault_slot_range_keys{") {
			slotKeys += v
		}
	}
	if slotKeys != 50 {
		t.Errorf("slot_range_keys sum to %v, want 50", slotKeys)
	}
	if _, ok := m[`slotvault_slot_range_keys{range="15360-16383"}`]; !ok {
		t.Errorf("missing the last slot range")
	}

	// log-format json: every line the server printed is a JSON object
	// with Redis's level names.
	for _, line := range strings.Split(strings.TrimSpace(s.Output()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if lv, _ := rec["level"].(string); lv != "NOTICE" && lv != "WARNING" && lv != "VERBOSE" {
			t.Errorf("log level %q in %q", lv, line)
		}
	}

	// A backup: the backup family follows INFO backup.
	if v, err := c.Do("SVBACKUP", "NOW"); err != nil || v.Type == '-' {
		t.Fatalf("SVBACKUP NOW: %v %v", v, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		v, _ := c.Do("INFO", "backup")
		if strings.Contains(v.Str, "backup_ok_count:1\r\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backup did not finish:\n%s", v.Str)
		}
	}
	m = scrape(t, mport)
	for k, ok := range map[string]func(float64) bool{
		`slotvault_backup_success_total`:                  func(v float64) bool { return v == 1 },
		`slotvault_backup_failures_total`:                 func(v float64) bool { return v == 0 },
		`slotvault_backup_last_ok`:                        func(v float64) bool { return v == 1 },
		`slotvault_backup_last_success_age_seconds`:       func(v float64) bool { return v >= 0 && v < 60 },
		`slotvault_backup_last_success_timestamp_seconds`: func(v float64) bool { return v > 1.6e9 },
		`slotvault_backup_log_ship_lag_records`:           func(v float64) bool { return v >= 0 },
		`slotvault_backup_log_ship_lag_seconds`:           func(v float64) bool { return v >= 0 },
	} {
		if v, found := m[k]; !found || !ok(v) {
			t.Errorf("%s = %v (present %v)", k, v, found)
		}
	}

	s.Stop()
	if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(mport) + "/metrics"); err == nil {
		t.Errorf("metrics endpoint still answers after shutdown")
	}
}

// TestRedisCLIMonitor: redis-cli monitor prints the commands other clients
// run, in Redis's format.
func TestRedisCLIMonitor(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := testutil.RequireTool(t, "redis-cli")
	s := testutil.StartSlotvault(t)
	cmd := exec.Command(bin, "-p", strconv.Itoa(s.Port), "monitor")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; l != "OK" {
		t.Fatalf("redis-cli monitor first line %q", l)
	}
	c := testutil.Dial(t, s.Addr())
	c.Do("SET", "foo", "bar baz")
	c.Do("GET", "foo")
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("redis-cli exited; got %q", got)
			}
			got = append(got, l)
		case <-timeout:
			t.Fatalf("no MONITOR output; got %q", got)
		}
	}
	for i, want := range []string{`"SET" "foo" "bar baz"`, `"GET" "foo"`} {
		f := strings.SplitN(got[i], " ", 4)
		if len(f) != 4 || !strings.Contains(f[0], ".") || f[1] != "[0" || !strings.HasPrefix(f[2], "127.0.0.1:") || f[3] != want {
			t.Errorf("line %d = %q, want <time> [0 127.0.0.1:<port>] %s", i, got[i], want)
		}
	}
}

// TestMetricsEndpointAuth: with requirepass (or ACL users) the metrics
// endpoint wants HTTP Basic credentials of an enabled user, like the
// client port wants AUTH.
func TestMetricsEndpointAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	mport := testutil.FreePort(t)
	s := testutil.StartSlotvault(t, "--metrics-port", strconv.Itoa(mport), "--requirepass", "s3cret",
		"--user", "prom", "on", ">scrape", "~*", "+info")
	url := "http://127.0.0.1:" + strconv.Itoa(mport) + "/metrics"
	get := func(user, pass string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" || pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /metrics: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized},
		{"default", "wrong", http.StatusUnauthorized},
		{"nobody", "s3cret", http.StatusUnauthorized},
		{"default", "s3cret", http.StatusOK},
		{"", "s3cret", http.StatusOK},
		{"prom", "scrape", http.StatusOK},
	} {
		if got := get(c.user, c.pass); got != c.want {
			t.Errorf("user %q pass %q: HTTP %d, want %d", c.user, c.pass, got, c.want)
		}
	}
	_ = s
}
