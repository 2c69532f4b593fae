package node

import (
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/store"
)

func newTestNode(t *testing.T) *Node {
	t.Helper()
	cfg := config.Default()
	cfg.Dir = t.TempDir()
	n, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Active expiry removes expired keys without any access to them.
func TestActiveExpiryRemovesUntouchedKeys(t *testing.T) {
	n := newTestNode(t)
	now := int64(1_000_000)
	db := n.dbs[0]
	db.Now = func() int64 { return now }
	for i := 0; i < 5000; i++ {
		db.Set("volatile:"+itoa(i), &store.String{B: []byte("v")}, now+50)
	}
	for i := 0; i < 300; i++ {
		db.Set("persistent:"+itoa(i), &store.String{B: []byte("v")}, 0)
	}
	db.Set("later", &store.String{B: []byte("v")}, now+1_000_000)
	if got := db.Size(); got != 5301 {
		t.Fatalf("size %d", got)
	}
	if removed := db.ActiveExpireCycle(1 << 20); removed != 0 {
		t.Fatalf("removed %d keys before they expired", removed)
	}
	now += 51
	for i := 0; i < 100 && db.Size() > 301; i++ {
		n.activeExpire(10)
	}
	if got := db.Size(); got != 301 {
		t.Fatalf("size after active expiry %d, want 301", got)
	}
	if db.Volatile() != 1 {
		t.Fatalf("volatile %d, want 1", db.Volatile())
	}
	if n.stats.ExpiredKeys != 5000 {
		t.Fatalf("expired_keys %d", n.stats.ExpiredKeys)
	}
}

// The cron runs active expiry on its own.
func TestActiveExpiryFromCron(t *testing.T) {
	cfg := config.Default()
	cfg.Dir = t.TempDir()
	cfg.Bind = []string{"127.0.0.1"}
	cfg.Port = freePort(t)
	cfg.Hz = 100
	n, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.WithLock(func() {
		exp := time.Now().UnixMilli() + 20
		for i := 0; i < 2000; i++ {
			n.dbs[0].Set("k"+itoa(i), &store.String{B: []byte("v")}, exp)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		var size int
		n.WithLock(func() { size = n.dbs[0].Size() })
		if size == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keys still present", size)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeHash stands in for the aggregate store types, which live on other
// branches: it checks the encode interface and the fromObject registry.
type fakeHash struct{ o rdb.Object }

func (*fakeHash) Type() string         { return "hash" }
func (*fakeHash) Encoding() string     { return "listpack" }
func (h *fakeHash) Clone() store.Value { return &fakeHash{h.o} }
func (h *fakeHash) Object() rdb.Object { return h.o }

func TestObjconvAggregateSeams(t *testing.T) {
	h := &fakeHash{rdb.Object{Kind: rdb.KindHash, Hash: []rdb.HashField{{Field: []byte("a"), Value: []byte("1")}}}}
	p, err := DumpPayload(h)
	if err != nil {
		t.Fatal(err)
	}
	if p[0] != byte(rdb.TypeHashListpack) {
		t.Fatalf("hash dumped as type %d", p[0])
	}
	saved, had := fromObject[rdb.KindHash]
	defer func() {
		if had {
			fromObject[rdb.KindHash] = saved
		} else {
			delete(fromObject, rdb.KindHash)
		}
	}()
	delete(fromObject, rdb.KindHash)
	if _, err := RestorePayload(p, store.Limits{}); !errors.Is(err, ErrBadPayload) {
		t.Fatalf("unregistered kind: %v", err)
	}
	fromObject[rdb.KindHash] = func(o rdb.Object, _ store.Limits) store.Value { return &fakeHash{o} }
	v, err := RestorePayload(p, store.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(*fakeHash).o.Hash[0]; string(got.Field) != "a" || string(got.Value) != "1" {
		t.Fatalf("restored %q", got)
	}
	bad := append([]byte(nil), p...)
	bad[len(bad)-1] ^= 1
	if _, err := RestorePayload(bad, store.Limits{}); !errors.Is(err, rdb.ErrPayload) || !errors.Is(err, ErrBadPayload) {
		t.Fatalf("bad checksum: %v", err)
	}
}

func TestParseScanCursor(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "": 0, "12": 12, "+7": 7, "-1": ^uint64(0),
		"18446744073709551615": ^uint64(0), "5\x00junk": 5} {
		if got, ok := parseScanCursor([]byte(in)); !ok || got != want {
			t.Errorf("%q: %d %v", in, got, ok)
		}
	}
	for _, in := range []string{" 1", "1 ", "a", "+", "-", "1.5", "18446744073709551616", "\t1"} {
		if _, ok := parseScanCursor([]byte(in)); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func freePort(t *testing.T) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p < 7000 || p > 7005 {
			return p
		}
	}
}
