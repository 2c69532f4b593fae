package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadFileAndOverrides(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "redis.conf")
	text := `# seed lines
port 7000
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 5000
appendonly yes
save 900 1 300 10
maxmemory 100mb
timeout 30
requirepass "s3cr et"
bind 127.0.0.1 -::1
appendfsync always
`
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, []string{"--port", "7001", "--save", ""})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7001 || !c.ClusterEnabled || c.ClusterNodeTimeout != 5*time.Second || !c.AppendOnly {
		t.Fatalf("unexpected config: %+v", c)
	}
	if c.Save != nil {
		t.Fatalf("--save '' should clear save rules, got %v", c.Save)
	}
	if c.MaxMemory != 100<<20 || c.Timeout != 30*time.Second || c.RequirePass != "s3cr et" {
		t.Fatalf("maxmemory/timeout/requirepass: %d %v %q", c.MaxMemory, c.Timeout, c.RequirePass)
	}
	if len(c.Bind) != 2 || c.Bind[1] != "-::1" || c.AppendFsync != FsyncAlways {
		t.Fatalf("bind/appendfsync: %v %v", c.Bind, c.AppendFsync)
	}
}

func TestLineErrors(t *testing.T) {
	cases := []struct {
		text   string
		line   int
		reason string
	}{
		{"port 1\nnope 1\n", 2, "Bad directive"},
		{"\n\nport x\n", 3, "integer"},
		{"port 1 2\n", 1, "wrong number of arguments"},
		{"appendonly perhaps\n", 1, "'yes' or 'no'"},
		{"save 1\n", 1, "Invalid save parameters"},
		{"loglevel loud\n", 1, "debug, verbose"},
		{"maxmemory 12q\n", 1, "memory value"},
		{"requirepass 'x\n", 1, "Unbalanced quotes"},
		{"proto-max-bulk-len 10\n", 1, "between 1048576"},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "r.conf")
		os.WriteFile(p, []byte(c.text), 0o644)
		_, err := Load(p, nil)
		var le *LineError
		if !errors.As(err, &le) {
			t.Errorf("%q: err = %v, want LineError", c.text, err)
			continue
		}
		if le.Line != c.line || !strings.Contains(le.Reason, c.reason) || le.File != p {
			t.Errorf("%q: got line %d reason %q file %q", c.text, le.Line, le.Reason, le.File)
		}
		if !errors.Is(err, ErrBadConfig) {
			t.Errorf("%q: not ErrBadConfig", c.text)
		}
		if !strings.Contains(err.Error(), "FATAL CONFIG FILE ERROR") {
			t.Errorf("%q: message %q", c.text, err.Error())
		}
	}
}

func TestValidateReportsEverything(t *testing.T) {
	_, err := Load("", []string{"--daemonize", "yes"})
	if err == nil || !strings.Contains(err.Error(), "daemonize") {
		t.Fatalf("daemonize yes accepted: %v", err)
	}
	if _, err := Load("", []string{"port", "1"}); err == nil {
		t.Fatal("override without -- accepted")
	}
}

func TestSetAndGet(t *testing.T) {
	c := Default()
	if err := c.Set("maxmemory", "1gb"); err != nil || c.MaxMemory != 1<<30 {
		t.Fatalf("set maxmemory: %v %d", err, c.MaxMemory)
	}
	if err := c.Set("port", "1234"); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("port is immutable: %v", err)
	}
	if err := c.Set("nope", "1"); err == nil || !strings.Contains(err.Error(), "Unknown option") {
		t.Fatalf("unknown: %v", err)
	}
	if err := c.Set("save", ""); err != nil || c.Save != nil {
		t.Fatalf("save '': %v %v", err, c.Save)
	}
	if err := c.Set("save", "10 1 20"); err == nil {
		t.Fatal("odd save accepted")
	}
	got := c.Get("max*", func(p, n string) bool { return strings.HasPrefix(n, strings.TrimSuffix(p, "*")) })
	if len(got) < 3 || got[0][0] > got[1][0] {
		t.Fatalf("get max*: %v", got)
	}
}

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		bad  bool
	}{
		{`a b  c`, []string{"a", "b", "c"}, false},
		{`"a b" c`, []string{"a b", "c"}, false},
		{`"\x41\n" 'it\'s'`, []string{"A\n", "it's"}, false},
		{`""`, []string{""}, false},
		{`"abc"d`, nil, true},
		{`"abc`, nil, true},
		{`'abc`, nil, true},
	}
	for _, c := range cases {
		got, err := SplitArgs(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%q: accepted", c.in)
			}
			continue
		}
		if err != nil || strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("%q: got %q %v", c.in, got, err)
		}
	}
}

func FuzzSplitArgs(f *testing.F) {
	f.Add(`set "a b" 'c\'d' "\x41"`)
	f.Fuzz(func(t *testing.T, s string) {
		SplitArgs(s)
		c := Default()
		c.parseText("fuzz", s)
	})
}
