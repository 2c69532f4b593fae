package e2e

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/miniotest"
	"github.com/slotvault/slotvault/internal/testutil"
)

// TestBackupBenchmarks measures (no assertions; figures go to the log and
// docs/backup-benchmarks.md):
//
//  1. full-backup throughput in MB/s for a dataset of random (incompressible)
//     1 KiB values, next to a plain minio-go PutObject of a file with the
//     same number of bytes to the same MinIO;
//
//  2. redis-benchmark throughput and p99 with and without a backup running;
//
//  3. log-shipping lag (INFO backup) under a steady write load.
//
//     SLOTVAULT_BENCH=1 go test ./internal/e2e/ -run TestBackupBenchmarks -count=1 -v -timeout 20m
//
// SLOTVAULT_BENCH_MB sets the dataset size (default 300).
func TestBackupBenchmarks(t *testing.T) {
	if os.Getenv("SLOTVAULT_BENCH") == "" {
		t.Skip("set SLOTVAULT_BENCH=1 to run the backup benchmarks")
	}
	mb := 300
	if v, err := strconv.Atoi(os.Getenv("SLOTVAULT_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	srv := miniotest.Start(t)
	srv.Store(t, "bench", "")
	t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
	p := testutil.StartSlotvault(t, "--appendonly", "yes", "--backup-target", "s3://bench/node",
		"--backup-s3-endpoint", srv.Endpoint, "--backup-schedule", "@every 24h")
	c := testutil.Dial(t, p.Addr())
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: p.Addr(), PoolSize: 8})
	defer rdb.Close()

	// Dataset: mb MiB of random 1 KiB values over 4 pipelined writers.
	keys := mb * 1024
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			val := make([]byte, 1024)
			for i := keys * g / 4; i < keys*(g+1)/4; i += 500 {
				pl := rdb.Pipeline()
				for j := i; j < min(i+500, keys*(g+1)/4); j++ {
					rand.Read(val)
					pl.Set(ctx, fmt.Sprintf("data:%09d", j), string(val), 0)
				}
				if _, err := pl.Exec(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("loaded %d keys (%d MiB of values) in %v", keys, mb, time.Since(start).Round(time.Millisecond))
	svWait(t, c, "agent", func(f map[string]string) bool { return f["backup_in_progress"] == "0" })

	// 1. Backup throughput (two runs) vs a plain upload.
	type run struct {
		bytes int64
		ms    int64
		wall  time.Duration
	}
	backupOnce := func() run {
		before := svStatus(t, c)["backup_ok_count"]
		cpu0 := backupProcCPU(p.Cmd.Process.Pid)
		defer func() {
			t.Logf("BACKUP node CPU time during the backup: %v", (backupProcCPU(p.Cmd.Process.Pid) - cpu0).Round(time.Millisecond))
		}()
		t0 := time.Now()
		if v, _ := c.Do("SVBACKUP", "NOW"); v.IsError() {
			t.Fatalf("SVBACKUP NOW: %s", v.Str)
		}
		var f map[string]string
		svWait(t, c, "backup", func(s map[string]string) bool { f = s; return s["backup_ok_count"] != before })
		b, _ := strconv.ParseInt(f["backup_last_bytes"], 10, 64)
		ms, _ := strconv.ParseInt(f["backup_last_duration_ms"], 10, 64)
		return run{b, ms, time.Since(t0)}
	}
	// Throughput is measured without the bandwidth cap; the client impact
	// both without it and with it (SLOTVAULT_BENCH_THROTTLE, default the
	// node's default backup-max-bandwidth).
	throttle := os.Getenv("SLOTVAULT_BENCH_THROTTLE")
	if throttle == "" {
		v, _ := c.Do("CONFIG", "GET", "backup-max-bandwidth")
		throttle = v.Elems[1].Str
	}
	setBW := func(bw string) {
		if v, err := c.Do("CONFIG", "SET", "backup-max-bandwidth", bw); err != nil || v.IsError() {
			t.Fatalf("CONFIG SET backup-max-bandwidth %s: %v %v", bw, v, err)
		}
	}
	setBW("0")
	// Backups and plain uploads of the same number of bytes alternate, three
	// of each, so both see the same machine load; the medians are reported.
	// With SLOTVAULT_PPROF_ADDR set (a build that serves net/http/pprof
	// there), a CPU profile of the node during the second backup is saved
	// to SLOTVAULT_BENCH_PROFILE.
	mc, err := minio.New(strings.TrimPrefix(srv.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(miniotest.AccessKey, miniotest.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "plain.bin")
	var backupMBs, plainMBs []float64
	for i := 0; i < 3; i++ {
		var prof chan struct{}
		if a, out := os.Getenv("SLOTVAULT_PPROF_ADDR"), os.Getenv("SLOTVAULT_BENCH_PROFILE"); i == 1 && a != "" && out != "" {
			prof = make(chan struct{})
			go func() {
				defer close(prof)
				if err := exec.Command("curl", "-s", "-o", out, "http://"+a+"/debug/pprof/profile?seconds=6").Run(); err != nil {
					t.Logf("profile: %v", err)
				}
			}()
		}
		r := backupOnce()
		if prof != nil {
			<-prof
		}
		bm := mbps(r.bytes, time.Duration(r.ms)*time.Millisecond)
		backupMBs = append(backupMBs, bm)
		t.Logf("BACKUP run %d: %d bytes stored in %d ms (agent) / %v (wall) = %.1f MB/s (agent), %.1f MB/s (wall)",
			i+1, r.bytes, r.ms, r.wall.Round(time.Millisecond), bm, mbps(r.bytes, r.wall))
		if i == 0 {
			writeRandomFile(t, file, r.bytes)
		}
		fh, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := fh.Stat()
		t0 := time.Now()
		info, err := mc.PutObject(ctx, "bench", fmt.Sprintf("plain/%d.bin", i), fh, st.Size(), minio.PutObjectOptions{ContentType: "application/octet-stream"})
		d := time.Since(t0)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		plainMBs = append(plainMBs, mbps(info.Size, d))
		t.Logf("PLAIN upload run %d: %d bytes in %v = %.1f MB/s", i+1, info.Size, d.Round(time.Millisecond), mbps(info.Size, d))
	}
	bmed, pmed := medianF(backupMBs), medianF(plainMBs)
	t.Logf("THROUGHPUT median of 3: backup %.1f MB/s, plain upload %.1f MB/s, ratio %.0f%%", bmed, pmed, 100*bmed/pmed)

	// 2. Client throughput and p99 with and without backups running back to
	// back; three rounds alternating the two, medians reported.
	type clientFig struct{ rps, p50, p99 float64 }
	bench := func(label string) map[string]clientFig {
		out, err := exec.Command("redis-benchmark", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-t", "set,get",
			"-n", "100000", "-c", "50", "-r", "100000", "-d", "64", "--csv").CombinedOutput()
		if err != nil {
			t.Fatalf("redis-benchmark: %v\n%s", err, out)
		}
		recs, _ := csv.NewReader(strings.NewReader(string(out))).ReadAll()
		figs := map[string]clientFig{}
		for _, r := range recs[1:] {
			t.Logf("CLIENT %-16s %-4s rps=%s avg=%sms p50=%sms p99=%sms max=%sms", label, r[0], r[1], r[2], r[4], r[6], r[7])
			var f clientFig
			f.rps, _ = strconv.ParseFloat(r[1], 64)
			f.p50, _ = strconv.ParseFloat(r[4], 64)
			f.p99, _ = strconv.ParseFloat(r[6], 64)
			figs[r[0]] = f
		}
		return figs
	}
	profRound := 0
	during := func() map[string]clientFig {
		stop := make(chan struct{})
		var inBackup, samples atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			bc := testutil.Dial(t, p.Addr())
			for {
				select {
				case <-stop:
					return
				default:
				}
				f := svStatus(t, bc)
				samples.Add(1)
				if f["backup_in_progress"] == "1" {
					inBackup.Add(1)
				} else {
					bc.Do("SVBACKUP", "NOW")
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		time.Sleep(200 * time.Millisecond)
		// SLOTVAULT_BENCH_PROFILE_CLIENT: a CPU profile of the node under
		// client load with backups running (first round of each kind,
		// suffixed with the cap).
		var prof chan struct{}
		if a, out := os.Getenv("SLOTVAULT_PPROF_ADDR"), os.Getenv("SLOTVAULT_BENCH_PROFILE_CLIENT"); a != "" && out != "" && profRound == 0 {
			prof = make(chan struct{})
			st := svStatus(t, c)
			go func() {
				defer close(prof)
				if err := exec.Command("curl", "-s", "-o", out+"."+st["backup_max_bandwidth"], "http://"+a+"/debug/pprof/profile?seconds=8").Run(); err != nil {
					t.Logf("profile: %v", err)
				}
			}()
		}
		figs := bench("during-backup")
		if prof != nil {
			<-prof
		}
		st := svStatus(t, c)
		t.Logf("CLIENT last backup during the run: %s bytes in %s ms (cap %s)", st["backup_last_bytes"], st["backup_last_duration_ms"], st["backup_max_bandwidth"])
		close(stop)
		<-done
		t.Logf("CLIENT backup in progress in %d of %d samples during the run", inBackup.Load(), samples.Load())
		svWait(t, c, "backup idle", func(f map[string]string) bool { return f["backup_in_progress"] == "0" })
		return figs
	}
	capped := "backup-capped-" + throttle
	labels := []string{"no-backup", "backup-uncapped", capped}
	figs := map[string]map[string][]clientFig{}
	for _, l := range labels {
		figs[l] = map[string][]clientFig{}
	}
	rounds := 3 // SLOTVAULT_BENCH_ROUNDS: client rounds (medians need 3)
	if v, err := strconv.Atoi(os.Getenv("SLOTVAULT_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	if os.Getenv("SLOTVAULT_BENCH_SKIP_CLIENT") == "" {
		for i := 0; i < rounds; i++ {
			for test, f := range bench("no-backup") {
				figs["no-backup"][test] = append(figs["no-backup"][test], f)
			}
			setBW("0")
			for test, f := range during() {
				figs["backup-uncapped"][test] = append(figs["backup-uncapped"][test], f)
			}
			setBW(throttle)
			for test, f := range during() {
				figs[capped][test] = append(figs[capped][test], f)
			}
			profRound++
		}
		for _, label := range labels {
			for _, test := range []string{"SET", "GET"} {
				var rps, p50, p99 []float64
				for _, f := range figs[label][test] {
					rps, p50, p99 = append(rps, f.rps), append(p50, f.p50), append(p99, f.p99)
				}
				if len(rps) > 0 {
					t.Logf("CLIENT median of 3 %-22s %s rps=%.0f p50=%.3fms p99=%.3fms", label, test, medianF(rps), medianF(p50), medianF(p99))
				}
			}
		}
	}

	if os.Getenv("SLOTVAULT_BENCH_SKIP_LAG") != "" {
		return
	}
	// 3. Log-shipping lag under a steady write load (about 2000 SET/s).
	var lags []float64
	var maxRec int64
	stopW := make(chan struct{})
	var wrote atomic.Int64
	var ww sync.WaitGroup
	for g := 0; g < 4; g++ {
		ww.Add(1)
		go func(g int) {
			defer ww.Done()
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stopW:
					return
				case <-tick.C:
				}
				rdb.Set(ctx, fmt.Sprintf("steady:%d:%d", g, i%10000), i, 0)
				wrote.Add(1)
			}
		}(g)
	}
	t0 := time.Now()
	for time.Since(t0) < 20*time.Second {
		f := svStatus(t, c)
		l, _ := strconv.ParseFloat(f["backup_log_lag_seconds"], 64)
		r, _ := strconv.ParseInt(f["backup_log_lag_records"], 10, 64)
		lags = append(lags, l)
		maxRec = max(maxRec, r)
		time.Sleep(100 * time.Millisecond)
	}
	close(stopW)
	ww.Wait()
	el := time.Since(t0)
	sort.Float64s(lags)
	var sum float64
	for _, l := range lags {
		sum += l
	}
	f := svStatus(t, c)
	t.Logf("LAG steady load %.0f SET/s for %v, ship interval %s: lag_seconds avg=%.3f p50=%.3f p99=%.3f max=%.3f (%d samples), max lag_records=%d, ship failures=%s",
		float64(wrote.Load())/el.Seconds(), el.Round(time.Second), "1s (default)", sum/float64(len(lags)),
		lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1], len(lags), maxRec, f["backup_log_ship_failures"])
}

func medianF(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// procCPU returns a process's user+system CPU time (Linux /proc), so
// figures can be compared even when other jobs load the machine.
func backupProcCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond // USER_HZ = 100
}

func mbps(b int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(b) / 1e6 / d.Seconds()
}

func writeRandomFile(t *testing.T, name string, n int64) {
	t.Helper()
	fh, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := io.CopyN(fh, rand.Reader, n); err != nil {
		t.Fatal(err)
	}
}
