package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// authDo runs one command on a fresh connection, authenticating first when
// user is not empty; it returns the reply rendered (errors included).
func authDo(t *testing.T, addr, user, pass string, args ...string) string {
	t.Helper()
	c, err := resp.Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.Timeout = 5 * time.Second
	if user != "" {
		if v, err := c.Do("AUTH", user, pass); err != nil || v.Str != "OK" {
			t.Fatalf("AUTH %s: %v %v", user, v, err)
		}
	}
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%s %v: %v", addr, args, err)
	}
	if v.Type == '-' {
		return "ERR:" + v.Str
	}
	return v.Str
}

// TestACLClientPortAndReplication: a master whose default user is off
// refuses unauthenticated clients and replicas; a replica with masteruser
// and masterauth of a user limited to replication syncs, one without them
// never does.
func TestACLClientPortAndReplication(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	users := []string{
		"--user", "default", "off",
		"--user", "repl", "on", ">replpass", "+psync", "+replconf", "+ping",
		"--user", "admin", "on", ">adminpass", "~*", "&*", "+@all",
	}
	master := testutil.StartSlotvault(t, append([]string{"--save", ""}, users...)...)
	ma := master.Addr()

	// Client port: no authentication, wrong password, limited user.
	if got := authDo(t, ma, "", "", "GET", "k"); got != "ERR:NOAUTH Authentication required." {
		t.Errorf("unauthenticated GET: %q", got)
	}
	c, _ := resp.Dial(ma)
	defer c.Close()
	if v, _ := c.Do("AUTH", "admin", "wrong"); v.Str != "WRONGPASS invalid username-password pair or user is disabled." {
		t.Errorf("wrong password: %v", v)
	}
	if v, _ := c.Do("AUTH", "default", ""); v.Type != '-' {
		t.Errorf("disabled default user authenticated: %v", v)
	}
	if got := authDo(t, ma, "repl", "replpass", "GET", "k"); got != "ERR:NOPERM this user has no permissions to run the 'get' command" {
		t.Errorf("repl user GET: %q", got)
	}
	if got := authDo(t, ma, "admin", "adminpass", "SET", "k", "v1"); got != "OK" {
		t.Fatalf("admin SET: %q", got)
	}

	good := testutil.StartSlotvault(t, "--save", "", "--replicaof", "127.0.0.1 "+strconv.Itoa(master.Port),
		"--masteruser", "repl", "--masterauth", "replpass")
	bad := testutil.StartSlotvault(t, "--save", "", "--replicaof", "127.0.0.1 "+strconv.Itoa(master.Port))
	waitFor(t, "authenticated replica in sync", 20*time.Second, func() bool {
		return authDo(t, good.Addr(), "", "", "GET", "k") == "v1"
	})
	authDo(t, ma, "admin", "adminpass", "SET", "k2", "v2")
	waitFor(t, "stream to the replica", 20*time.Second, func() bool {
		return authDo(t, good.Addr(), "", "", "GET", "k2") == "v2"
	})
	// The replica without credentials has been trying all along: it has
	// nothing and its link is down; the master lists one replica.
	if !strings.Contains(authDo(t, bad.Addr(), "", "", "INFO", "replication"), "master_link_status:down") {
		t.Error("replica without masterauth has its link up")
	}
	if got := authDo(t, bad.Addr(), "", "", "GET", "k"); got != "" {
		t.Errorf("replica without masterauth has data: %q", got)
	}
	info := authDo(t, ma, "admin", "adminpass", "INFO", "replication")
	if !strings.Contains(info, "connected_slaves:1\r\n") {
		t.Errorf("master replication info:\n%s", info)
	}
}

// TestClusterBusSecret: three nodes sharing a bus secret (and requirepass)
// form a cluster with redis-cli --cluster create -a; a node with another
// secret can neither join by CLUSTER MEET nor be met, and the cluster's
// node table and state do not change; the refusal is logged.
func TestClusterBusSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	start := func(secret string) *clusterNode {
		dir := t.TempDir()
		port := testutil.FreePort(t)
		if err := os.WriteFile(filepath.Join(dir, "bus.secret"), []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		conf := seedConf(port, 1000) + "requirepass pw\nmasterauth pw\ncluster-bus-secret-file bus.secret\n"
		if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		n := &clusterNode{port: port, dir: dir}
		n.start(t)
		return n
	}
	nodes := []*clusterNode{start("shared-secret-0123456789"), start("shared-secret-0123456789"), start("shared-secret-0123456789")}
	args := []string{"-a", "pw", "--no-auth-warning", "--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.addr())
	}
	if out, err := runCLI(t, append(args, "--cluster-replicas", "0", "--cluster-yes")...); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ok := func(n *clusterNode) bool {
		info := authDo(t, n.addr(), "default", "pw", "CLUSTER", "INFO")
		return strings.Contains(info, "cluster_state:ok\r\n") && strings.Contains(info, "cluster_known_nodes:3\r\n")
	}
	waitAll(t, nodes, "cluster_state:ok", 30*time.Second, ok)
	before := topology(authDo(t, nodes[0].addr(), "default", "pw", "CLUSTER", "NODES"))

	stranger := start("some-other-secret-9876543210")
	if got := authDo(t, stranger.addr(), "default", "pw", "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(nodes[0].port)); got != "OK" {
		t.Fatalf("CLUSTER MEET from the stranger: %q", got)
	}
	if got := authDo(t, nodes[1].addr(), "default", "pw", "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(stranger.port)); got != "OK" {
		t.Fatalf("CLUSTER MEET to the stranger: %q", got)
	}
	// Both handshakes fail; the handshake entries expire after the node
	// timeout, leaving the tables as they were.
	waitAll(t, []*clusterNode{nodes[0], nodes[1], nodes[2], stranger}, "refusals logged", 30*time.Second, func(n *clusterNode) bool {
		if n == nodes[2] {
			return true
		}
		return strings.Contains(n.proc.Output(), "peer failed authentication")
	})
	waitFor(t, "handshake entries to expire", 30*time.Second, func() bool {
		return topology(authDo(t, nodes[1].addr(), "default", "pw", "CLUSTER", "NODES")) == before &&
			strings.Count(strings.TrimSpace(authDo(t, stranger.addr(), "default", "pw", "CLUSTER", "NODES")), "\n") == 0
	})
	for _, n := range nodes {
		if !ok(n) {
			t.Fatalf("node %d disturbed:\n%s", n.port, authDo(t, n.addr(), "default", "pw", "CLUSTER", "INFO"))
		}
		if got := topology(authDo(t, n.addr(), "default", "pw", "CLUSTER", "NODES")); got != before {
			t.Fatalf("node %d table changed:\nbefore:\n%s\nafter:\n%s", n.port, before, got)
		}
	}
	log := nodes[0].proc.Output()
	if !strings.Contains(log, "remote=127.0.0.1:") {
		t.Errorf("refusal log line without the remote address:\n%s", log)
	}
}
