package node

import (
	"bytes"
	"testing"
)

// TestReplBacklog: offsets as Redis counts them, reads across blocks,
// trimming to repl-backlog-size, and a pin keeping what a replica still
// has to send.
func TestReplBacklog(t *testing.T) {
	b := newReplBacklog(100, 0)
	if b.start != 1 || b.histlen() != 0 || !b.has(1) || b.has(2) {
		t.Fatalf("empty backlog: start %d histlen %d", b.start, b.histlen())
	}
	var all []byte
	for i := 0; i < 3*backlogBlockSize/7; i++ {
		p := []byte{byte(i), byte(i >> 8), 1, 2, 3, 4, 5}
		all = append(all, p...)
		b.write(p)
	}
	if b.end != int64(len(all)) {
		t.Fatalf("end %d, want %d", b.end, len(all))
	}
	got := bytes.Join(b.read(5, 1<<30), nil)
	if !bytes.Equal(got, all[4:]) {
		t.Fatal("read across blocks differs")
	}
	if n := len(bytes.Join(b.read(5, 1000), nil)); n != 1000 {
		t.Fatalf("bounded read returned %d bytes", n)
	}
	pin := int64(backlogBlockSize + 10)
	b.trim(pin)
	if b.start != pin || !b.has(pin) || b.has(pin-1) {
		t.Fatalf("pinned trim: start %d, want %d", b.start, pin)
	}
	if got := bytes.Join(b.read(pin, 1<<30), nil); !bytes.Equal(got, all[pin-1:]) {
		t.Fatal("read after trim differs")
	}
	b.trim(0)
	if b.histlen() != 100 || b.start != b.end-99 || len(b.blocks) != 1 {
		t.Fatalf("trim to size: histlen %d start %d blocks %d", b.histlen(), b.start, len(b.blocks))
	}
	if b.has(b.start-1) || !b.has(b.end+1) || b.has(b.end+2) {
		t.Fatal("has() bounds")
	}
}
