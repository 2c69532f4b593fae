package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// keyName is the key redis-benchmark's __rand_int__ produces with -r, so
// the write load overwrites the loaded dataset.
func keyName(i int) string { return fmt.Sprintf("key:%012d", i) }

const value16 = "0123456789abcdef"

// loadKeys SETs keys key:000000000000.. with 16-byte values over a few
// pipelined connections.
func loadKeys(addr string, keys int) {
	const conns = 4
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			must(err)
			defer conn.Close()
			w := bufio.NewWriterSize(conn, 1<<20)
			r := bufio.NewReaderSize(conn, 1<<20)
			const batch = 2000
			lo, hi := keys*c/conns, keys*(c+1)/conns
			for i := lo; i < hi; i += batch {
				n := min(batch, hi-i)
				for j := 0; j < n; j++ {
					k := keyName(i + j)
					fmt.Fprintf(w, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n", len(k), k, value16)
				}
				must(w.Flush())
				for j := 0; j < n; j++ {
					line, err := r.ReadString('\n')
					must(err)
					if !strings.HasPrefix(line, "+OK") {
						fatalf("load: %q", line)
					}
				}
			}
		}(c)
	}
	wg.Wait()
}

// sample is one request of the write load: when it was sent and how long
// its reply took.
type sample struct{ at, lat int64 }

// writeLoad runs clients connections that SET random existing keys until
// stopped, recording every request.
type writeLoad struct {
	stop    atomic.Bool
	wg      sync.WaitGroup
	samples [][]sample
	t0      time.Time
}

func startWriteLoad(addr string, clients, keys int) *writeLoad {
	wl := &writeLoad{samples: make([][]sample, clients), t0: time.Now()}
	for c := 0; c < clients; c++ {
		wl.wg.Add(1)
		go func(c int) {
			defer wl.wg.Done()
			conn, err := net.Dial("tcp", addr)
			must(err)
			defer conn.Close()
			r := bufio.NewReaderSize(conn, 4096)
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			buf := make([]byte, 0, 128)
			out := make([]sample, 0, 1<<16)
			for !wl.stop.Load() {
				k := keyName(rng.IntN(keys))
				buf = buf[:0]
				buf = append(buf, "*3\r\n$3\r\nSET\r\n$"...)
				buf = strconv.AppendInt(buf, int64(len(k)), 10)
				buf = append(buf, "\r\n"...)
				buf = append(buf, k...)
				buf = append(buf, "\r\n$16\r\n"+value16+"\r\n"...)
				t := time.Now()
				if _, err := conn.Write(buf); err != nil {
					fatalf("write load: %v", err)
				}
				line, err := r.ReadString('\n')
				if err != nil {
					fatalf("write load: %v", err)
				}
				if !strings.HasPrefix(line, "+OK") {
					fatalf("write load: %q", line)
				}
				out = append(out, sample{t.Sub(wl.t0).Nanoseconds(), time.Since(t).Nanoseconds()})
			}
			wl.samples[c] = out
		}(c)
	}
	return wl
}

func (wl *writeLoad) finish() {
	wl.stop.Store(true)
	wl.wg.Wait()
}

// window returns ops/s, p50 and p99 (ms) of the requests sent in [from, to).
func (wl *writeLoad) window(from, to time.Time) (ops, p50, p99 float64) {
	a, b := from.Sub(wl.t0).Nanoseconds(), to.Sub(wl.t0).Nanoseconds()
	var lats []int64
	for _, ss := range wl.samples {
		for _, s := range ss {
			if s.at >= a && s.at < b {
				lats = append(lats, s.lat)
			}
		}
	}
	if len(lats) == 0 {
		return 0, 0, 0
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	q := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))]) / 1e6 }
	return float64(len(lats)) / to.Sub(from).Seconds(), q(0.50), q(0.99)
}

// procMem is the memory of a process and its children (a forked Redis
// child): RSS summed as the kernel reports it, and PSS (shared pages split
// between the processes sharing them, so the sum is physical memory).
type procMem struct{ rss, pss int64 }

func memOf(pid int) procMem {
	var m procMem
	for _, p := range append([]int{pid}, childrenOf(pid)...) {
		m.rss += statusField(p, "VmRSS:")
		m.pss += rollupField(p, "Pss:")
	}
	return m
}

func childrenOf(pid int) []int {
	var out []int
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func statusField(pid int, field string) int64 {
	return kbField(fmt.Sprintf("/proc/%d/status", pid), field)
}
func rollupField(pid int, field string) int64 {
	return kbField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), field)
}

func kbField(path, field string) int64 {
	data, err := os.ReadFile(path)
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

// memSampler samples a process's memory every interval until stopped and
// keeps the peaks.
type memSampler struct {
	stop    chan struct{}
	done    chan struct{}
	peak    procMem
	samples int
}

func sampleMem(pid int, every time.Duration) *memSampler {
	s := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m := memOf(pid)
			s.samples++
			s.peak.rss = max(s.peak.rss, m.rss)
			s.peak.pss = max(s.peak.pss, m.pss)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *memSampler) finish() procMem {
	close(s.stop)
	<-s.done
	return s.peak
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
