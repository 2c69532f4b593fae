package backup

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/slots"
)

// FakeSource is an in-memory SnapshotSource and LogSource for tests: a
// keyspace of string keys plus a log, with a local log that can be
// truncated (DropBefore honours Retain, as persistence must).
type FakeSource struct {
	mu      sync.Mutex
	keys    map[string]fakeKey
	log     []LogRecord // records still local, in order
	seq     uint64
	retain  uint64
	retainS bool
	now     func() time.Time
	// OpenErr, when set, fails OpenSnapshot.
	OpenErr error
}

type fakeKey struct {
	val    []byte
	expire int64
}

var (
	_ SnapshotSource = (*FakeSource)(nil)
	_ LogSource      = (*FakeSource)(nil)
)

// NewFakeSource returns an empty source.
func NewFakeSource() *FakeSource {
	return &FakeSource{keys: map[string]fakeKey{}, now: time.Now}
}

// Set writes a string key and logs it as a SET record.
func (f *FakeSource) Set(key, val string, expireMs int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[key] = fakeKey{[]byte(val), expireMs}
	f.seq++
	argv := [][]byte{[]byte("SET"), []byte(key), []byte(val)}
	if expireMs > 0 {
		argv = append(argv, []byte("PXAT"), fmt.Appendf(nil, "%d", expireMs))
	}
	f.log = append(f.log, LogRecord{Seq: f.seq, Time: f.now().UnixMilli(), Argv: argv})
}

// Get returns a key's value.
func (f *FakeSource) Get(key string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[key]
	return string(k.val), ok
}

// DropBefore removes local records with seq <= seq, but never one after
// the Retain mark.
func (f *FakeSource) DropBefore(seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.retainS && seq > f.retain {
		seq = f.retain
	}
	i := sort.Search(len(f.log), func(i int) bool { return f.log[i].Seq > seq })
	f.log = append([]LogRecord(nil), f.log[i:]...)
}

// ForceDrop removes local records with seq <= seq ignoring Retain (to
// simulate a lost local log).
func (f *FakeSource) ForceDrop(seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := sort.Search(len(f.log), func(i int) bool { return f.log[i].Seq > seq })
	f.log = append([]LogRecord(nil), f.log[i:]...)
}

// Retained returns the Retain mark.
func (f *FakeSource) Retained() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retain
}

// LastSeq implements LogSource.
func (f *FakeSource) LastSeq() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq
}

// ReadLog implements LogSource.
func (f *FakeSource) ReadLog(after, upTo uint64, fn func(LogRecord) error) error {
	f.mu.Lock()
	recs := f.log
	f.mu.Unlock()
	i := sort.Search(len(recs), func(i int) bool { return recs[i].Seq > after })
	if after < f.LastSeq() && (i == len(recs) || recs[i].Seq != after+1) {
		return ErrLogGap
	}
	for ; i < len(recs) && recs[i].Seq <= upTo; i++ {
		if err := fn(recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Retain implements LogSource.
func (f *FakeSource) Retain(after uint64) {
	f.mu.Lock()
	f.retain, f.retainS = after, true
	f.mu.Unlock()
}

// OpenSnapshot implements SnapshotSource: the view is a copy taken now.
func (f *FakeSource) OpenSnapshot(ctx context.Context) (SnapshotReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.OpenErr != nil {
		return nil, f.OpenErr
	}
	names := make([]string, 0, len(f.keys))
	for k := range f.keys {
		names = append(names, k)
	}
	sort.Strings(names)
	es := make([]Entry, 0, len(names))
	for _, k := range names {
		v := f.keys[k]
		p, err := rdb.EncodePayload(&rdb.Object{Kind: rdb.KindString, Str: v.val})
		if err != nil {
			return nil, err
		}
		es = append(es, Entry{Slot: slots.KeySlotString(k), Key: []byte(k), Expire: v.expire, Value: p})
	}
	return &fakeSnap{seq: f.seq, t: f.now(), entries: es}, nil
}

type fakeSnap struct {
	seq     uint64
	t       time.Time
	entries []Entry
	i       int
}

func (s *fakeSnap) Seq() uint64     { return s.seq }
func (s *fakeSnap) Time() time.Time { return s.t }
func (s *fakeSnap) DBs() int        { return 1 }
func (s *fakeSnap) Close() error    { return nil }
func (s *fakeSnap) Next() (Entry, error) {
	if s.i == len(s.entries) {
		return Entry{}, io.EOF
	}
	s.i++
	return s.entries[s.i-1], nil
}

// StaticIdentity returns an Identity that always reports info.
func StaticIdentity(info NodeInfo) Identity { return func() NodeInfo { return info } }
