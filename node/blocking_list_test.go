package node_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/node"
	"github.com/slotvault/slotvault/store"
)

// blockTarget is one server a blocking scenario runs against.
type blockTarget struct {
	name      string
	addr      string
	blocked   func() int
	setString func(key, val string)
}

func redisTarget(t *testing.T, d *listDiff) blockTarget {
	ctl := testutil.Dial(t, d.rAddr)
	return blockTarget{
		name: "redis",
		addr: d.rAddr,
		blocked: func() int {
			v, err := ctl.Do("INFO", "clients")
			if err != nil {
				t.Fatalf("INFO: %v", err)
			}
			for _, line := range strings.Split(v.Str, "\r\n") {
				if n, ok := strings.CutPrefix(line, "blocked_clients:"); ok {
					c, _ := strconv.Atoi(n)
					return c
				}
			}
			t.Fatal("no blocked_clients in INFO")
			return 0
		},
		setString: func(key, val string) {
			if v, err := ctl.Do("SET", key, val); err != nil || v.IsError() {
				t.Fatalf("SET: %v %v", v, err)
			}
		},
	}
}

func nodeTarget(n *node.Node, addr string) blockTarget {
	return blockTarget{
		name:    "slotvault",
		addr:    addr,
		blocked: n.BlockedClients,
		setString: func(key, val string) {
			n.WithLock(func() { n.DB(0).Set(key, &store.String{B: []byte(val)}, 0) })
		},
	}
}

// runBlocking plays a scenario against one server and returns what every
// client received, one line per reply. Script lines:
//
//	N: CMD ...     client N sends CMD and reads its reply
//	N> CMD ...     client N sends CMD, which must block (waits until the
//	               server counts one more blocked client)
//	N>> CMD ...    client N sends CMD without reading (pipelining)
//	N<             client N reads one reply
//	N close        client N disconnects
//	blocked K      wait until the server counts K blocked clients
//	!string K V    make K a string
func runBlocking(t *testing.T, tg blockTarget, script string) []string {
	t.Helper()
	conns := map[string]*resp.Conn{}
	conn := func(id string) *resp.Conn {
		c := conns[id]
		if c == nil {
			c = testutil.Dial(t, tg.addr)
			c.Timeout = 5 * time.Second
			conns[id] = c
		}
		return c
	}
	waitBlocked := func(want int, line string) {
		deadline := time.Now().Add(5 * time.Second)
		for tg.blocked() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q: blocked clients %d, want %d", tg.name, line, tg.blocked(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var out []string
	record := func(id string, v resp.Value, err error, line string) {
		if err != nil {
			t.Fatalf("%s: %q: %v", tg.name, line, err)
		}
		out = append(out, fmt.Sprintf("%-40s => %s: %s", line, id, v))
	}
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "!string "); ok {
			f := strings.Fields(rest)
			tg.setString(f[0], f[1])
			continue
		}
		if rest, ok := strings.CutPrefix(line, "blocked "); ok {
			n, _ := strconv.Atoi(rest)
			waitBlocked(n, line)
			continue
		}
		i := strings.IndexAny(line, ":<> ")
		id, op := line[:i], line[i:]
		switch {
		case op == " close":
			conn(id).Close()
			delete(conns, id)
		case op == "<":
			v, err := conn(id).Read()
			record(id, v, err, line)
		default:
			var mode string
			for _, m := range []string{">>", ">", ":"} {
				if strings.HasPrefix(op, m) {
					mode = m
					break
				}
			}
			args, err := config.SplitArgs(strings.TrimSpace(op[len(mode):]))
			if err != nil || mode == "" {
				t.Fatalf("bad script line %q", line)
			}
			c := conn(id)
			switch mode {
			case ":":
				v, err := c.Do(args...)
				record(id, v, err, line)
			case ">>":
				if err := c.Send(args...); err != nil {
					t.Fatal(err)
				}
			case ">":
				before := tg.blocked()
				if err := c.Send(args...); err != nil {
					t.Fatal(err)
				}
				waitBlocked(before+1, line)
			}
		}
	}
	return out
}

// diffBlocking runs script against redis-server and slotvault and requires
// every client to receive the same replies.
func diffBlocking(t *testing.T, script string) {
	t.Helper()
	d := newListDiff(t)
	want := runBlocking(t, redisTarget(t, d), script)
	got := runBlocking(t, nodeTarget(d.node, d.svAddr), script)
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("transcripts differ\nredis:\n  %s\nslotvault:\n  %s", strings.Join(want, "\n  "), strings.Join(got, "\n  "))
	}
}

func TestBlockingListFIFO(t *testing.T) {
	diffBlocking(t, `
1> BLPOP {t}k 0
2> BRPOP {t}k 0
3> BLPOP {t}other {t}k 0
blocked 3
0: RPUSH {t}k a b c d
1<
2<
3<
0: LRANGE {t}k 0 -1
# LPUSH of several elements: the head is the last one pushed
1> BLPOP {t}m 0
2> BRPOP {t}m 0
0: LPUSH {t}m a b c
1<
2<
0: LRANGE {t}m 0 -1
# exactly enough elements: the key is consumed and deleted
1> BLPOP {t}n 0
2> BLPOP {t}n 0
0: RPUSH {t}n x y
1<
2<
0: LLEN {t}n
0: LPUSHX {t}n z
# timeouts that round up to 0 ms mean "wait forever"
1> BLPOP {t}z -0.0009
2> BRPOP {t}z -0.0000001
0: RPUSH {t}z 1 2
1<
2<
`)
}

func TestBlockingListTimeouts(t *testing.T) {
	diffBlocking(t, `
1: BLPOP {t}k 0.05
1: BRPOP {t}k {t}j 0.05
1: BLMOVE {t}k {t}d LEFT RIGHT 0.05
1: BRPOPLPUSH {t}k {t}d 0.05
1: BLMPOP 0.05 2 {t}k {t}j LEFT COUNT 2
# a fraction of a millisecond rounds up to 1 ms
1: BLPOP {t}k 0.0001
1: BLPOP {t}k 1e-300
0: LLEN {t}d
# a client that timed out is not served later
1: BLPOP {t}k 0.01
0: RPUSH {t}k a
0: LRANGE {t}k 0 -1
`)
}

func TestBlockingListMoveChain(t *testing.T) {
	diffBlocking(t, `
1> BLMOVE {t}a {t}b LEFT RIGHT 0
2> BLMOVE {t}b {t}c RIGHT LEFT 0
3> BRPOPLPUSH {t}c {t}d 0
4> BLPOP {t}d 0
blocked 4
0: RPUSH {t}a x y
1<
2<
3<
4<
0: LRANGE {t}a 0 -1
0: LLEN {t}b
0: LLEN {t}c
0: LLEN {t}d
# rotation onto the same key wakes the next waiter on it
1> BLMOVE {t}r {t}r LEFT RIGHT 0
2> BLPOP {t}r 0
0: RPUSH {t}r only
1<
2<
0: LLEN {t}r
`)
}

func TestBlockingListMpop(t *testing.T) {
	diffBlocking(t, `
1> BLMPOP 0 2 {t}x {t}y RIGHT COUNT 2
2> BLMPOP 0 1 {t}y LEFT
3> BLMPOP 0 1 {t}y LEFT COUNT 5
0: RPUSH {t}y 1 2 3 4 5
1<
2<
3<
0: LLEN {t}y
1> BLMPOP 0 2 {t}x {t}y LEFT COUNT 10
0: RPUSH {t}x a
1<
`)
}

func TestBlockingListWrongTypeDestination(t *testing.T) {
	diffBlocking(t, `
1> BLMOVE {t}a {t}s LEFT LEFT 0
2> BRPOPLPUSH {t}a {t}s 0
3> BLPOP {t}a 0
!string {t}s v
0: RPUSH {t}a x
1<
2<
3<
0: LLEN {t}a
`)
}

func TestBlockingListDisconnect(t *testing.T) {
	diffBlocking(t, `
1> BLPOP {t}k 0
2> BLMOVE {t}k {t}d LEFT LEFT 0
1 close
2 close
blocked 0
0: RPUSH {t}k x
0: LRANGE {t}k 0 -1
0: LLEN {t}d
`)
}

func TestBlockingListPipelined(t *testing.T) {
	diffBlocking(t, `
1> BLPOP {t}k 0
1>> LLEN {t}k
1>> RPUSH {t}k again
0: RPUSH {t}k x
1<
1<
1<
0: LRANGE {t}k 0 -1
# the same key twice is served once
1> BLPOP {t}j {t}j 0
0: RPUSH {t}j a b
1<
0: LRANGE {t}j 0 -1
`)
}

func TestBlockingListMulti(t *testing.T) {
	d := newListDiff(t)
	if v, _ := d.SV.Do("MULTI"); v.IsError() {
		t.Skip("MULTI/EXEC is not implemented in this branch")
	}
	d.SV.Do("DISCARD")
	diffBlocking(t, `
0: MULTI
0: BLPOP {t}none 0
0: BRPOP {t}none 0
0: BLMOVE {t}none {t}x LEFT LEFT 0
0: BRPOPLPUSH {t}none {t}x 0
0: BLMPOP 0 1 {t}none LEFT
0: RPUSH {t}q a
0: BLPOP {t}q 0
0: EXEC
# a client blocked on two keys is served from the key made ready first
1> BLPOP {t}k1 {t}k2 0
0: MULTI
0: RPUSH {t}k2 a
0: RPUSH {t}k1 b
0: EXEC
1<
0: LRANGE {t}k1 0 -1
# a push and pop of the same key inside MULTI serves nobody
1> BLPOP {t}e 0
0: MULTI
0: RPUSH {t}e a
0: LPOP {t}e
0: EXEC
0: RPUSH {t}e b
1<
`)
}

// memLog is an in-memory WriteLog.
type memLog struct {
	mu   sync.Mutex
	recs []string
	argv [][][]byte
}

func (m *memLog) Append(db int, argv [][]byte) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := make([][]byte, len(argv))
	parts := make([]string, len(argv))
	for i, a := range argv {
		cp[i] = append([]byte(nil), a...)
		parts[i] = string(a)
	}
	m.argv = append(m.argv, cp)
	m.recs = append(m.recs, strings.Join(parts, " "))
	return uint64(len(m.recs))
}

func (m *memLog) Wait(uint64) error { return nil }

func (m *memLog) Err() error { return nil }

func (m *memLog) records() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.recs...)
}

// dumpLists renders every key of db 0 of n.
func dumpLists(n *node.Node) string {
	var lines []string
	n.WithLock(func() {
		db := n.DB(0)
		for s := db.NextNonEmptySlot(0); s >= 0; s = db.NextNonEmptySlot(s + 1) {
			db.KeysInSlot(s, func(k string, e *store.Entry) bool {
				if l, ok := e.Value.(*store.List); ok {
					lines = append(lines, fmt.Sprintf("%s=%q", k, l.Object().List))
				} else {
					lines = append(lines, fmt.Sprintf("%s:%s", k, e.Value.Type()))
				}
				return true
			})
		}
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// readAOF returns the commands of redis-server's incremental AOF in dir,
// without SELECT and MULTI/EXEC wrappers.
func readAOF(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.incr.aof"))
	if len(files) != 1 {
		t.Fatalf("AOF files: %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(bytes.NewReader(data))
	var out []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return out
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		parts := make([]string, n)
		for i := range parts {
			hdr, _ := r.ReadString('\n')
			size, _ := strconv.Atoi(strings.TrimSpace(hdr[1:]))
			buf := make([]byte, size+2)
			io.ReadFull(r, buf)
			parts[i] = string(buf[:size])
		}
		switch strings.ToUpper(parts[0]) {
		case "SELECT", "MULTI", "EXEC":
			continue
		}
		out = append(out, strings.Join(parts, " "))
	}
}

// TestListPropagation checks that list commands send to the write log what
// Redis writes to its AOF — blocking pops as their non-blocking forms — and
// that replaying the log rebuilds the same lists.
func TestListPropagation(t *testing.T) {
	script := `
0: RPUSH {t}a 1 2 3 4 5
0: LPUSHX {t}none x
0: LPOP {t}a
0: RPOP {t}a 1
0: LPOP {t}a 0
0: LPOP {t}none
0: BLPOP {t}none {t}a 0
0: BRPOP {t}a 0
0: RPUSH {t}a 1 2 3 4 5
0: LMPOP 2 {t}none {t}a LEFT COUNT 2
0: BLMPOP 0 1 {t}a RIGHT COUNT 10
0: RPUSH {t}a 1 2 3
0: BLMOVE {t}a {t}b left right 0
0: BRPOPLPUSH {t}a {t}b 0
0: LMOVE {t}a {t}b RIGHT LEFT
0: LTRIM {t}b 0 -1
0: LTRIM {t}b 1 -1
0: LREM {t}b 0 zz
0: RPUSH {t}b zz 1 zz
0: LREM {t}b -1 zz
0: LSET {t}b 0 z
0: LINSERT {t}b BEFORE z y
0: LINSERT {t}b BEFORE nopivot y
1> BLPOP {t}p 0
2> BLMOVE {t}p {t}q LEFT RIGHT 0
3> BRPOPLPUSH {t}q {t}r 0
4> BLMPOP 0 1 {t}p RIGHT COUNT 3
5> BLMPOP 0 1 {t}p RIGHT COUNT 3
0: RPUSH {t}p a b c d e f g h
1<
2<
3<
4<
5<
0: LRANGE {t}p 0 -1
`
	rp := testutil.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	d := &listDiff{t: t, rAddr: rp.Addr()}
	runBlocking(t, redisTarget(t, d), script)
	want := readAOF(t, rp.Dir)

	wal := &memLog{}
	n, addr := startLoggedNode(t, wal)
	runBlocking(t, nodeTarget(n, addr), script)
	if got := wal.records(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("write log:\n  %s\nredis AOF:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	// Replay into a fresh node.
	fresh, _ := startLoggedNode(t, nil)
	replayer := fresh.NewReplayer()
	wal.mu.Lock()
	recs := wal.argv
	wal.mu.Unlock()
	fresh.WithLock(func() {
		for _, argv := range recs {
			if err := replayer.Apply(0, argv); err != nil {
				t.Errorf("replay %q: %v", bytes.Join(argv, []byte(" ")), err)
			}
		}
	})
	if a, b := dumpLists(n), dumpLists(fresh); a != b {
		t.Errorf("replayed state differs\noriginal:\n%s\nreplayed:\n%s", a, b)
	}
}
