package store

import (
	"strconv"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/rdb"
)

var testLimits = Limits{HashMaxListpackEntries: 4, HashMaxListpackValue: 8, SetMaxIntsetEntries: 4}

func TestHashListpackOrderAndUpdate(t *testing.T) {
	h := NewHash()
	for _, f := range []string{"c", "a", "b"} {
		if !h.Set(f, f+"1", testLimits) {
			t.Fatalf("Set(%s) not new", f)
		}
	}
	if h.Set("a", "new", testLimits) {
		t.Fatal("update reported as new")
	}
	var got []string
	h.Range(func(f, v string) bool { got = append(got, f+"="+v); return true })
	if strings.Join(got, " ") != "c=c1 a=new b=b1" || h.Encoding() != "listpack" {
		t.Fatalf("order %v, encoding %s", got, h.Encoding())
	}
	h.Delete("c")
	h.Set("c", "x", testLimits)
	if p := h.Pairs(); p[0].Field != "a" || p[2].Field != "c" {
		t.Fatalf("re-added field not appended: %v", p)
	}
}

func TestHashConversions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fill   func(h *Hash)
		expect string
	}{
		{"entries at limit", func(h *Hash) {
			for i := 0; i < 4; i++ {
				h.Set(strconv.Itoa(i), "v", testLimits)
			}
		}, "listpack"},
		{"entries over limit", func(h *Hash) {
			for i := 0; i < 5; i++ {
				h.Set(strconv.Itoa(i), "v", testLimits)
			}
		}, "hashtable"},
		{"long value", func(h *Hash) { h.Set("f", "123456789", testLimits) }, "hashtable"},
		{"long field", func(h *Hash) { h.Set("123456789", "v", testLimits) }, "hashtable"},
		{"value at limit", func(h *Hash) { h.Set("12345678", "12345678", testLimits) }, "listpack"},
		{"no conversion back", func(h *Hash) {
			h.Set("f", "123456789", testLimits)
			h.Set("f", "v", testLimits)
		}, "hashtable"},
	} {
		h := NewHash()
		tc.fill(h)
		if h.Encoding() != tc.expect {
			t.Errorf("%s: encoding %s, want %s", tc.name, h.Encoding(), tc.expect)
		}
	}
}

func TestHashCloneAndObject(t *testing.T) {
	h := NewHash()
	for i := 0; i < 10; i++ {
		h.Set("f"+strconv.Itoa(i), "v"+strconv.Itoa(i), testLimits)
	}
	c := h.Clone().(*Hash)
	h.Delete("f1")
	if v, ok := c.Get("f1"); !ok || v != "v1" || c.Len() != 10 {
		t.Fatal("clone shares state")
	}
	o := c.Object()
	if o.Kind != rdb.KindHash || len(o.Hash) != 10 {
		t.Fatalf("object %+v", o)
	}
	back := HashFromObject(o, testLimits)
	if back.Len() != 10 || back.Encoding() != "hashtable" {
		t.Fatalf("from object: len %d enc %s", back.Len(), back.Encoding())
	}
	small := HashFromObject(rdb.Object{Kind: rdb.KindHash, Hash: []rdb.HashField{{Field: []byte("b"), Value: []byte("1")}, {Field: []byte("a"), Value: []byte("2")}}}, testLimits)
	if p := small.Pairs(); small.Encoding() != "listpack" || p[0].Field != "b" || p[1].Field != "a" {
		t.Fatalf("small from object: %s %v", small.Encoding(), p)
	}
}

func TestHashScanCoversAll(t *testing.T) {
	h := NewHash()
	for i := 0; i < 1000; i++ {
		h.Set("f"+strconv.Itoa(i), "v", testLimits)
	}
	seen := map[string]bool{}
	cur := uint64(0)
	for {
		cur = h.Scan(cur, func(f, _ string) { seen[f] = true })
		if cur == 0 {
			break
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("scan saw %d fields", len(seen))
	}
}
