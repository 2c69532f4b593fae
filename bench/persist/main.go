// Command persist benchmarks slotvault's persistence against a real
// redis-server in the same run, with the same settings (appendonly yes),
// and prints markdown tables with both figures and the slotvault/redis
// ratio:
//
//  1. write throughput under each appendfsync policy (redis-benchmark);
//
//  2. restart time after SIGKILL for each dataset size (Redis loading its
//     RDB-preamble AOF after BGREWRITEAOF; slotvault loading its snapshot
//     after BGREWRITEAOF), until PING answers PONG and DBSIZE is right;
//
//  3. BGSAVE time for the same datasets;
//
//  4. peak extra memory (RSS, and PSS which counts a fork's shared pages
//     once) and client latency while 50 clients write during BGSAVE.
//
//     go run ./bench/persist                          # everything, 1M and 10M keys
//     go run ./bench/persist -keys 1000000 -runs 3    # restart/BGSAVE/memory for 1M only
//     go run ./bench/persist -sections throughput -fsync always
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
)

type config struct {
	requests, pipeRequests int
	clients                int
	pipes                  []string
	tests                  []string
	fsyncs                 []string
	keys                   []int
	runs                   int
	sections               map[string]bool
	loadSecs               float64
}

func main() {
	var cfg config
	n := flag.Int("n", 200000, "requests per redis-benchmark test at P=1")
	nP := flag.Int("nP", 2000000, "requests per redis-benchmark test at P>1")
	clients := flag.Int("c", 50, "clients (redis-benchmark and the write load during BGSAVE)")
	pipes := flag.String("P", "1,16", "pipeline depths")
	tests := flag.String("t", "set,incr,lpush", "redis-benchmark tests")
	fsyncs := flag.String("fsync", "always,everysec,no", "appendfsync policies")
	keys := flag.String("keys", "1000000,10000000", "dataset sizes for restart, BGSAVE and memory (16-byte values)")
	runs := flag.Int("runs", 3, "repetitions; medians are reported")
	sections := flag.String("sections", "throughput,restart,bgsave,memory", "what to run")
	loadSecs := flag.Float64("quiet", 2, "seconds of write load without BGSAVE for the latency baseline")
	svBin := flag.String("slotvault", "", "slotvault binary (built from ./cmd/slotvault when empty)")
	flag.Parse()
	cfg.requests, cfg.pipeRequests, cfg.clients, cfg.runs, cfg.loadSecs = *n, *nP, *clients, *runs, *loadSecs
	cfg.pipes = strings.Split(*pipes, ",")
	cfg.tests = strings.Split(*tests, ",")
	cfg.fsyncs = strings.Split(*fsyncs, ",")
	for _, k := range strings.Split(*keys, ",") {
		if k == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(k))
		must(err)
		cfg.keys = append(cfg.keys, v)
	}
	cfg.sections = map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		cfg.sections[s] = true
	}

	// An interrupted run must not leave servers behind (they run in their
	// own process groups).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; fatalf("interrupted") }()

	bin := *svBin
	if bin == "" {
		dir, err := os.MkdirTemp("", "svpbench-bin")
		must(err)
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "slotvault")
		out, err := exec.Command("go", "build", "-o", bin, "./cmd/slotvault").CombinedOutput()
		if err != nil {
			fatalf("go build: %v\n%s", err, out)
		}
	}
	rv, _ := exec.Command("redis-server", "--version").Output()
	fmt.Printf("# slotvault vs redis-server: persistence — %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("- command: `go run ./bench/persist %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("- machine: %d CPUs, %s RAM; %s", cpus(), memTotal(), rv)
	fmt.Printf("- medians of %d runs\n\n", cfg.runs)

	if cfg.sections["throughput"] {
		for _, p := range cfg.fsyncs {
			throughput(bin, cfg, p)
		}
	}
	if cfg.sections["restart"] || cfg.sections["bgsave"] || cfg.sections["memory"] {
		for _, k := range cfg.keys {
			dataset(bin, cfg, k)
		}
	}
}

// pair starts redis-server and slotvault with the same directives.
func pair(bin string, extra ...string) (redis, sv *server) {
	redis = newServer("redis", "redis-server", true, extra)
	sv = newServer("slotvault", bin, false, extra)
	cleanup = append(cleanup, redis.destroy, sv.destroy)
	redis.start()
	sv.start()
	redis.waitReady()
	sv.waitReady()
	return redis, sv
}

// ---- 1. write throughput -------------------------------------------------

type benchResult struct{ rps, p50, p99 float64 }

func throughput(bin string, cfg config, policy string) {
	redis, sv := pair(bin, "--appendonly", "yes", "--appendfsync", policy)
	defer redis.destroy()
	defer sv.destroy()
	fmt.Printf("## Write throughput, appendonly yes, appendfsync %s (%d clients)\n\n", policy, cfg.clients)
	fmt.Printf("| test | P | redis ops/s | slotvault ops/s | ratio | redis p50 ms | sv p50 ms | redis p99 ms | sv p99 ms |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range cfg.pipes {
		n := cfg.requests
		if p != "1" {
			n = cfg.pipeRequests
		}
		for _, t := range cfg.tests {
			var r, s [3][]float64
			for i := 0; i < cfg.runs; i++ {
				// Alternate which server goes first to spread machine noise.
				order := []*server{redis, sv}
				if i%2 == 1 {
					order = []*server{sv, redis}
				}
				for _, srv := range order {
					b := runBench(srv.port, t, n, cfg.clients, p)
					dst := &r
					if srv == sv {
						dst = &s
					}
					dst[0] = append(dst[0], b.rps)
					dst[1] = append(dst[1], b.p50)
					dst[2] = append(dst[2], b.p99)
				}
			}
			fmt.Printf("| %s | %s | %.0f | %.0f | **%.2f** | %.3f | %.3f | %.3f | %.3f |\n", t, p,
				median(r[0]), median(s[0]), median(s[0])/median(r[0]),
				median(r[1]), median(s[1]), median(r[2]), median(s[2]))
		}
	}
	fmt.Println()
}

func runBench(port int, test string, n, c int, p string) benchResult {
	cmd := exec.Command("redis-benchmark", "-p", strconv.Itoa(port), "-n", strconv.Itoa(n), "-c", strconv.Itoa(c),
		"-P", p, "-t", test, "-r", "100000", "-d", "16", "--csv", "-q")
	out, err := cmd.Output()
	if err != nil {
		fatalf("redis-benchmark %s: %v", test, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		fatalf("redis-benchmark output: %q", out)
	}
	row := strings.Split(strings.ReplaceAll(lines[1], `"`, ""), ",")
	f := func(i int) float64 { v, _ := strconv.ParseFloat(row[i], 64); return v }
	return benchResult{rps: f(1), p50: f(4), p99: f(6)}
}

// ---- 2-4. one dataset: BGSAVE, restart, memory under load -----------------

func dataset(bin string, cfg config, keys int) {
	redis, sv := pair(bin, "--appendonly", "yes", "--appendfsync", "everysec")
	defer redis.destroy()
	defer sv.destroy()
	srvs := []*server{redis, sv}
	fmt.Printf("## Dataset: %d keys, 16-byte values (appendonly yes, appendfsync everysec)\n\n", keys)
	var loadSec [2]float64
	var rssLoaded [2]int64
	for i, s := range srvs {
		t0 := time.Now()
		loadKeys(s.addr(), keys)
		loadSec[i] = time.Since(t0).Seconds()
		rssLoaded[i] = statusField(s.pid(), "VmRSS:")
	}
	fmt.Printf("| load (pipelined SET, 4 conns) | redis | slotvault | ratio |\n|---|---|---|---|\n")
	fmt.Printf("| seconds | %.1f | %.1f | %.2f |\n", loadSec[0], loadSec[1], loadSec[1]/loadSec[0])
	fmt.Printf("| RSS after load, MiB | %.0f | %.0f | %.2f |\n\n", mib(rssLoaded[0]), mib(rssLoaded[1]), float64(rssLoaded[1])/float64(rssLoaded[0]))

	if cfg.sections["bgsave"] {
		var wall, field [2][]float64
		for r := 0; r < cfg.runs; r++ {
			for i, s := range srvs {
				w, f := bgsave(s)
				wall[i] = append(wall[i], w)
				field[i] = append(field[i], f)
			}
		}
		fmt.Printf("| BGSAVE, %d keys, idle | redis | slotvault | ratio |\n|---|---|---|---|\n", keys)
		fmt.Printf("| wall seconds until rdb_bgsave_in_progress:0 | %.2f | %.2f | **%.2f** |\n",
			median(wall[0]), median(wall[1]), median(wall[1])/median(wall[0]))
		fmt.Printf("| rdb_last_bgsave_time_sec | %.0f | %.0f | |\n\n", median(field[0]), median(field[1]))
	}

	if cfg.sections["restart"] {
		var rw [2]float64
		var disk [2]int64
		for i, s := range srvs {
			rw[i] = rewrite(s)
			disk[i] = dirSize(s.dir)
		}
		var restart [2][]float64
		for r := 0; r < cfg.runs; r++ {
			order := []int{0, 1}
			if r%2 == 1 {
				order = []int{1, 0}
			}
			for _, i := range order {
				s := srvs[i]
				s.kill()
				dropCaches()
				restart[i] = append(restart[i], s.startTimed(int64(keys)).Seconds())
			}
		}
		fmt.Printf("| restart after SIGKILL, %d keys | redis | slotvault | ratio |\n|---|---|---|---|\n", keys)
		fmt.Printf("| BGREWRITEAOF wall seconds | %.2f | %.2f | %.2f |\n", rw[0], rw[1], rw[1]/rw[0])
		fmt.Printf("| data dir size on disk, MiB | %.0f | %.0f | %.2f |\n", mib(disk[0]), mib(disk[1]), float64(disk[1])/float64(disk[0]))
		fmt.Printf("| seconds from exec to PONG + right DBSIZE | %.2f | %.2f | **%.2f** |\n",
			median(restart[0]), median(restart[1]), median(restart[1])/median(restart[0]))
		fmt.Printf("| (all runs) | %s | %s | |\n\n", fmtList(restart[0]), fmtList(restart[1]))
	}

	if cfg.sections["memory"] {
		var res [2]memResult
		for i, s := range srvs {
			res[i] = snapshotUnderLoad(s, cfg, keys)
		}
		fmt.Printf("| BGSAVE under write load (%d clients SET random existing keys), %d keys | redis | slotvault |\n|---|---|---|\n", cfg.clients, keys)
		fmt.Printf("| dataset RSS before the load, MiB | %.0f | %.0f |\n", mib(res[0].base.rss), mib(res[1].base.rss))
		fmt.Printf("| peak RSS under load without BGSAVE, MiB | %.0f | %.0f |\n", mib(res[0].quiet.rss), mib(res[1].quiet.rss))
		fmt.Printf("| peak RSS during BGSAVE (Redis: parent + child), MiB | %.0f | %.0f |\n", mib(res[0].save.rss), mib(res[1].save.rss))
		fmt.Printf("| **peak extra RSS during BGSAVE, %% of dataset RSS** | **%.1f%%** | **%.1f%%** |\n", res[0].extraRSS(), res[1].extraRSS())
		fmt.Printf("| peak PSS during BGSAVE (shared pages counted once), MiB | %.0f | %.0f |\n", mib(res[0].save.pss), mib(res[1].save.pss))
		fmt.Printf("| peak extra PSS during BGSAVE, %% of dataset | %.1f%% | %.1f%% |\n", res[0].extraPSS(), res[1].extraPSS())
		fmt.Printf("| Redis INFO current_cow_peak / rdb_last_cow_size, MiB | %.0f | - |\n", mib(res[0].cow))
		fmt.Printf("| BGSAVE wall seconds under load | %.2f | %.2f |\n", res[0].saveSecs, res[1].saveSecs)
		fmt.Printf("| ops/s without / during BGSAVE | %.0f / %.0f | %.0f / %.0f |\n", res[0].quietOps, res[0].saveOps, res[1].quietOps, res[1].saveOps)
		fmt.Printf("| p50 ms without / during BGSAVE | %.3f / %.3f | %.3f / %.3f |\n", res[0].quietP50, res[0].saveP50, res[1].quietP50, res[1].saveP50)
		fmt.Printf("| **p99 ms without / during BGSAVE** | %.3f / **%.3f** | %.3f / **%.3f** |\n\n", res[0].quietP99, res[0].saveP99, res[1].quietP99, res[1].saveP99)
	}
}

func fmtList(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, ", ")
}

// bgsave runs BGSAVE on an idle server and returns the wall seconds until
// rdb_bgsave_in_progress:0 and rdb_last_bgsave_time_sec.
func bgsave(s *server) (wall, field float64) {
	c := s.dial()
	defer c.Close()
	waitIdle(c)
	t0 := time.Now()
	v, err := c.Do("BGSAVE")
	must(err)
	if v.IsError() {
		fatalf("%s BGSAVE: %s", s.name, v.Str)
	}
	for {
		in := info(c, "persistence")
		if in["rdb_bgsave_in_progress"] == "0" {
			wall = time.Since(t0).Seconds()
			if in["rdb_last_bgsave_status"] != "ok" {
				fatalf("%s: BGSAVE failed", s.name)
			}
			f, _ := strconv.ParseFloat(in["rdb_last_bgsave_time_sec"], 64)
			return wall, f
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rewrite runs BGREWRITEAOF and waits for it (and any scheduled one).
func rewrite(s *server) float64 {
	c := s.dial()
	defer c.Close()
	waitIdle(c)
	t0 := time.Now()
	v, err := c.Do("BGREWRITEAOF")
	must(err)
	if v.IsError() {
		fatalf("%s BGREWRITEAOF: %s", s.name, v.Str)
	}
	waitIdle(c)
	return time.Since(t0).Seconds()
}

// waitIdle waits until no background save or rewrite runs or is scheduled.
func waitIdle(c *resp.Conn) {
	for {
		in := info(c, "persistence")
		if in["rdb_bgsave_in_progress"] == "0" && in["aof_rewrite_in_progress"] == "0" && in["aof_rewrite_scheduled"] == "0" {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type memResult struct {
	base, quiet, save procMem
	cow               int64
	saveSecs          float64
	quietOps, saveOps float64
	quietP50, saveP50 float64
	quietP99, saveP99 float64
}

func (m memResult) extraRSS() float64 {
	return float64(m.save.rss-max(m.quiet.rss, m.base.rss)) * 100 / float64(m.base.rss)
}

func (m memResult) extraPSS() float64 {
	return float64(m.save.pss-max(m.quiet.pss, m.base.pss)) * 100 / float64(m.base.pss)
}

// snapshotUnderLoad runs the write load for cfg.loadSecs without a
// snapshot, then BGSAVE under the same load, sampling memory every 10 ms.
func snapshotUnderLoad(s *server, cfg config, keys int) memResult {
	var res memResult
	c := s.dial()
	defer c.Close()
	waitIdle(c)
	time.Sleep(500 * time.Millisecond)
	res.base = memOf(s.pid())
	wl := startWriteLoad(s.addr(), cfg.clients, keys)
	// Warm up, then the quiet window.
	time.Sleep(300 * time.Millisecond)
	qs := sampleMem(s.pid(), 10*time.Millisecond)
	q0 := time.Now()
	time.Sleep(time.Duration(cfg.loadSecs * float64(time.Second)))
	q1 := time.Now()
	res.quiet = qs.finish()

	ss := sampleMem(s.pid(), 10*time.Millisecond)
	s0 := time.Now()
	v, err := c.Do("BGSAVE")
	must(err)
	if v.IsError() {
		fatalf("%s BGSAVE: %s", s.name, v.Str)
	}
	for {
		in := info(c, "persistence")
		if in["rdb_bgsave_in_progress"] == "0" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s1 := time.Now()
	res.save = ss.finish()
	time.Sleep(200 * time.Millisecond)
	wl.finish()
	in := info(c, "persistence")
	cow, _ := strconv.ParseInt(in["rdb_last_cow_size"], 10, 64)
	peak, _ := strconv.ParseInt(in["current_cow_peak"], 10, 64)
	res.cow = max(cow, peak)
	res.saveSecs = s1.Sub(s0).Seconds()
	res.quietOps, res.quietP50, res.quietP99 = wl.window(q0, q1)
	res.saveOps, res.saveP50, res.saveP99 = wl.window(s0, s1)
	return res
}

// dropCaches would make restarts cold-cache; it needs root, so it is only
// attempted and otherwise both servers read from the page cache alike.
func dropCaches() {
	exec.Command("sync").Run()
	os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0)
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Name() != "server.log" {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func cpus() int {
	out, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func memTotal() string {
	return fmt.Sprintf("%.0f GiB", float64(kbField("/proc/meminfo", "MemTotal:"))/(1<<30))
}
