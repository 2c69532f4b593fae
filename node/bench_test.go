package node_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// Hot-path benchmarks: an in-process node driven over loopback TCP by
// pipelining clients, the way redis-benchmark drives a server. The client
// side is allocation-free (requests are pre-encoded), so -benchmem reports
// the server's allocations per command. Run for example:
//
//	go test ./node -run '^$' -bench Pipeline -benchmem
//	go test ./node -run '^$' -bench 'Pipeline/set/P=16' -cpuprofile cpu.out -memprofile mem.out
//
// docs/benchmarks.md records the figures and what they chose.

// benchCommands mirrors redis-benchmark's -t tests with -r 100000.
var benchCommands = []struct {
	name string
	gen  func(r *rand.Rand) []string
}{
	{"ping", func(*rand.Rand) []string { return []string{"PING"} }},
	{"set", func(r *rand.Rand) []string { return []string{"SET", benchKey(r), "xxx"} }},
	{"get", func(r *rand.Rand) []string { return []string{"GET", benchKey(r)} }},
	{"incr", func(r *rand.Rand) []string { return []string{"INCR", "counter:" + benchKey(r)[4:]} }},
	{"lpush", func(*rand.Rand) []string { return []string{"LPUSH", "mylist", "xxx"} }},
	{"hset", func(r *rand.Rand) []string { return []string{"HSET", "myhash", benchKey(r), "xxx"} }},
	{"zadd", func(r *rand.Rand) []string {
		return []string{"ZADD", "myzset", strconv.Itoa(r.IntN(100000)), benchKey(r)}
	}},
}

func benchKey(r *rand.Rand) string { return fmt.Sprintf("key:%012d", r.IntN(100000)) }

func BenchmarkPipeline(b *testing.B) {
	srv := testutil.StartInProc(b, "save ''")
	for _, bc := range benchCommands {
		if !commandExists(b, srv.Addr(), bc.name) {
			continue
		}
		for _, p := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/P=%d", bc.name, p), func(b *testing.B) {
				runPipelined(b, srv.Addr(), 16, p, bc.gen)
			})
		}
	}
}

func commandExists(b *testing.B, addr, name string) bool {
	c := testutil.Dial(b, addr)
	v, err := c.Do("COMMAND", "INFO", name)
	if err != nil {
		b.Fatal(err)
	}
	return len(v.Elems) == 1 && !v.Elems[0].Null
}

// runPipelined sends b.N commands over `clients` connections, `pipe`
// commands per round trip, and reads every reply.
func runPipelined(b *testing.B, addr string, clients, pipe int, gen func(*rand.Rand) []string) {
	// Pre-encode a ring of requests so the client allocates nothing.
	r := rand.New(rand.NewPCG(1, 2))
	const ring = 4096
	reqs := make([][]byte, ring)
	for i := range reqs {
		reqs[i] = resp.Encode(gen(r)...)
	}
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	per := b.N / clients
	extra := b.N % clients
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		n := per
		if i < extra {
			n++
		}
		wg.Add(1)
		go func(i int, c net.Conn, n int) {
			defer wg.Done()
			if err := drive(c, reqs, i*977, n, pipe); err != nil {
				errs <- err
			}
		}(i, c, n)
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func drive(c net.Conn, reqs [][]byte, at, n, pipe int) error {
	rd := bufio.NewReaderSize(c, 64<<10)
	buf := make([]byte, 0, 64<<10)
	for n > 0 {
		k := min(pipe, n)
		buf = buf[:0]
		for j := 0; j < k; j++ {
			buf = append(buf, reqs[at%len(reqs)]...)
			at++
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
		for j := 0; j < k; j++ {
			if err := skipReply(rd); err != nil {
				return err
			}
		}
		n -= k
	}
	return nil
}

// skipReply consumes one RESP2 reply without allocating; it fails on an
// error reply so that a broken benchmark does not pass silently.
func skipReply(rd *bufio.Reader) error {
	line, err := rd.ReadSlice('\n')
	if err != nil {
		return err
	}
	switch line[0] {
	case '-':
		return fmt.Errorf("error reply: %q", line)
	case '$':
		n := atoiLine(line[1:])
		if n >= 0 {
			if _, err := rd.Discard(n + 2); err != nil {
				return err
			}
		}
	case '*':
		n := atoiLine(line[1:])
		for i := 0; i < n; i++ {
			if err := skipReply(rd); err != nil {
				return err
			}
		}
	}
	return nil
}

func atoiLine(b []byte) int {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

// BenchmarkSerialize compares the two ways of making commands atomic that
// keep one goroutine per connection: taking the node mutex in the
// connection's goroutine (what the node does), or handing each command to
// one executor goroutine and waiting for its completion (Redis's single
// thread, in Go). The command itself is a map update, so the figure is the
// cost of the hand-off. docs/benchmarks.md records the result.
func BenchmarkSerialize(b *testing.B) {
	const conns = 16
	b.Run("mutex", func(b *testing.B) {
		var mu sync.Mutex
		m := map[int]int{}
		b.SetParallelism(conns)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				mu.Lock()
				m[i&1023]++
				mu.Unlock()
				i++
			}
		})
	})
	b.Run("executor", func(b *testing.B) {
		type req struct {
			k    int
			done chan struct{}
		}
		q := make(chan req, conns)
		m := map[int]int{}
		go func() {
			for r := range q {
				m[r.k]++
				r.done <- struct{}{}
			}
		}()
		defer close(q)
		b.SetParallelism(conns)
		b.RunParallel(func(pb *testing.PB) {
			done := make(chan struct{}, 1)
			i := 0
			for pb.Next() {
				q <- req{i & 1023, done}
				<-done
				i++
			}
		})
	})
}
