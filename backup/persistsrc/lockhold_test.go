package persistsrc

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotvault/slotvault/store"
)

// TestCutLockHolds measures (and logs; it asserts only correctness) how
// long a streamed backup holds the node lock: the producer's steps and the
// commands that copy a pending slot, while a writer touches random keys
// and the reader consumes slowly, as a throttled upload does. It also logs
// how long the copy-on-write window (the cut) stays open compared with the
// whole read.
func TestCutLockHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("measures a 48 MiB dataset")
	}
	h, m := newTestManager(t, 1)
	const keys = 48 << 10
	val := make([]byte, 1024)
	h.WithLock(func() {
		for i := 0; i < keys; i++ {
			rand.Read(val)
			h.dbs[0].Set(fmt.Sprintf("k:%d", i), &store.String{B: append([]byte(nil), val...)}, 0)
		}
	})
	var mu sync.Mutex
	var holds []time.Duration
	var maxStep, maxCmd time.Duration
	var inBackup atomic.Bool
	timedAs := func(cmd bool) func(fn func()) {
		return func(fn func()) {
			h.WithLock(func() {
				t0 := time.Now()
				fn()
				if inBackup.Load() {
					d := time.Since(t0)
					mu.Lock()
					holds = append(holds, d)
					if cmd {
						maxCmd = max(maxCmd, d)
					} else {
						maxStep = max(maxStep, d)
					}
					mu.Unlock()
				}
			})
		}
	}
	timed := timedAs(true)
	src := &Snapshots{Mgr: m, WithLock: timedAs(false), Workers: 1, SpillDir: t.TempDir(), BufferMaxBytes: 8 << 20}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a client writing random keys
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			timed(func() {
				h.dbs[0].Set(fmt.Sprintf("k:%d", mrand.IntN(keys)), &store.String{B: []byte("new")}, 0)
			})
		}
	}()
	inBackup.Store(true)
	t0 := time.Now()
	snap, err := src.OpenSnapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := snap.(*cutReader)
	var cutOpen time.Duration
	go func() {
		r.mu.Lock()
		for !r.produced {
			r.cond.Wait()
		}
		r.mu.Unlock()
		cutOpen = time.Since(t0)
	}()
	n := 0
	for {
		_, err := snap.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n++; n%2048 == 0 {
			time.Sleep(5 * time.Millisecond) // a slow upload: ~400 MB/s at most
		}
	}
	read := time.Since(t0)
	inBackup.Store(false)
	close(stop)
	wg.Wait()
	snap.Close()
	if n != keys {
		t.Fatalf("read %d keys, want %d", n, keys)
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(holds, func(i, j int) bool { return holds[i] < holds[j] })
	bounds := []time.Duration{10 * time.Microsecond, 100 * time.Microsecond, time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond}
	counts := make([]int, len(bounds)+1)
	for _, d := range holds {
		i := sort.Search(len(bounds), func(i int) bool { return d <= bounds[i] })
		counts[i]++
	}
	t.Logf("lock holds during the backup: %d, p50 %v, p99 %v, p99.9 %v, max %v", len(holds),
		holds[len(holds)/2], holds[len(holds)*99/100], holds[len(holds)*999/1000], holds[len(holds)-1])
	for i, c := range counts {
		if i < len(bounds) {
			t.Logf("  <= %-8v %d", bounds[i], c)
		} else {
			t.Logf("  >  %-8v %d", bounds[len(bounds)-1], c)
		}
	}
	t.Logf("max hold: backup step %v, command %v", maxStep, maxCmd)
	t.Logf("cut open %v of a %v read (spooled: %v)", cutOpen.Round(time.Millisecond), read.Round(time.Millisecond), r.spooled)
}
