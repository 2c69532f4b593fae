package persistence

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/store"
)

// fakeHost is an in-memory Host with a tiny command set (SET, DEL, INCR,
// PEXPIREAT), standing in for the node in unit tests. Writes go through
// exec, which logs them like the node's dispatcher does.
type fakeHost struct {
	mu       sync.Mutex
	dbs      []*store.DB
	cfg      *config.Config
	dirty    int64
	lastSave int64
	loading  bool
	wal      *Log
	now      func() int64
}

func newFakeHost(n int) *fakeHost {
	h := &fakeHost{cfg: config.Default(), now: func() int64 { return time.Now().UnixMilli() }}
	h.cfg.Save = nil
	for i := 0; i < n; i++ {
		h.dbs = append(h.dbs, store.NewDB(func() int64 { return time.Now().UnixMilli() }))
	}
	return h
}

func (h *fakeHost) WithLock(fn func())         { h.mu.Lock(); defer h.mu.Unlock(); fn() }
func (h *fakeHost) NumDBs() int                { return len(h.dbs) }
func (h *fakeHost) DB(i int) *store.DB         { return h.dbs[i] }
func (h *fakeHost) SetLoading(v bool)          { h.loading = v }
func (h *fakeHost) Config() *config.Config     { return h.cfg }
func (h *fakeHost) Dirty() int64               { return h.dirty }
func (h *fakeHost) LastSave() int64            { return h.lastSave }
func (h *fakeHost) MarkSaved(before, at int64) { h.dirty -= before; h.lastSave = at }
func (h *fakeHost) Apply(db int, argv [][]byte, now int64) error {
	_, err := h.apply(db, argv, now)
	return err
}

var _ Host = (*fakeHost)(nil)

// apply executes one command; lock held.
func (h *fakeHost) apply(dbi int, argv [][]byte, now int64) (string, error) {
	db := h.dbs[dbi]
	switch strings.ToUpper(string(argv[0])) {
	case "SET":
		var exp int64
		if len(argv) == 5 && strings.EqualFold(string(argv[3]), "PXAT") {
			exp, _ = strconv.ParseInt(string(argv[4]), 10, 64)
		}
		db.Set(string(argv[1]), &store.String{B: append([]byte(nil), argv[2]...)}, exp)
		return "OK", nil
	case "DEL":
		if db.Delete(string(argv[1])) != nil {
			return "1", nil
		}
		return "0", nil
	case "INCR":
		e := db.Lookup(string(argv[1]))
		var v int64
		if e != nil {
			var err error
			v, err = strconv.ParseInt(string(e.Value.(*store.String).B), 10, 64)
			if err != nil {
				return "", errors.New("ERR value is not an integer or out of range")
			}
			e.Value.(*store.String).B = []byte(strconv.FormatInt(v+1, 10))
		} else {
			db.Set(string(argv[1]), &store.String{B: []byte("1")}, 0)
		}
		return strconv.FormatInt(v+1, 10), nil
	case "PEXPIREAT":
		at, _ := strconv.ParseInt(string(argv[2]), 10, 64)
		if db.Lookup(string(argv[1])) == nil {
			return "0", nil
		}
		db.SetExpire(string(argv[1]), at)
		return "1", nil
	}
	return "", fmt.Errorf("%w: unknown command %s", ErrReplayFatal, argv[0])
}

// exec runs a client command: apply + log under the lock, Wait outside.
func (h *fakeHost) exec(t testing.TB, db int, args ...string) string {
	t.Helper()
	a := argv(args...)
	h.mu.Lock()
	out, err := h.apply(db, a, h.now())
	var seq uint64
	if err == nil {
		h.dirty++
		if h.wal != nil {
			seq = h.wal.Append(db, a)
		}
	}
	h.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if seq > 0 {
		if err := h.wal.Wait(seq); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// execTx runs commands as one MULTI/EXEC, bracketed in the log.
func (h *fakeHost) execTx(t testing.TB, db int, cmds ...[]string) {
	h.mu.Lock()
	h.wal.Append(db, argv("MULTI"))
	for _, c := range cmds {
		if _, err := h.apply(db, argv(c...), h.now()); err != nil {
			t.Fatal(err)
		}
		h.wal.Append(db, argv(c...))
	}
	seq := h.wal.Append(db, argv("EXEC"))
	h.mu.Unlock()
	h.wal.Wait(seq)
}

// dumpState renders every db as sorted "db:key=value@expire" lines.
func (h *fakeHost) dumpState() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []string
	for i, db := range h.dbs {
		for s := db.NextNonEmptySlot(0); s >= 0; s = db.NextNonEmptySlot(s + 1) {
			db.KeysInSlot(s, func(k string, e *store.Entry) bool {
				lines = append(lines, fmt.Sprintf("%d:%s=%s@%d", i, k, e.Value.(*store.String).B, e.Expire))
				return true
			})
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// stringCodec encodes string values as "S" + bytes (tests only).
var stringCodec = Codec{
	Encode: func(v store.Value) ([]byte, error) {
		s, ok := v.(*store.String)
		if !ok {
			return nil, errors.New("not a string")
		}
		return append([]byte{'S'}, s.B...), nil
	},
	Decode: func(p []byte) (store.Value, error) {
		if len(p) == 0 || p[0] != 'S' {
			return nil, errors.New("bad payload")
		}
		return &store.String{B: append([]byte(nil), p[1:]...)}, nil
	},
}
