package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/miniotest"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/slots"
)

// TestRestoreBenchmark (SLOTVAULT_BENCH=1) times `slotvault restore cluster`
// of a three-master cluster with SLOTVAULT_BENCH_KEYS keys per master
// (default 1000000) from a real MinIO (fetch + checksum verification + write
// of the node folders), plus starting the three restored nodes until each
// answers PING and DBSIZE is right, against three redis-servers started on
// RDB files holding the same keys (written by redis-server itself and copied
// into place), timed until PING answers and DBSIZE is right. Both sides
// start their three processes in parallel; the figure is the wall time until
// the last one is ready.
//
//	SLOTVAULT_BENCH=1 go test ./internal/e2e/ -run TestRestoreBenchmark -count=1 -v -timeout 30m
func TestRestoreBenchmark(t *testing.T) {
	if os.Getenv("SLOTVAULT_BENCH") != "1" {
		t.Skip("set SLOTVAULT_BENCH=1")
	}
	perMaster := 1000000
	if s := os.Getenv("SLOTVAULT_BENCH_KEYS"); s != "" {
		perMaster, _ = strconv.Atoi(s)
	}
	runs := 3
	if s := os.Getenv("SLOTVAULT_BENCH_RUNS"); s != "" {
		runs, _ = strconv.Atoi(s)
	}
	srv := miniotest.Start(t)
	srv.Store(t, "bench", "")
	t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
	conf := fmt.Sprintf("backup-target s3://bench/rs\nbackup-s3-endpoint %s\nbackup-schedule \"@every 1h\"\nbackup-log-ship-interval 50ms\ncluster-node-timeout 60000\n", srv.Endpoint)
	tgt := []string{"--target", "s3://bench/rs", "--s3-endpoint", srv.Endpoint}
	nodes := startBackupCluster(t, 3, conf)

	// Slot owner of each slot, by node index.
	owner := make([]int, slots.Count)
	for i, nd := range nodes {
		for _, l := range strings.Split(clusterDo(t, nd.addr(), "CLUSTER", "NODES"), "\n") {
			f := strings.Fields(l)
			if len(f) < 9 || !strings.Contains(f[2], "myself") {
				continue
			}
			for _, r := range f[8:] {
				lo, hi, _ := strings.Cut(r, "-")
				a, _ := strconv.Atoi(lo)
				b := a
				if hi != "" {
					b, _ = strconv.Atoi(hi)
				}
				for s := a; s <= b; s++ {
					owner[s] = i
				}
			}
		}
	}
	// perMaster keys for each master: key:N with a 16-byte value, the same
	// keys also written to one plain redis-server per master.
	keys := make([][]string, 3)
	for i := 0; len(keys[0]) < perMaster || len(keys[1]) < perMaster || len(keys[2]) < perMaster; i++ {
		k := fmt.Sprintf("key:%012d", i)
		o := owner[slots.KeySlotString(k)]
		if len(keys[o]) < perMaster {
			keys[o] = append(keys[o], k)
		}
	}
	rdbs := make([]string, 3)
	var reds []*testutil.Proc
	var wg sync.WaitGroup
	start := time.Now()
	for i := range nodes {
		rs := testutil.StartRedis(t)
		reds = append(reds, rs)
		wg.Add(2)
		go func() { defer wg.Done(); benchLoad(t, nodes[i].addr(), keys[i]) }()
		go func() { defer wg.Done(); benchLoad(t, rs.Addr(), keys[i]) }()
	}
	wg.Wait()
	if t.Failed() {
		for i, nd := range nodes {
			out := nd.proc.Output()
			t.Logf("node %d (port %d) exited: %v; last output:\n%s", i, nd.port, nd.proc.Cmd.ProcessState, out[max(0, len(out)-4000):])
		}
		t.FailNow()
	}
	t.Logf("loaded %d keys per master into slotvault and redis-server in %v", perMaster, time.Since(start).Round(time.Millisecond))
	for i, rs := range reds {
		c := testutil.Dial(t, rs.Addr())
		if v, err := c.Do("SAVE"); err != nil || v.Str != "OK" {
			t.Fatalf("SAVE: %v %v", v, err)
		}
		rdbs[i] = filepath.Join(rs.Dir, "dump.rdb")
		rs.Stop()
	}
	// A full backup after the load, so the restore reads snapshots (not a
	// replay of the whole load from the log).
	before := make([]string, len(nodes))
	shipped := func(f map[string]string) bool { return f["backup_log_shipped_seq"] == f["backup_log_local_seq"] }
	for i := range nodes {
		c := testutil.Dial(t, nodes[i].addr())
		svWaitFor(t, c, "agent", 10*time.Minute, func(map[string]string) bool { return true })
		svWaitFor(t, c, "log shipped", 10*time.Minute, shipped)
		before[i] = svStatus(t, c)["backup_ok_count"]
		c.Do("SVBACKUP", "NOW")
	}
	for i := range nodes {
		c := testutil.Dial(t, nodes[i].addr())
		svWaitFor(t, c, "backup", 10*time.Minute, func(f map[string]string) bool { return f["backup_ok_count"] != before[i] })
		svWaitFor(t, c, "log shipped", 10*time.Minute, shipped)
	}
	time.Sleep(5 * time.Millisecond)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	for _, nd := range nodes {
		nd.proc.Stop() // quiet machine for the timings
	}

	redisBin := testutil.RequireTool(t, "redis-server")
	svBin := testutil.Binary(t)
	var redisT, svT, svRestoreT, baseT, baseRestoreT []time.Duration
	// CPU time (user + system) of every process each side ran, which the
	// other load on a shared machine disturbs far less than wall time.
	var redisCPU, svCPU, baseCPU []time.Duration
	redisCPUAt := func(run int) time.Duration { return redisCPU[run].Round(time.Millisecond) }
	// SLOTVAULT_BENCH_BASELINE names another slotvault binary (an older
	// build) timed the same way in every run, for before/after figures
	// from one run on the same machine state.
	baseBin := os.Getenv("SLOTVAULT_BENCH_BASELINE")
	for run := 0; run < runs; run++ {
		// redis-server on the RDB files copied into place.
		var dirs []string
		var ports []int
		for i := range rdbs {
			dir := t.TempDir()
			b, err := os.ReadFile(rdbs[i])
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "master.rdb"), b, 0o644)
			dirs = append(dirs, dir)
			ports = append(ports, testutil.FreePort(t))
		}
		exec.Command("sync").Run()
		start := time.Now()
		var cmds []*exec.Cmd
		for i := range rdbs {
			cmds = append(cmds, startTimed(t, dirs[i], redisBin, "--port", strconv.Itoa(ports[i]), "--bind", "127.0.0.1",
				"--dir", dirs[i], "--dbfilename", "master.rdb", "--save", "", "--appendonly", "no"))
		}
		waitReady(t, ports, perMaster)
		redisT = append(redisT, time.Since(start))
		var rcpu time.Duration
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
			rcpu += exitedCPU(c)
		}
		redisCPU = append(redisCPU, rcpu)

		// slotvault: restore cluster from MinIO, then start the nodes.
		this := func() {
			restoreT, total, cpu := benchRestoreStart(t, svBin, nodes, at, tgt, perMaster, run == 0)
			svRestoreT = append(svRestoreT, restoreT)
			svT = append(svT, total)
			svCPU = append(svCPU, cpu)
			t.Logf("run %d: redis-server RDB load %v (CPU %v); slotvault restore cluster %v, + start until ready %v (CPU %v); ratio %.2fx (CPU %.2fx)",
				run+1, redisT[run].Round(time.Millisecond), redisCPUAt(run), svRestoreT[run].Round(time.Millisecond), svT[run].Round(time.Millisecond),
				cpu.Round(time.Millisecond), float64(svT[run])/float64(redisT[run]), float64(cpu)/float64(redisCPU[run]))
		}
		base := func() {
			restoreT, total, cpu := benchRestoreStart(t, baseBin, nodes, at, tgt, perMaster, false)
			baseRestoreT = append(baseRestoreT, restoreT)
			baseT = append(baseT, total)
			baseCPU = append(baseCPU, cpu)
			t.Logf("run %d: baseline %s: restore cluster %v, + start until ready %v (CPU %v); ratio %.2fx (CPU %.2fx)",
				run+1, baseBin, restoreT.Round(time.Millisecond), total.Round(time.Millisecond), cpu.Round(time.Millisecond),
				float64(total)/float64(redisT[run]), float64(cpu)/float64(redisCPU[run]))
		}
		switch {
		case baseBin == "":
			this()
		case run%2 == 1:
			// Whichever build runs first after redis-server measured
			// slower: the order alternates from run to run.
			base()
			this()
		default:
			this()
			base()
		}
	}
	mr, ms, mrs := median(redisT), median(svT), median(svRestoreT)
	mrc, msc := median(redisCPU), median(svCPU)
	t.Logf("medians of %d runs:", runs)
	t.Logf("| build | redis-server RDB load | slotvault restore cluster (fetch+verify+write) | + start until ready | ratio | CPU redis / slotvault | CPU ratio |")
	t.Logf("| this | %v | %v | %v | %.2fx | %v / %v | %.2fx |", mr.Round(time.Millisecond), mrs.Round(time.Millisecond), ms.Round(time.Millisecond), float64(ms)/float64(mr),
		mrc.Round(time.Millisecond), msc.Round(time.Millisecond), float64(msc)/float64(mrc))
	if baseBin != "" {
		mb, mbr, mbc := median(baseT), median(baseRestoreT), median(baseCPU)
		t.Logf("| baseline | %v | %v | %v | %.2fx | %v / %v | %.2fx |", mr.Round(time.Millisecond), mbr.Round(time.Millisecond), mb.Round(time.Millisecond), float64(mb)/float64(mr),
			mrc.Round(time.Millisecond), mbc.Round(time.Millisecond), float64(mbc)/float64(mrc))
	}
}

// benchRestoreStart runs `restore cluster` with bin into a fresh folder,
// then starts the restored nodes in parallel; it returns the time of the
// restore, the time until every node is ready, and the CPU time of the
// restore and of the nodes (until they were stopped, right after).
func benchRestoreStart(t *testing.T, bin string, nodes []*clusterNode, at string, tgt []string, perMaster int, logOut bool) (time.Duration, time.Duration, time.Duration) {
	outDir := filepath.Join(t.TempDir(), "restored")
	var ps []string
	for range nodes {
		ps = append(ps, strconv.Itoa(testutil.FreePort(t)))
	}
	exec.Command("sync").Run()
	start := time.Now()
	cmd := exec.Command(bin, append([]string{"restore", "cluster", "--at", at, "--out", outDir, "--ports", strings.Join(ps, ",")}, tgt...)...)
	outB, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("restore cluster: %v\n%s", err, outB)
	}
	restoreT := time.Since(start)
	cpu := exitedCPU(cmd)
	if logOut {
		t.Log(string(outB))
	}
	ents, _ := os.ReadDir(outDir)
	var cmds []*exec.Cmd
	var ports []int
	for _, e := range ents {
		dir := filepath.Join(outDir, e.Name())
		b, _ := os.ReadFile(filepath.Join(dir, "redis.conf"))
		var port int
		fmt.Sscanf(strings.SplitN(string(b), "port ", 2)[1], "%d", &port)
		ports = append(ports, port)
		cmds = append(cmds, startTimed(t, dir, bin, "server", filepath.Join(dir, "redis.conf")))
	}
	waitReady(t, ports, perMaster)
	total := time.Since(start)
	restoreCPU := cpu
	for _, c := range cmds {
		c.Process.Kill()
		c.Wait()
		cpu += exitedCPU(c)
	}
	t.Logf("%s: CPU of restore cluster %v, of the three nodes %v", filepath.Base(bin), restoreCPU.Round(time.Millisecond), (cpu - restoreCPU).Round(time.Millisecond))
	os.RemoveAll(outDir)
	return restoreT, total, cpu
}

// exitedCPU is the user + system time of a finished process.
func exitedCPU(c *exec.Cmd) time.Duration {
	if c.ProcessState == nil {
		return 0
	}
	return c.ProcessState.UserTime() + c.ProcessState.SystemTime()
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sortDurations(s)
	return s[len(s)/2]
}

// waitReady waits until every port answers PING and DBSIZE == want.
func waitReady(t *testing.T, ports []int, want int) {
	var wg sync.WaitGroup
	for _, p := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := readyAt("127.0.0.1:"+strconv.Itoa(p), want, 5*time.Minute); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func benchLoad(t *testing.T, addr string, keys []string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	w := bufio.NewWriterSize(conn, 1<<20)
	r := bufio.NewReaderSize(conn, 1<<20)
	const batch = 2000
	for i := 0; i < len(keys); i += batch {
		n := min(batch, len(keys)-i)
		for _, k := range keys[i : i+n] {
			fmt.Fprintf(w, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n0123456789abcdef\r\n", len(k), k)
		}
		if err := w.Flush(); err != nil {
			t.Error(err)
			return
		}
		for j := 0; j < n; j++ {
			line, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "+OK") {
				t.Errorf("SET: %q %v", line, err)
				return
			}
		}
	}
}

// readyAt polls addr until PING answers PONG and DBSIZE is want.
func readyAt(addr string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		for time.Now().Before(deadline) {
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write([]byte("PING\r\nDBSIZE\r\n")); err != nil {
				break
			}
			r := bufio.NewReader(conn)
			a, err1 := r.ReadString('\n')
			b, err2 := r.ReadString('\n')
			if err1 != nil || err2 != nil {
				break
			}
			if a == "+PONG\r\n" && b == ":"+strconv.Itoa(want)+"\r\n" {
				conn.Close()
				return nil
			}
			time.Sleep(2 * time.Millisecond)
		}
		conn.Close()
	}
	return fmt.Errorf("%s not ready with %d keys", addr, want)
}

func startTimed(t *testing.T, dir, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}
