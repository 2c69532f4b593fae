package config

import (
	"strings"
	"testing"
)

func TestSetManyIsAtomic(t *testing.T) {
	c := Default()
	err := c.SetMany([][2]string{{"maxmemory", "1mb"}, {"timeout", "5"}, {"hz", "x"}}, true)
	if err == nil || !strings.Contains(err.Error(), "argument 'hz'") {
		t.Fatalf("err %v", err)
	}
	if c.MaxMemory != 0 || c.Timeout != 0 {
		t.Errorf("partial change kept: maxmemory %d timeout %v", c.MaxMemory, c.Timeout)
	}
	if err := c.SetMany([][2]string{{"notify-keyspace-events", "KEA"}, {"repl-backlog-size", "2mb"}}, true); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMany([][2]string{{"notify-keyspace-events", "q"}, {"repl-backlog-size", "1"}}, true); err == nil {
		t.Fatal("bad keyspace events accepted")
	}
	if c.Extra["notify-keyspace-events"] != "AKE" || c.Extra["repl-backlog-size"] != "2097152" {
		t.Errorf("extras after failed set: %v", c.Extra)
	}
	for _, tc := range []struct {
		pairs [][2]string
		want  string
	}{
		{[][2]string{{"nosuch", "1"}, {"databases", "1"}}, "Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
		{[][2]string{{"databases", "1"}, {"nosuch", "1"}}, "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
		{[][2]string{{"databases", "1"}}, "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
		{[][2]string{{"dir", "/"}}, "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"},
		{[][2]string{{"hz", "1"}, {"HZ", "2"}}, "CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"},
		{[][2]string{{"hash-max-ziplist-entries", "1"}, {"hash-max-listpack-entries", "2"}}, "CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - duplicate parameter"},
	} {
		err := Default().SetMany(tc.pairs, false)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %q", tc.pairs, err, tc.want)
		}
	}
}

func TestFormatMemoryAndQuote(t *testing.T) {
	for v, want := range map[int64]string{0: "0", 1000: "1000", 1024: "1kb", 3 << 20: "3mb", 2 << 30: "2gb", 1536: "1536"} {
		if got := FormatMemory(v); got != want {
			t.Errorf("FormatMemory(%d) = %q, want %q", v, got, want)
		}
	}
	if got := quoteRepr("a \"b\"\n\x01"); got != `"a \"b\"\n\x01"` {
		t.Errorf("quoteRepr: %s", got)
	}
	// What quoteRepr writes, SplitArgs reads back.
	for _, s := range []string{"", "plain", "with space", "q\"uote", "back\\slash", "nl\nx", "\xff\x00"} {
		args, err := SplitArgs("k " + quoteRepr(s))
		if err != nil || len(args) != 2 || args[1] != s {
			t.Errorf("round trip of %q: %q %v", s, args, err)
		}
	}
}

func TestRewriteContent(t *testing.T) {
	c := Default()
	c.File = "x"
	if err := c.SetMany([][2]string{{"maxmemory", "1gb"}, {"save", ""}}, true); err != nil {
		t.Fatal(err)
	}
	old := "# top\nhash-max-ziplist-entries 512\nmaxmemory 5\nsave 1 1\nsave 2 2\n\n\n# end\n" + RewriteSignature + "\nloglevel notice\n"
	got := c.rewriteContent(old)
	want := "# top\nhash-max-listpack-entries 512\nmaxmemory 1gb\nsave \"\"\n\n# end\n" + RewriteSignature + "\nloglevel notice\n" +
		"dir \"" + c.Get("dir", func(p, n string) bool { return p == n })[0][1] + "\"\n"
	if got != want {
		t.Errorf("rewrite:\n%s\nwant:\n%s", got, want)
	}
}
