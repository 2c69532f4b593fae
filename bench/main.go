// Command bench compares slotvault with a real redis-server in the same run:
// it starts both with equivalent settings on free loopback ports, runs
// redis-benchmark against each (same tests, clients, pipeline depths), and
// prints ops/s, p50 and p99 side by side with the slotvault/redis ratio. It
// also loads N keys with 16-byte values into each and compares RSS.
//
//	go run ./bench                       # defaults: 50 clients, P=1 and 16
//	go run ./bench -n 200000 -P 1,16 -t set,get,incr,lpush,hset,zadd -keys 1000000 -runs 3
//	go run ./bench -t lpush -keys 0 -svenv GOMAXPROCS=1   # vary slotvault only
//
// Every figure is the median over -runs repetitions (each test alternates
// which server goes first). The CPU column is the server's user+system time
// per request, read from /proc: it is steadier than throughput on a busy
// machine, which the benchmark client shares.
package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type server struct {
	name string
	cmd  *exec.Cmd
	port int
	dir  string
}

type result struct {
	rps, p50, p99 float64
	// cpu is the server's CPU time (user+system) per request in µs: less
	// sensitive to a busy machine than throughput.
	cpu float64
}

func main() {
	requests := flag.Int("n", 100000, "requests per test")
	clients := flag.Int("c", 50, "parallel clients")
	pipes := flag.String("P", "1,16", "pipeline depths, comma separated")
	tests := flag.String("t", "set,get,incr,lpush,hset,zadd", "redis-benchmark tests")
	keys := flag.Int("keys", 1000000, "keys to load for the memory comparison (0 to skip)")
	runs := flag.Int("runs", 3, "repetitions; tables show the median of each figure")
	extra := flag.String("conf", "", "extra directives for both servers, e.g. \"--appendonly yes --appendfsync always\"")
	svConf := flag.String("svconf", "", "extra directives for slotvault only, e.g. \"--io-threads 1\"")
	svEnv := flag.String("svenv", "", "extra environment for slotvault only, e.g. \"GOGC=50\"")
	svBin := flag.String("slotvault", "", "slotvault binary (built from ./cmd/slotvault when empty)")
	verbose := flag.Bool("v", false, "print every run, not only the medians")
	flag.Parse()

	bin := *svBin
	if bin == "" {
		dir, err := os.MkdirTemp("", "svbench")
		must(err)
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "slotvault")
		out, err := exec.Command("go", "build", "-o", bin, "./cmd/slotvault").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	extraArgs := strings.Fields(*extra)
	svArgs := append(append([]string(nil), extraArgs...), strings.Fields(*svConf)...)
	svEnvs := strings.Fields(*svEnv)
	fmt.Printf("# slotvault vs redis-server — %s, %d CPUs, median of %d runs\n", time.Now().UTC().Format(time.RFC3339), numCPU(), *runs)
	fmt.Printf("# command: go run ./bench %s\n\n", strings.Join(os.Args[1:], " "))

	type cell struct{ p, t string }
	var order []cell
	for _, p := range strings.Split(*pipes, ",") {
		for _, t := range strings.Split(*tests, ",") {
			order = append(order, cell{p, t})
		}
	}
	res := map[cell][2][]result{}
	if len(order) > 0 && *tests != "" {
		redis := start("redis-server", "redis-server", extraArgs, nil, true)
		sv := start("slotvault", bin, svArgs, svEnvs, false)
		for run := 0; run < *runs; run++ {
			for _, c := range order {
				// Alternate which server goes first to spread machine noise.
				var r, s result
				if run%2 == 0 {
					r = redis.bench(c.t, *requests, *clients, c.p)
					s = sv.bench(c.t, *requests, *clients, c.p)
				} else {
					s = sv.bench(c.t, *requests, *clients, c.p)
					r = redis.bench(c.t, *requests, *clients, c.p)
				}
				v := res[c]
				v[0], v[1] = append(v[0], r), append(v[1], s)
				res[c] = v
				if *verbose {
					fmt.Fprintf(os.Stderr, "run %d %s P=%s: redis %.0f ops/s p99 %.3f, slotvault %.0f ops/s p99 %.3f\n",
						run+1, c.t, c.p, r.rps, r.p99, s.rps, s.p99)
				}
			}
		}
		redis.stop()
		sv.stop()
		fmt.Printf("| test | P | redis ops/s | slotvault ops/s | ratio | redis p50 ms | sv p50 ms | redis p99 ms | sv p99 ms | p99 ratio | redis CPU µs/op | sv CPU µs/op |\n")
		fmt.Printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, c := range order {
			v := res[c]
			r, s := medianResult(v[0]), medianResult(v[1])
			fmt.Printf("| %s | %s | %.0f | %.0f | %.2f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f |\n",
				c.t, c.p, r.rps, s.rps, s.rps/r.rps, r.p50, s.p50, r.p99, s.p99, s.p99/r.p99, r.cpu, s.cpu)
		}
	}
	if *keys > 0 {
		var rows [6][]float64
		for run := 0; run < *runs; run++ {
			// Fresh servers: RSS is a high-water mark of earlier tests.
			redis := start("redis-server", "redis-server", extraArgs, nil, true)
			sv := start("slotvault", bin, svArgs, svEnvs, false)
			rb, sb := rss(redis.cmd.Process.Pid, "VmRSS:"), rss(sv.cmd.Process.Pid, "VmRSS:")
			load(redis.port, *keys)
			load(sv.port, *keys)
			time.Sleep(2 * time.Second)
			ra, sa := rss(redis.cmd.Process.Pid, "VmRSS:"), rss(sv.cmd.Process.Pid, "VmRSS:")
			rp, sp := rss(redis.cmd.Process.Pid, "VmHWM:"), rss(sv.cmd.Process.Pid, "VmHWM:")
			for i, x := range []int64{ra, sa, ra - rb, sa - sb, rp, sp} {
				rows[i] = append(rows[i], mib(x))
			}
			if *verbose {
				fmt.Fprintf(os.Stderr, "memory run %d: RSS redis %.1f MiB slotvault %.1f MiB, peak %.1f / %.1f\n", run+1, mib(ra), mib(sa), mib(rp), mib(sp))
			}
			redis.stop()
			sv.stop()
		}
		fmt.Printf("\n| memory: %d keys, 16-byte values | redis | slotvault | ratio |\n|---|---|---|---|\n", *keys)
		for i, name := range []string{"RSS after load (MiB)", "RSS growth (MiB)", "peak RSS (MiB)"} {
			r, s := median(rows[2*i]), median(rows[2*i+1])
			fmt.Printf("| %s | %.1f | %.1f | %.2f |\n", name, r, s, s/r)
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// medianResult takes the median of each figure separately.
func medianResult(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	return result{
		rps: pick(func(r result) float64 { return r.rps }),
		p50: pick(func(r result) float64 { return r.p50 }),
		p99: pick(func(r result) float64 { return r.p99 }),
		cpu: pick(func(r result) float64 { return r.cpu }),
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func numCPU() int {
	out, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func freePort() int {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(err)
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p < 7000 || p > 7005 {
			return p
		}
	}
}

func start(name, bin string, extra, env []string, isRedis bool) *server {
	dir, err := os.MkdirTemp("", "svbench-"+name)
	must(err)
	port := freePort()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""}
	if isRedis {
		args = append(args, "--daemonize", "no")
	} else {
		args = append([]string{"server"}, args...)
	}
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(cmd.Start())
	s := &server{name: name, cmd: cmd, port: port, dir: dir}
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	fmt.Fprintf(os.Stderr, "%s did not start\n", name)
	os.Exit(1)
	return nil
}

func (s *server) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	os.RemoveAll(s.dir)
}

// bench runs one redis-benchmark test against s and measures the server's
// CPU time during it.
func (s *server) bench(test string, n, c int, p string) result {
	before := cpuTime(s.cmd.Process.Pid)
	r := runBench(s.port, test, n, c, p)
	r.cpu = (cpuTime(s.cmd.Process.Pid) - before).Seconds() * 1e6 / float64(n)
	return r
}

// cpuTime reads a process's user+system CPU time from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	// USER_HZ is 100 on Linux.
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func runBench(port int, test string, n, c int, p string) result {
	cmd := exec.Command("redis-benchmark", "-p", strconv.Itoa(port), "-n", strconv.Itoa(n), "-c", strconv.Itoa(c),
		"-P", p, "-t", test, "-r", "100000", "--csv", "-q")
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "redis-benchmark %s: %v\n", test, err)
		return result{}
	}
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(rows) < 2 {
		fmt.Fprintf(os.Stderr, "redis-benchmark output: %q\n", out)
		return result{}
	}
	row := rows[1]
	f := func(i int) float64 { v, _ := strconv.ParseFloat(row[i], 64); return v }
	return result{rps: f(1), p50: f(4), p99: f(6)}
}

func load(port, keys int) {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	must(err)
	defer c.Close()
	w := bufio.NewWriterSize(c, 1<<20)
	r := bufio.NewReaderSize(c, 1<<20)
	val := "0123456789abcdef"
	const batch = 1000
	for i := 0; i < keys; i += batch {
		n := batch
		if keys-i < n {
			n = keys - i
		}
		for j := 0; j < n; j++ {
			k := "key:" + strconv.Itoa(i+j)
			fmt.Fprintf(w, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n", len(k), k, val)
		}
		must(w.Flush())
		for j := 0; j < n; j++ {
			if _, err := r.ReadString('\n'); err != nil {
				must(err)
			}
		}
	}
}

// rss reads a size field (VmRSS:, VmHWM:) of /proc/PID/status in bytes.
func rss(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
