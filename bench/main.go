// Command bench compares slotvault with a real redis-server in the same run:
// it starts both with equivalent settings on free loopback ports, runs
// redis-benchmark against each (same tests, clients, pipeline depths), and
// prints ops/s, p50 and p99 side by side with the slotvault/redis ratio. It
// also loads N keys with 16-byte values into each and compares RSS.
//
//	go run ./bench                       # defaults: 50 clients, P=1 and 16
//	go run ./bench -n 200000 -P 1,16 -t set,get,incr,lpush,hset,zadd -keys 1000000
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
}

func main() {
	requests := flag.Int("n", 100000, "requests per test")
	clients := flag.Int("c", 50, "parallel clients")
	pipes := flag.String("P", "1,16", "pipeline depths, comma separated")
	tests := flag.String("t", "set,get,incr,lpush,hset,zadd", "redis-benchmark tests")
	keys := flag.Int("keys", 1000000, "keys to load for the memory comparison (0 to skip)")
	extra := flag.String("conf", "", "extra directives for both servers, e.g. \"--appendonly yes --appendfsync always\"")
	svBin := flag.String("slotvault", "", "slotvault binary (built from ./cmd/slotvault when empty)")
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
	fmt.Printf("# slotvault vs redis-server — %s, %d CPUs\n", time.Now().UTC().Format(time.RFC3339), numCPU())
	fmt.Printf("# command: go run ./bench %s\n\n", strings.Join(os.Args[1:], " "))

	redis := start("redis-server", "redis-server", extraArgs, true)
	defer redis.stop()
	sv := start("slotvault", bin, extraArgs, false)
	defer sv.stop()

	fmt.Printf("| test | P | redis ops/s | slotvault ops/s | ratio | redis p50 ms | sv p50 ms | redis p99 ms | sv p99 ms | p99 ratio |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range strings.Split(*pipes, ",") {
		for _, t := range strings.Split(*tests, ",") {
			// Alternate which server goes first to spread machine noise.
			r := runBench(redis.port, t, *requests, *clients, p)
			s := runBench(sv.port, t, *requests, *clients, p)
			fmt.Printf("| %s | %s | %.0f | %.0f | %.2f | %.3f | %.3f | %.3f | %.3f | %.2f |\n",
				t, p, r.rps, s.rps, s.rps/r.rps, r.p50, s.p50, r.p99, s.p99, s.p99/r.p99)
		}
	}
	if *keys > 0 {
		fmt.Printf("\n| memory: %d keys, 16-byte values | redis | slotvault | ratio |\n|---|---|---|---|\n", *keys)
		rb := rss(redis.cmd.Process.Pid)
		sb := rss(sv.cmd.Process.Pid)
		load(redis.port, *keys)
		load(sv.port, *keys)
		time.Sleep(2 * time.Second)
		ra := rss(redis.cmd.Process.Pid)
		sa := rss(sv.cmd.Process.Pid)
		fmt.Printf("| RSS after load (MiB) | %.1f | %.1f | %.2f |\n", mib(ra), mib(sa), float64(sa)/float64(ra))
		fmt.Printf("| RSS growth (MiB) | %.1f | %.1f | %.2f |\n", mib(ra-rb), mib(sa-sb), float64(sa-sb)/float64(ra-rb))
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

func start(name, bin string, extra []string, isRedis bool) *server {
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

func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
