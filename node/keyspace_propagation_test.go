package node_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/node"
)

// recordLog is an in-memory node.WriteLog.
type recordLog struct {
	mu   sync.Mutex
	recs []record
}

type record struct {
	db   int
	argv [][]byte
}

func (l *recordLog) Append(db int, argv [][]byte) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	cp := make([][]byte, len(argv))
	for i, a := range argv {
		cp[i] = append([]byte(nil), a...)
	}
	l.recs = append(l.recs, record{db, cp})
	return uint64(len(l.recs))
}

func (l *recordLog) Wait(uint64) error { return nil }
func (l *recordLog) Err() error        { return nil }

func (l *recordLog) take() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.recs
	l.recs = nil
	return r
}

func startLogged(t *testing.T, log node.WriteLog) (*node.Node, string) {
	t.Helper()
	port := testutil.FreePort(t)
	cfg, err := config.Load("", []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, node.Options{WriteLog: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, "127.0.0.1:" + strconv.Itoa(port)
}

func render(r record) string {
	parts := make([]string, len(r.argv))
	for i, a := range r.argv {
		parts[i] = string(a)
	}
	return strings.Join(parts, " ")
}

// Relative times are logged as absolute ones, expired times as DEL, and
// replaying the log reproduces the state exactly.
func TestKeyspacePropagation(t *testing.T) {
	log := &recordLog{}
	n, addr := startLogged(t, log)
	c := testutil.Dial(t, addr)
	v := strPayload("v")
	mustDo := func(args ...string) string {
		r, err := c.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		return r.String()
	}
	mustDo("RESTORE", "a", "0", v)
	mustDo("RESTORE", "b", "5000", v)
	mustDo("RESTORE", "b2", "99999999999999", v, "ABSTTL")
	mustDo("RESTORE", "gone", "1", v, "ABSTTL") // already expired: not logged
	mustDo("RESTORE", "a", "1", v, "ABSTTL", "REPLACE")
	mustDo("RESTORE", "c", "0", v)
	mustDo("EXPIRE", "c", "100")
	mustDo("PEXPIRE", "c", "200000", "GT")
	mustDo("EXPIREAT", "c", "99999999999")
	mustDo("PEXPIREAT", "c", "99999999999999", "XX")
	mustDo("EXPIRE", "c", "100", "NX") // no change: not logged
	mustDo("RESTORE", "d", "0", v)
	mustDo("EXPIRE", "d", "-1")
	mustDo("RESTORE", "e", "0", v)
	mustDo("RENAME", "e", "f")
	mustDo("COPY", "f", "g", "DB", "1")
	mustDo("MOVE", "f", "2")
	mustDo("PERSIST", "b")
	mustDo("PERSIST", "b")
	mustDo("DEL", "nokey")
	mustDo("UNLINK", "g", "b2")
	recs := log.take()
	var got []string
	for _, r := range recs {
		s := render(r)
		if strings.HasPrefix(s, "RESTORE") {
			s = strings.Replace(s, v, "<payload>", 1)
		}
		got = append(got, strconv.Itoa(r.db)+": "+s)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{
		"0: RESTORE a 0 <payload>",
		"0: RESTORE b2 99999999999999 <payload> ABSTTL",
		"0: DEL a",
		"0: PEXPIREAT c 99999999999000",
		"0: PEXPIREAT c 99999999999999 XX",
		"0: DEL d",
		"0: RENAME e f",
		"0: COPY f g DB 1",
		"0: MOVE f 2",
		"0: PERSIST b",
		"0: UNLINK g b2",
	} {
		if !strings.Contains(joined, want+"\n") && !strings.HasSuffix(joined, want) {
			t.Errorf("log lacks %q:\n%s", want, joined)
		}
	}
	for _, s := range got {
		switch {
		case strings.HasPrefix(s, "0: RESTORE b "):
			f := strings.Fields(s)
			if len(f) != 6 || f[5] != "ABSTTL" || len(f[3]) < 13 {
				t.Errorf("relative RESTORE not made absolute: %s", s)
			}
		case strings.Contains(s, "EXPIRE ") || strings.Contains(s, "gone") || strings.Contains(s, "nokey"):
			t.Errorf("unexpected record %s", s)
		}
	}
	// Replay into a fresh node and compare every key's value and expiry.
	m, addr2 := startLogged(t, nil)
	m.WithLock(func() {
		rp := m.NewReplayer()
		for _, r := range recs {
			if err := rp.Apply(r.db, r.argv); err != nil {
				t.Errorf("replay %s: %v", render(r), err)
			}
		}
	})
	_ = addr2
	state := func(n *node.Node) string {
		var b strings.Builder
		n.WithLock(func() {
			for db := 0; db < 3; db++ {
				for _, k := range []string{"a", "b", "b2", "c", "d", "e", "f", "g", "gone"} {
					e := n.DB(db).Peek(k)
					if e == nil {
						continue
					}
					p, err := node.DumpPayload(e.Value)
					if err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(&b, "%d %s %q %d\n", db, k, p, e.Expire)
				}
			}
		})
		return b.String()
	}
	if x, y := state(n), state(m); x != y {
		t.Errorf("replayed state differs:\noriginal:\n%s\nreplayed:\n%s", x, y)
	}
}
