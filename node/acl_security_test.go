package node_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/node"
)

func startNode(t *testing.T, overrides ...string) (*node.Node, int) {
	t.Helper()
	port := testutil.FreePort(t)
	cfg, err := config.Load("", append([]string{"--port", strconv.Itoa(port), "--dir", t.TempDir()}, overrides...))
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, port
}

func firstReply(t *testing.T, addr string) string {
	t.Helper()
	c, err := resp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout = 5 * time.Second
	v, err := c.Do("PING")
	if err != nil {
		return "closed"
	}
	return v.Str
}

// TestProtectedMode: as Redis 7.0, a node whose default user has no
// password refuses non-loopback clients whatever its bind addresses; a
// password or protected-mode no lets them in. Real redis-server behaves
// the same (checked side by side).
func TestProtectedMode(t *testing.T) {
	ip := nonLoopbackIP(t)
	for _, bind := range [][]string{{"*", "-::*"}, {"0.0.0.0"}} {
		_, port := startNode(t, append([]string{"--bind"}, bind...)...)
		r := testutil.StartRedis(t, append([]string{"--bind"}, bind...)...)
		got := firstReply(t, net.JoinHostPort(ip, strconv.Itoa(port)))
		want := firstReply(t, net.JoinHostPort(ip, strconv.Itoa(r.Port)))
		if !strings.HasPrefix(got, "DENIED Redis is running in protected mode") || got != want {
			t.Errorf("bind %s: slotvault %q, redis %q", bind, got, want)
		}
		if got := firstReply(t, "127.0.0.1:"+strconv.Itoa(port)); got != "PONG" {
			t.Errorf("bind %s: loopback refused: %q", bind, got)
		}
	}
	_, port := startNode(t, "--bind", "0.0.0.0", "--requirepass", "x")
	if got := firstReply(t, net.JoinHostPort(ip, strconv.Itoa(port))); got != "NOAUTH Authentication required." {
		t.Errorf("with a password: %q", got)
	}
	_, port = startNode(t, "--bind", "0.0.0.0", "--protected-mode", "no")
	if got := firstReply(t, net.JoinHostPort(ip, strconv.Itoa(port))); got != "PONG" {
		t.Errorf("protected-mode no: %q", got)
	}
	// A password given to the default user with ACL SETUSER counts too.
	n, port := startNode(t, "--bind", "0.0.0.0")
	c := testutil.Dial(t, "127.0.0.1:"+strconv.Itoa(port))
	c.Do("ACL", "SETUSER", "default", ">pw")
	_ = n
	if got := firstReply(t, net.JoinHostPort(ip, strconv.Itoa(port))); got != "NOAUTH Authentication required." {
		t.Errorf("after ACL SETUSER default >pw: %q", got)
	}
}

func TestACLConfigUsersAndFile(t *testing.T) {
	// user lines in the config: applied at start.
	n, port := startNode(t, "--user", "alice", "on", ">pa", "~a*", "+get", "--user", "default", "on", "nopass", "~*", "&*", "+@all", "-flushall")
	_ = n
	c := testutil.Dial(t, "127.0.0.1:"+strconv.Itoa(port))
	v, _ := c.Do("ACL", "LIST")
	if got := v.String(); !strings.Contains(got, "user alice on #") || !strings.Contains(got, "~a* resetchannels -@all +get") ||
		!strings.Contains(got, "user default on nopass sanitize-payload ~* &* +@all -flushall") {
		t.Errorf("ACL LIST: %s", got)
	}
	if v, _ := c.Do("FLUSHALL"); v.Str != "NOPERM this user has no permissions to run the 'flushall' command" {
		t.Errorf("FLUSHALL: %v", v)
	}
	if v, _ := c.Do("ACL", "SAVE"); !strings.HasPrefix(v.Str, "ERR This Redis instance is not configured to use an ACL file") {
		t.Errorf("ACL SAVE without aclfile: %v", v)
	}

	// A bad rule names its file and line.
	dir := t.TempDir()
	conf := filepath.Join(dir, "redis.conf")
	os.WriteFile(conf, []byte("port 6390\n\nuser bob on +nosuchcommand\n"), 0o644)
	cfg, err := config.Load(conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.New(cfg, node.Options{}); err == nil || !strings.Contains(err.Error(), "redis.conf:3: Error in user declaration '+nosuchcommand': Unknown command or category name in ACL") {
		t.Errorf("bad user line: %v", err)
	}

	// Both user lines and aclfile: refused, as Redis 7 does.
	aclPath := filepath.Join(dir, "users.acl")
	os.WriteFile(conf, []byte("user bob on\naclfile "+aclPath+"\n"), 0o644)
	if _, err := config.Load(conf, nil); err == nil || !strings.Contains(err.Error(), "please define either an ACL file or declare users directly in your redis.conf, but not both") {
		t.Errorf("user lines and aclfile: %v", err)
	}

	// aclfile: loaded at start, ACL SAVE / ACL LOAD round trip, LOAD kills
	// the clients of replaced users.
	os.WriteFile(aclPath, []byte("user carol on >pc ~c* +@read\n\nuser default on nopass ~* &* +@all\n"), 0o644)
	_, port = startNode(t, "--aclfile", aclPath)
	c = testutil.Dial(t, "127.0.0.1:"+strconv.Itoa(port))
	carol := testutil.Dial(t, "127.0.0.1:"+strconv.Itoa(port))
	if v, _ := carol.Do("AUTH", "carol", "pc"); v.Str != "OK" {
		t.Fatalf("AUTH carol: %v", v)
	}
	if v, _ := c.Do("ACL", "SETUSER", "dave", "on", ">pd", "+ping"); v.Str != "OK" {
		t.Fatal(v)
	}
	if v, _ := c.Do("ACL", "SAVE"); v.Str != "OK" {
		t.Fatalf("ACL SAVE: %v", v)
	}
	data, _ := os.ReadFile(aclPath)
	if !strings.Contains(string(data), "user dave on #") || !strings.Contains(string(data), "user carol on #") {
		t.Errorf("saved file:\n%s", data)
	}
	os.WriteFile(aclPath, []byte("user carol on >pc2 ~c* +@read\nuser default on nopass ~* &* +@all\n"), 0o644)
	if v, _ := c.Do("ACL", "LOAD"); v.Str != "OK" {
		t.Fatalf("ACL LOAD: %v", v)
	}
	if _, err := carol.Do("PING"); err == nil {
		t.Error("client of a reloaded user still connected")
	}
	if v, _ := c.Do("ACL", "USERS"); v.String() != `*["carol", "default"]` {
		t.Errorf("users after LOAD: %v", v)
	}
	os.WriteFile(aclPath, []byte("user carol on +nosuch\nfoo bar\nuser b on\nuser b off\n"), 0o644)
	// Redis 7.0.15's text, checked against it.
	want := "ERR " + aclPath + ":1: Error in applying operation '+nosuch': Unknown command or category name in ACL. " +
		aclPath + ":2 should start with user keyword followed by the username. WARNING: Duplicate user 'b' found on line 4. " +
		"WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
	if v, _ := c.Do("ACL", "LOAD"); v.Str != want {
		t.Errorf("bad ACL LOAD:\n got  %s\n want %s", v.Str, want)
	}
	if v, _ := c.Do("ACL", "USERS"); v.String() != `*["carol", "default"]` {
		t.Errorf("users after a failed LOAD: %v", v)
	}
}

func TestClusterBusSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file"},
		{empty, "line 1: the secret is empty"},
		{short, "line 1: the secret is 3 bytes, at least 16 are required"},
	} {
		_, err := config.Load("", []string{"--cluster-bus-secret-file", tc.path})
		if err == nil || !errors.Is(err, config.ErrBadConfig) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.path, err)
		}
	}
}

// TestACLConfigRewrite: CONFIG REWRITE writes the current users as Redis
// does (the first old user line is replaced, the others appended).
func TestACLConfigRewrite(t *testing.T) {
	dir := t.TempDir()
	port := testutil.FreePort(t)
	conf := filepath.Join(dir, "redis.conf")
	os.WriteFile(conf, []byte("port "+strconv.Itoa(port)+"\nsave \"\"\nuser bob on >p +get\n"), 0o644)
	cfg, err := config.Load(conf, []string{"--dir", dir})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	c := testutil.Dial(t, "127.0.0.1:"+strconv.Itoa(port))
	c.Do("ACL", "SETUSER", "carol", "on")
	if v, _ := c.Do("CONFIG", "REWRITE"); v.Str != "OK" {
		t.Fatalf("CONFIG REWRITE: %v", v)
	}
	data, _ := os.ReadFile(conf)
	text := string(data)
	want := "save \"\"\nuser bob on #148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 resetchannels -@all +get\n"
	if !strings.Contains(text, want) || !strings.Contains(text, "\nuser carol on resetchannels -@all\nuser default on nopass ~* &* +@all\n") {
		t.Errorf("rewritten config:\n%s", text)
	}
	// And it loads back.
	cfg2, err := config.Load(conf, nil)
	if err != nil || len(cfg2.Users) != 3 {
		t.Fatalf("reload: %v %d users", err, len(cfg2.Users))
	}
}
