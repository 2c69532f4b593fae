package node_test

import (
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/store"
)

func TestDiffTxBasics(t *testing.T) {
	p := newPair(t)
	p.run(`
EXEC
DISCARD
UNWATCH
WATCH
MULTI x
DISCARD x
UNWATCH x
MULTI
EXEC
MULTI
PING
ECHO hello
DBSIZE
EXEC
MULTI
MULTI
WATCH x
PING
EXEC
MULTI
UNWATCH
PUBSUB NUMPAT
PUBLISH ch msg
EXEC
MULTI
PING
DISCARD
EXEC
MULTI
PING a b c
ECHO
EXEC
MULTI
NOSUCHCOMMAND
PING
EXEC
MULTI
PING
DISCARD x
EXEC
MULTI
CONFIG SET maxmemory abc
CONFIG GET maxmemory
DEBUG
EXEC
WATCH a b c
WATCH a
UNWATCH
MULTI
TIME x
EXEC
`)
	// The replies of the transaction's commands come in one array.
	p.do("MULTI")
	p.do("COMMAND", "COUNT")
	p.doType("TIME")
	rv, sv := p.both([]string{"EXEC"})
	if rv.Type != '*' || sv.Type != '*' || len(sv.Elems) != 2 || sv.Elems[1].Type != '*' {
		t.Errorf("EXEC: redis %s slotvault %s", rv, sv)
	}
}

// TestDiffTxWatch runs WATCH/EXEC with a second client changing (or not
// changing) the watched keys.
func TestDiffTxWatch(t *testing.T) {
	p := newPair(t)
	r2, s2 := testutil.Dial(t, p.redis.Addr()), testutil.Dial(t, p.sv.Addr())
	other := func(args ...string) {
		t.Helper()
		a, _ := r2.Do(args...)
		b, _ := s2.Do(args...)
		if a.String() != b.String() {
			t.Errorf("second client %q: redis %s slotvault %s", args, a, b)
		}
	}

	// A watched key removed by FLUSHDB fails the transaction.
	p.set(0, "k", "v", 0)
	p.do("WATCH", "k")
	other("FLUSHDB")
	p.do("MULTI")
	p.do("PING")
	p.do("EXEC")

	// A watched key that does not exist is not touched by a flush.
	p.do("WATCH", "missing")
	other("FLUSHALL")
	p.do("MULTI")
	p.do("PING")
	p.do("EXEC")

	// EXEC drops the watches: the next transaction is not affected.
	p.set(0, "k", "v", 0)
	p.do("WATCH", "k")
	p.do("MULTI")
	p.do("DBSIZE")
	p.do("EXEC")
	other("FLUSHALL")
	p.do("MULTI")
	p.do("DBSIZE")
	p.do("EXEC")

	// UNWATCH and DISCARD drop watches too.
	p.set(0, "k", "v", 0)
	p.do("WATCH", "k")
	p.do("UNWATCH")
	other("FLUSHALL")
	p.do("MULTI")
	p.do("EXEC")
	p.set(0, "k", "v", 0)
	p.do("WATCH", "k")
	p.do("MULTI")
	p.do("DISCARD")
	other("FLUSHALL")
	p.do("MULTI")
	p.do("EXEC")

	// SWAPDB touches keys present in either database.
	p.set(1, "s", "v", 0)
	p.do("WATCH", "s")
	other("SWAPDB", "0", "1")
	p.do("MULTI")
	p.do("EXEC")
	p.do("WATCH", "nowhere")
	other("SWAPDB", "0", "1")
	p.do("MULTI")
	p.do("EXEC")
	other("FLUSHALL")

	// A flush of another database leaves the watch alone.
	p.set(0, "k", "v", 0)
	p.do("WATCH", "k")
	if p.svHas("select") {
		other("SELECT", "5")
		other("FLUSHDB")
		other("SELECT", "0")
	}
	p.do("MULTI")
	p.do("EXEC")

	// A watched key that expires before EXEC fails it; one already expired
	// when watched does not.
	p.set(0, "e", "v", time.Now().Add(40*time.Millisecond).UnixMilli())
	p.do("WATCH", "e")
	time.Sleep(60 * time.Millisecond)
	p.do("MULTI")
	p.do("PING")
	p.do("EXEC")
	p.set(0, "gone", "v", time.Now().Add(10*time.Millisecond).UnixMilli())
	time.Sleep(20 * time.Millisecond)
	p.do("WATCH", "gone")
	p.do("MULTI")
	p.do("PING")
	p.do("EXEC")

	// With SET (from the strings part), a plain write by another client.
	if p.svHas("set") {
		p.do("SET", "w", "1")
		p.do("WATCH", "w")
		other("SET", "w", "2")
		p.do("MULTI")
		p.do("SET", "w", "3")
		p.do("EXEC")
		p.do("GET", "w")
		p.do("WATCH", "w")
		p.do("SET", "w", "own")
		p.do("MULTI")
		p.do("GET", "w")
		p.do("EXEC")
	}
}

// TestTxWriteLog checks that a transaction that writes is logged between
// MULTI and EXEC records, and one that does not write is not logged.
func TestTxWriteLog(t *testing.T) {
	rec := &recordingLog{}
	n, addr := startLoggedNode(t, rec)
	c := testutil.Dial(t, addr)
	tx := func(cmds ...[]string) resp.Value {
		t.Helper()
		mustDo(t, c, "MULTI")
		for _, cmd := range cmds {
			if v, _ := c.Do(cmd...); v.Str != "QUEUED" {
				t.Fatalf("%q not queued: %s", cmd, v)
			}
		}
		return mustDo(t, c, "EXEC")
	}
	tx([]string{"PING"}, []string{"DBSIZE"})
	if got := rec.String(); got != "" {
		t.Errorf("read-only transaction logged %q", got)
	}
	n.WithLock(func() { n.DB(0).Set("a", &store.String{B: []byte("x")}, 0) })
	v := tx([]string{"PING"}, []string{"FLUSHDB"}, []string{"CONFIG", "SET", "maxmemory", "bad"}, []string{"SWAPDB", "0", "2"})
	if len(v.Elems) != 4 || v.Elems[2].Type != '-' {
		t.Errorf("EXEC reply %s", v)
	}
	want := "0:MULTI|0:FLUSHDB|0:SWAPDB 0 2|0:EXEC"
	if got := rec.String(); got != want {
		t.Errorf("write log %q, want %q", got, want)
	}
	// A WATCH failure or an aborted transaction logs nothing.
	rec.recs = nil
	mustDo(t, c, "MULTI")
	c.Do("NOSUCH")
	c.Do("FLUSHALL")
	if v, _ := c.Do("EXEC"); v.Str != "EXECABORT Transaction discarded because of previous errors." {
		t.Errorf("EXEC after error: %s", v)
	}
	if got := rec.String(); got != "" {
		t.Errorf("aborted transaction logged %q", got)
	}
}

// TestTxReplay replays a logged transaction through the Replayer.
func TestTxReplay(t *testing.T) {
	n, _ := startLoggedNode(t, &recordingLog{})
	r := n.NewReplayer()
	n.WithLock(func() {
		n.DB(0).Set("a", &store.String{B: []byte("x")}, 0)
		for _, rec := range [][]string{{"MULTI"}, {"FLUSHDB"}, {"EXEC"}} {
			argv := make([][]byte, len(rec))
			for i, a := range rec {
				argv[i] = []byte(a)
			}
			if err := r.Apply(0, argv); err != nil {
				t.Errorf("replay %q: %v", rec, err)
			}
		}
		if n.DB(0).Size() != 0 {
			t.Errorf("replayed FLUSHDB left %d keys", n.DB(0).Size())
		}
	})
}

// TestTxIsolation checks that EXEC runs its commands with no other client's
// command in between.
func TestTxIsolation(t *testing.T) {
	sv := testutil.StartInProc(t)
	a, b := testutil.Dial(t, sv.Addr()), testutil.Dial(t, sv.Addr())
	sv.Node.WithLock(func() { sv.Node.DB(0).Set("k", &store.String{B: []byte("v")}, 0) })
	mustDo(t, a, "MULTI")
	a.Do("DBSIZE")
	a.Do("DEBUG", "SLEEP", "0") // refused (debug disabled): an error inside EXEC
	a.Do("DBSIZE")
	done := make(chan resp.Value)
	go func() {
		v, _ := b.Do("FLUSHALL")
		done <- v
	}()
	v := mustDo(t, a, "EXEC")
	<-done
	if len(v.Elems) != 3 || v.Elems[0].Int != v.Elems[2].Int {
		t.Errorf("EXEC saw an interleaved FLUSHALL: %s", v)
	}
}
