package persistsrc

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/persistence"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/store"
)

// testHost is the smallest persistence.Host: string values only.
type testHost struct {
	mu  sync.Mutex
	dbs []*store.DB
	cfg *config.Config
}

func (h *testHost) WithLock(fn func())               { h.mu.Lock(); defer h.mu.Unlock(); fn() }
func (h *testHost) NumDBs() int                      { return len(h.dbs) }
func (h *testHost) DB(i int) *store.DB               { return h.dbs[i] }
func (h *testHost) Apply(int, [][]byte, int64) error { return nil }
func (h *testHost) SetLoading(bool)                  {}
func (h *testHost) Config() *config.Config           { return h.cfg }
func (h *testHost) Dirty() int64                     { return 0 }
func (h *testHost) LastSave() int64                  { return 0 }
func (h *testHost) MarkSaved(int64, int64)           {}

var _ persistence.Host = (*testHost)(nil)

func newTestManager(t *testing.T, dbs int) (*testHost, *persistence.Manager) {
	h := &testHost{cfg: config.Default()}
	h.cfg.Save = nil
	for i := 0; i < dbs; i++ {
		h.dbs = append(h.dbs, store.NewDB(func() int64 { return time.Now().UnixMilli() }))
	}
	codec := persistence.Codec{Encode: func(v store.Value) ([]byte, error) {
		return rdb.EncodePayload(&rdb.Object{Kind: rdb.KindString, Str: v.(*store.String).B})
	}}
	m, err := persistence.New(h, persistence.Options{Dir: t.TempDir(), Config: h.cfg, Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Recover(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return h, m
}

// TestCutStreamsConsistentView: the streamed cut holds every key exactly
// once with its value and expiry as they were when the backup started,
// although a writer rewrites every key meanwhile; with a tiny held bound
// and a slow reader, the keys the writer delivers early are spilled to
// disk and still come out right.
func TestCutStreamsConsistentView(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limit  int
		spill  bool
		buffer int // BufferMaxBytes; > 0: also wait for the producer to finish first
	}{{"buffered", 0, false, 0}, {"spilled", 4 << 10, true, 0}, {"spooled", 0, false, 16 << 10}, {"spilled+spooled", 4 << 10, true, 16 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			h, m := newTestManager(t, 2)
			want := map[string]string{}
			h.WithLock(func() {
				for db := 0; db < 2; db++ {
					for i := 0; i < 3000; i++ {
						k := fmt.Sprintf("k:%d", i)
						v := strings.Repeat("v", i%300) + fmt.Sprint(i)
						if i%7 == 0 {
							v = fmt.Sprint(i) // int-encoded in RDB
						}
						exp := int64(0)
						if i%5 == 0 {
							exp = time.Now().Add(time.Hour).UnixMilli() + int64(i)
						}
						h.dbs[db].Set(k, &store.String{B: []byte(v)}, exp)
						want[fmt.Sprintf("%d/%s", db, k)] = fmt.Sprintf("%s|%d", v, exp)
					}
				}
			})
			dir := t.TempDir()
			src := &Snapshots{Mgr: m, WithLock: h.WithLock, Workers: 2, SpillDir: dir, HeldMaxBytes: tc.limit, BufferMaxBytes: tc.buffer}
			snap, err := src.OpenSnapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Close()
			if snap.DBs() != 2 {
				t.Fatalf("DBs = %d", snap.DBs())
			}
			// The writer rewrites every key (in place and by Set) while the
			// reader has not started yet.
			h.WithLock(func() {
				for db := 0; db < 2; db++ {
					for i := 0; i < 3000; i++ {
						k := fmt.Sprintf("k:%d", i)
						if e := h.dbs[db].Lookup(k); e != nil && i%2 == 0 {
							e.Value.(*store.String).B[0] = 'X'
						} else {
							h.dbs[db].Set(k, &store.String{B: []byte("new")}, 0)
						}
					}
					h.dbs[db].Set("added-later", &store.String{B: []byte("x")}, 0)
				}
			})
			if tc.buffer > 0 {
				// The cut is drained whether or not anyone reads: with a
				// tiny buffer, the batches past it wait in the spool file.
				r := snap.(*cutReader)
				r.mu.Lock()
				for !r.produced {
					r.cond.Wait()
				}
				r.mu.Unlock()
			}
			got := map[string]string{}
			for {
				e, err := snap.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				o, err := rdb.DecodePayload(e.Value)
				if err != nil {
					t.Fatalf("%s: %v", e.Key, err)
				}
				k := fmt.Sprintf("%d/%s", e.DB, e.Key)
				if _, dup := got[k]; dup {
					t.Fatalf("%s delivered twice", k)
				}
				got[k] = fmt.Sprintf("%s|%d", o.Str, e.Expire)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d keys, want %d", len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("%s = %.40q, want %.40q", k, got[k], v)
				}
			}
			if r := snap.(*cutReader); r.spilled != tc.spill {
				t.Fatalf("spilled = %v, want %v", r.spilled, tc.spill)
			}
			if r := snap.(*cutReader); r.spooled != (tc.buffer > 0) {
				t.Fatalf("spooled = %v, want %v", r.spooled, tc.buffer > 0)
			}
			if left, _ := filepathGlob(dir); len(left) != 0 {
				t.Fatalf("spill files left: %v", left)
			}
		})
	}
}

func filepathGlob(dir string) ([]string, error) {
	return filepath.Glob(filepath.Join(dir, "backup-spill-*"))
}
