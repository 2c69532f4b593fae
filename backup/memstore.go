package backup

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemStore is an in-memory ObjectStore for tests. Fault, when set, is
// consulted before every operation ("put", "get", "list", "delete") and
// its error returned; a failing Put stores nothing.
type MemStore struct {
	mu      sync.Mutex
	objects map[string]memObject
	Fault   func(op, key string) error
	Now     func() time.Time
}

type memObject struct {
	data    []byte
	modTime time.Time
}

var _ ObjectStore = (*MemStore)(nil)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{objects: map[string]memObject{}, Now: time.Now}
}

func (m *MemStore) fault(op, key string) error {
	m.mu.Lock()
	f := m.Fault
	m.mu.Unlock()
	if f != nil {
		return f(op, key)
	}
	return nil
}

// SetFault replaces the fault hook (safe while the store is in use).
func (m *MemStore) SetFault(f func(op, key string) error) {
	m.mu.Lock()
	m.Fault = f
	m.mu.Unlock()
}

// Put implements ObjectStore.
func (m *MemStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := m.fault("put", key); err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, r)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	m.objects[key] = memObject{data: buf.Bytes(), modTime: m.Now()}
	m.mu.Unlock()
	return n, nil
}

// Get implements ObjectStore.
func (m *MemStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := m.fault("get", key); err != nil {
		return nil, err
	}
	m.mu.Lock()
	o, ok := m.objects[key]
	m.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

// List implements ObjectStore.
func (m *MemStore) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := m.fault("list", prefix); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ObjectInfo
	for k, o := range m.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, ObjectInfo{Key: k, Size: int64(len(o.data)), ModTime: o.modTime})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete implements ObjectStore.
func (m *MemStore) Delete(ctx context.Context, key string) error {
	if err := m.fault("delete", key); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.objects, key)
	m.mu.Unlock()
	return nil
}

// Bytes returns a copy of an object's stored bytes (nil if missing).
func (m *MemStore) Bytes(key string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		return nil
	}
	return append([]byte(nil), o.data...)
}

// SetBytes replaces an object's bytes (tests corrupt objects with it).
func (m *MemStore) SetBytes(key string, b []byte) {
	m.mu.Lock()
	o := m.objects[key]
	o.data = append([]byte(nil), b...)
	if o.modTime.IsZero() {
		o.modTime = m.Now()
	}
	m.objects[key] = o
	m.mu.Unlock()
}

// SetModTime changes an object's modification time (retention tests).
func (m *MemStore) SetModTime(key string, t time.Time) {
	m.mu.Lock()
	if o, ok := m.objects[key]; ok {
		o.modTime = t
		m.objects[key] = o
	}
	m.mu.Unlock()
}

// Keys returns every object name, sorted.
func (m *MemStore) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.objects))
	for k := range m.objects {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
