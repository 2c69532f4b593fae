package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/internal/tlsconf/tlstest"
)

// TLS end-to-end tests: the binary with tls-port, driven by redis-cli
// --tls and go-redis, a replica syncing over TLS and a TLS cluster created
// with redis-cli --tls --cluster create. Certificates are generated per
// test (tlstest).

func requireTLSCLI(t *testing.T) string {
	t.Helper()
	bin := testutil.RequireTool(t, "redis-cli")
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	if !strings.Contains(string(out), "--tls") {
		t.Skip("redis-cli was built without TLS")
	}
	return bin
}

// tlsCLI runs redis-cli with the client certificate against 127.0.0.1:port.
func tlsCLI(t *testing.T, f *tlstest.Files, port int, args ...string) string {
	t.Helper()
	bin := requireTLSCLI(t)
	all := append(append(f.CLIArgs(), "-h", "127.0.0.1", "-p", strconv.Itoa(port)), args...)
	out, err := runWithTimeout(exec.Command(bin, all...), 30*time.Second)
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(stripANSI(out))
}

// startTLSNode starts the binary with a plaintext port and a TLS port.
func startTLSNode(t *testing.T, f *tlstest.Files, extra ...string) (*testutil.Proc, int) {
	t.Helper()
	tlsPort := testutil.FreePort(t)
	args := append(append([]string{"--tls-port", strconv.Itoa(tlsPort)}, f.ServerArgs()...), extra...)
	return testutil.StartSlotvault(t, args...), tlsPort
}

func tlsGoClient(t *testing.T, port int, cfg *tls.Config) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), TLSConfig: cfg,
		Protocol: 2, DisableIndentity: true, MaxRetries: -1, DialTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// peerCN dials the TLS port and returns the server certificate's CN.
func peerCN(t *testing.T, f *tlstest.Files, port int) string {
	t.Helper()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), f.ClientConfig(t, true))
	if err != nil {
		t.Fatalf("tls dial: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestTLSClients(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	f := tlstest.Generate(t)
	p, tlsPort := startTLSNode(t, f)
	ctx := context.Background()

	t.Run("redis-cli", func(t *testing.T) {
		if out := tlsCLI(t, f, tlsPort, "PING"); out != "PONG" {
			t.Fatalf("PING = %q", out)
		}
		if out := tlsCLI(t, f, tlsPort, "SET", "tk", "over tls"); out != "OK" {
			t.Fatalf("SET = %q", out)
		}
		if out := tlsCLI(t, f, tlsPort, "GET", "tk"); out != "over tls" {
			t.Fatalf("GET = %q", out)
		}
		// The plaintext port serves the same data.
		if out := redisCLI(t, p.Port, "", "GET", "tk"); strings.TrimSpace(out) != "over tls" {
			t.Fatalf("plaintext GET = %q", out)
		}
	})

	t.Run("go-redis", func(t *testing.T) {
		for _, proto := range []int{2, 3} {
			c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(tlsPort), TLSConfig: f.ClientConfig(t, true), Protocol: proto})
			if err := c.Set(ctx, "g", proto, 0).Err(); err != nil {
				t.Fatalf("resp%d SET: %v", proto, err)
			}
			if v, err := c.Get(ctx, "g").Int(); err != nil || v != proto {
				t.Fatalf("resp%d GET = %d, %v", proto, v, err)
			}
			sub := c.Subscribe(ctx, "ch")
			if _, err := sub.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Publish(ctx, "ch", "hi").Err(); err != nil {
				t.Fatal(err)
			}
			if m, err := sub.ReceiveMessage(ctx); err != nil || m.Payload != "hi" {
				t.Fatalf("pubsub over TLS: %v %v", m, err)
			}
			sub.Close()
			c.Close()
		}
	})

	t.Run("auth-clients", func(t *testing.T) {
		// tls-auth-clients yes (the default): no certificate, no session.
		noCert := tlsGoClient(t, tlsPort, f.ClientConfig(t, false))
		if err := noCert.Ping(ctx).Err(); err == nil {
			t.Fatal("a client without a certificate was served with tls-auth-clients yes")
		}
		// A certificate from another CA is refused too.
		other := tlstest.Generate(t)
		cfg := other.ClientConfig(t, true)
		cfg.RootCAs = f.ClientConfig(t, false).RootCAs
		if err := tlsGoClient(t, tlsPort, cfg).Ping(ctx).Err(); err == nil {
			t.Fatal("a certificate from an unknown CA was accepted")
		}
		// optional: no certificate is fine, a bad one is not.
		plain := goClient(t, p.Addr())
		if err := plain.ConfigSet(ctx, "tls-auth-clients", "optional").Err(); err != nil {
			t.Fatal(err)
		}
		if err := tlsGoClient(t, tlsPort, f.ClientConfig(t, false)).Ping(ctx).Err(); err != nil {
			t.Fatalf("optional, no certificate: %v", err)
		}
		if err := tlsGoClient(t, tlsPort, cfg).Ping(ctx).Err(); err == nil {
			t.Fatal("optional accepted a certificate from an unknown CA")
		}
		if v := plain.ConfigGet(ctx, "tls-auth-clients").Val()["tls-auth-clients"]; v != "optional" {
			t.Fatalf("CONFIG GET tls-auth-clients = %q", v)
		}
		plain.ConfigSet(ctx, "tls-auth-clients", "yes")
		// A plaintext client on the TLS port gets nothing.
		if err := goClient(t, "127.0.0.1:"+strconv.Itoa(tlsPort)).Ping(ctx).Err(); err == nil {
			t.Fatal("plaintext RESP answered on the TLS port")
		}
	})

	t.Run("reload", func(t *testing.T) {
		plain := goClient(t, p.Addr())
		if cn := peerCN(t, f, tlsPort); cn != "slotvault test server" {
			t.Fatalf("CN = %q", cn)
		}
		// A connection made before the reload keeps working after it.
		before := tlsGoClient(t, tlsPort, f.ClientConfig(t, true))
		if err := before.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		cert, key := f.Issue(t, "server2", "slotvault reloaded")
		if err := plain.ConfigSet(ctx, "tls-cert-file", cert).Err(); err == nil {
			t.Fatal("a certificate that does not match the key was accepted")
		} else if !strings.Contains(err.Error(), "possibly related to argument 'tls-cert-file'") || !strings.Contains(err.Error(), "Unable to update TLS configuration") {
			t.Fatalf("mismatch error = %v", err)
		}
		if err := plain.Do(ctx, "CONFIG", "SET", "tls-cert-file", cert, "tls-key-file", key).Err(); err != nil {
			t.Fatalf("CONFIG SET cert+key: %v", err)
		}
		if cn := peerCN(t, f, tlsPort); cn != "slotvault reloaded" {
			t.Fatalf("after reload CN = %q", cn)
		}
		if err := before.Ping(ctx).Err(); err != nil {
			t.Fatalf("old connection after reload: %v", err)
		}
		// A bad file is refused with the reason; the loaded certificate
		// stays in use.
		err := plain.ConfigSet(ctx, "tls-cert-file", filepath.Join(f.Dir, "missing.crt")).Err()
		if err == nil || !strings.Contains(err.Error(), "missing.crt") {
			t.Fatalf("missing file: %v", err)
		}
		garbage := filepath.Join(f.Dir, "garbage.crt")
		os.WriteFile(garbage, []byte("not a certificate"), 0o644)
		if err := plain.ConfigSet(ctx, "tls-ca-cert-file", garbage).Err(); err == nil {
			t.Fatal("a CA file without certificates was accepted")
		}
		if v := plain.ConfigGet(ctx, "tls-cert-file").Val()["tls-cert-file"]; v != cert {
			t.Fatalf("tls-cert-file after failed sets = %q", v)
		}
		if cn := peerCN(t, f, tlsPort); cn != "slotvault reloaded" {
			t.Fatalf("after failed reload CN = %q", cn)
		}
	})

	t.Run("tls-port", func(t *testing.T) {
		plain := goClient(t, p.Addr())
		newPort := testutil.FreePort(t)
		if err := plain.ConfigSet(ctx, "tls-port", strconv.Itoa(newPort)).Err(); err != nil {
			t.Fatal(err)
		}
		if out := tlsCLI(t, f, newPort, "PING"); out != "PONG" {
			t.Fatalf("PING on the new TLS port = %q", out)
		}
		if err := tlsGoClient(t, tlsPort, f.ClientConfig(t, true)).Ping(ctx).Err(); err == nil {
			t.Fatal("old TLS port still served")
		}
	})
}

// TestTLSOnly runs with port 0: TLS is the only listener.
func TestTLSOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	f := tlstest.Generate(t)
	dir := t.TempDir()
	tlsPort := testutil.FreePort(t)
	args := append([]string{"server", "--port", "0", "--bind", "127.0.0.1", "--dir", dir, "--tls-port", strconv.Itoa(tlsPort)}, f.ServerArgs()...)
	p := testutil.StartProcess(t, 0, dir, testutil.Binary(t), args...)
	c := tlsGoClient(t, tlsPort, f.ClientConfig(t, true))
	waitFor(t, "TLS PING", 15*time.Second, func() bool { return c.Ping(context.Background()).Err() == nil })
	if v := c.ConfigGet(context.Background(), "port").Val()["port"]; v != "0" {
		t.Fatalf("port = %q", v)
	}
	_ = p
}

// TestTLSBadConfig: missing files stop the server with the reason.
func TestTLSBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	f := tlstest.Generate(t)
	port := strconv.Itoa(testutil.FreePort(t))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-port", port}, "No tls-cert-file configured!"},
		{[]string{"--tls-port", port, "--tls-cert-file", f.ServerCert}, "No tls-key-file configured!"},
		{[]string{"--tls-port", port, "--tls-cert-file", f.ServerCert, "--tls-key-file", f.ServerKey}, "Either tls-ca-cert-file or tls-ca-cert-dir"},
		{[]string{"--tls-port", port, "--tls-cert-file", f.ServerCert, "--tls-key-file", f.CAKey, "--tls-auth-clients", "no"}, "private key does not match"},
		{append([]string{"--tls-port", port, "--tls-protocols", "SSLv3"}, f.ServerArgs()...), "Invalid tls-protocols"},
	} {
		args := append([]string{"server", "--port", "0", "--bind", "127.0.0.1", "--dir", t.TempDir()}, tc.args...)
		out, err := runWithTimeout(exec.Command(testutil.Binary(t), args...), 20*time.Second)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%v: err %v, output:\n%s\nwant %q", tc.args, err, out, tc.want)
		}
	}
}

// TestTLSReplication: a replica with tls-replication yes syncs from its
// master's TLS port and follows its writes.
func TestTLSReplication(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	f := tlstest.Generate(t)
	master, masterTLS := startTLSNode(t, f, replArgs...)
	waitLoaded(t, master.Addr())
	mc := goClient(t, master.Addr())
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		mc.Set(ctx, "pre:"+strconv.Itoa(i), i, 0)
	}
	rargs := append(append([]string{}, replArgs...), "--replicaof", "127.0.0.1 "+strconv.Itoa(masterTLS), "--tls-replication", "yes")
	replica, replicaTLS := startTLSNode(t, f, rargs...)
	rc := goClient(t, replica.Addr())
	waitFor(t, "initial sync over TLS", 20*time.Second, func() bool {
		return infoOf(t, replica.Addr(), "replication")["master_link_status"] == "up" && rc.DBSize(ctx).Val() == 100
	})
	mc.Set(ctx, "live", "streamed", 0)
	waitFor(t, "streamed write", 10*time.Second, func() bool { return rc.Get(ctx, "live").Val() == "streamed" })
	// The master lists the replica with its TLS port, as Redis does with
	// tls-replication.
	info := infoOf(t, master.Addr(), "replication")
	if !strings.Contains(info["slave0"], "port="+strconv.Itoa(replicaTLS)) {
		t.Fatalf("master's slave0 = %q, want port=%d", info["slave0"], replicaTLS)
	}
}

// TestTLSCluster forms a 3-master cluster with tls-cluster yes through
// redis-cli --tls --cluster create; the bus, announcements and redirects
// use TLS ports.
func TestTLSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := requireTLSCLI(t)
	f := tlstest.Generate(t)
	type tnode struct {
		proc    *testutil.Proc
		tlsPort int
	}
	var nodes []tnode
	for i := 0; i < 3; i++ {
		p, tp := startTLSNode(t, f, "--cluster-enabled", "yes", "--cluster-node-timeout", "3000",
			"--tls-cluster", "yes", "--tls-replication", "yes", "--appendonly", "no", "--save", "")
		nodes = append(nodes, tnode{p, tp})
	}
	args := append(f.CLIArgs(), "--cluster", "create")
	for _, n := range nodes {
		args = append(args, "127.0.0.1:"+strconv.Itoa(n.tlsPort))
	}
	args = append(args, "--cluster-yes")
	out, err := runWithTimeout(exec.Command(bin, args...), 60*time.Second)
	if err != nil {
		t.Fatalf("redis-cli --tls --cluster create: %v\n%s", err, out)
	}
	ctx := context.Background()
	waitFor(t, "cluster_state:ok everywhere", 30*time.Second, func() bool {
		for _, n := range nodes {
			if !strings.Contains(goClient(t, n.proc.Addr()).ClusterInfo(ctx).Val(), "cluster_state:ok") {
				return false
			}
		}
		return true
	})
	// CLUSTER NODES and SLOTS announce the TLS ports to TLS clients and
	// the plaintext ports to plaintext clients, as Redis; the bus port is
	// the TLS port + 10000.
	c0 := goClient(t, nodes[0].proc.Addr())
	t0 := tlsGoClient(t, nodes[0].tlsPort, f.ClientConfig(t, true))
	waitFor(t, "every node's plaintext port learned", 10*time.Second, func() bool {
		text := c0.ClusterNodes(ctx).Val()
		for _, n := range nodes {
			if !strings.Contains(text, "127.0.0.1:"+strconv.Itoa(n.proc.Port)+"@"+strconv.Itoa(n.tlsPort+10000)) {
				return false
			}
		}
		return true
	})
	for _, tc := range []struct {
		c     *redis.Client
		port  func(n tnode) int
		label string
	}{
		{t0, func(n tnode) int { return n.tlsPort }, "TLS"},
		{c0, func(n tnode) int { return n.proc.Port }, "plaintext"},
	} {
		nodesText := tc.c.ClusterNodes(ctx).Val()
		for _, n := range nodes {
			want := "127.0.0.1:" + strconv.Itoa(tc.port(n)) + "@" + strconv.Itoa(n.tlsPort+10000)
			if !strings.Contains(nodesText, want) {
				t.Fatalf("CLUSTER NODES to a %s client lacks %s:\n%s", tc.label, want, nodesText)
			}
		}
		for _, s := range tc.c.ClusterSlots(ctx).Val() {
			ok := false
			for _, n := range nodes {
				ok = ok || s.Nodes[0].Addr == "127.0.0.1:"+strconv.Itoa(tc.port(n))
			}
			if !ok {
				t.Fatalf("CLUSTER SLOTS entry %v to a %s client", s, tc.label)
			}
		}
		shards := fmt.Sprint(tc.c.Do(ctx, "CLUSTER", "SHARDS").Val())
		for _, n := range nodes {
			want := "port " + strconv.Itoa(n.proc.Port) + " tls-port " + strconv.Itoa(n.tlsPort)
			if !strings.Contains(shards, want) {
				t.Fatalf("CLUSTER SHARDS lacks %q: %s", want, shards)
			}
		}
	}
	// A plaintext redis-cli -c follows MOVED to plaintext ports.
	for i := 0; i < 5; i++ {
		k := "plain:" + strconv.Itoa(i)
		if out := strings.TrimSpace(redisCLI(t, nodes[0].proc.Port, "", "-c", "SET", k, "v")); out != "OK" {
			t.Fatalf("plaintext SET %s via -c: %q", k, out)
		}
	}
	// redis-cli --tls -c follows MOVED to the other nodes' TLS ports.
	for i := 0; i < 20; i++ {
		k := "key:" + strconv.Itoa(i)
		if out := tlsCLI(t, f, nodes[0].tlsPort, "-c", "SET", k, strconv.Itoa(i)); out != "OK" {
			t.Fatalf("SET %s via -c: %q", k, out)
		}
	}
	for i := 0; i < 20; i++ {
		k := "key:" + strconv.Itoa(i)
		if out := tlsCLI(t, f, nodes[1].tlsPort, "-c", "GET", k); out != strconv.Itoa(i) {
			t.Fatalf("GET %s via -c: %q", k, out)
		}
	}
	// go-redis's cluster client over TLS.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:" + strconv.Itoa(nodes[2].tlsPort)}, TLSConfig: f.ClientConfig(t, true)})
	defer cc.Close()
	for i := 0; i < 20; i++ {
		if v, err := cc.Get(ctx, "key:"+strconv.Itoa(i)).Int(); err != nil || v != i {
			t.Fatalf("cluster client GET key:%d = %d, %v", i, v, err)
		}
	}
	// MIGRATE dials the target over TLS (tls-cluster).
	slot := c0.ClusterKeySlot(ctx, "mig").Val()
	var src, dst tnode
	for _, s := range t0.ClusterSlots(ctx).Val() {
		if int64(s.Start) <= slot && slot <= int64(s.End) {
			for _, n := range nodes {
				if s.Nodes[0].Addr == "127.0.0.1:"+strconv.Itoa(n.tlsPort) {
					src = n
				} else if dst.proc == nil {
					dst = n
				}
			}
		}
	}
	sc, dc := goClient(t, src.proc.Addr()), goClient(t, dst.proc.Addr())
	sc.Set(ctx, "mig", "moved", 0)
	srcID, dstID := sc.ClusterMyID(ctx).Val(), dc.ClusterMyID(ctx).Val()
	if err := dc.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err(); err != nil {
		t.Fatal(err)
	}
	if err := sc.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err(); err != nil {
		t.Fatal(err)
	}
	if err := sc.Do(ctx, "MIGRATE", "127.0.0.1", dst.tlsPort, "mig", 0, 5000).Err(); err != nil {
		t.Fatalf("MIGRATE over TLS: %v", err)
	}
	if n := sc.Exists(ctx, "mig").Val(); n != 0 {
		t.Fatal("MIGRATE left the key on the source")
	}
	for _, c := range []*redis.Client{dc, sc} {
		if err := c.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if v := tlsCLI(t, f, src.tlsPort, "-c", "GET", "mig"); v != "moved" {
		t.Fatalf("GET mig after MIGRATE = %q", v)
	}
	// MIGRATESLOTS moves the slot back over TLS.
	if err := dc.Do(ctx, "CLUSTER", "MIGRATESLOTS", "127.0.0.1", src.tlsPort, strconv.FormatInt(slot, 10)).Err(); err != nil {
		t.Fatalf("MIGRATESLOTS: %v", err)
	}
	var status string
	waitFor(t, "MIGRATESLOTS over TLS", 20*time.Second, func() bool {
		status = fmt.Sprint(dc.Do(ctx, "CLUSTER", "MIGRATESLOTS", "STATUS").Val())
		return strings.Contains(status, "state done") || strings.Contains(status, "failed")
	})
	if !strings.Contains(status, "state done") {
		t.Fatalf("MIGRATESLOTS: %s", status)
	}
	if v, err := sc.Do(ctx, "GET", "mig").Text(); err != nil || v != "moved" {
		t.Fatalf("GET mig after MIGRATESLOTS = %q, %v", v, err)
	}

	// A fourth node joins as a replica: it meets the cluster on the TLS
	// bus and syncs from its master's TLS port.
	rp, rtls := startTLSNode(t, f, "--cluster-enabled", "yes", "--cluster-node-timeout", "3000",
		"--tls-cluster", "yes", "--tls-replication", "yes", "--appendonly", "no", "--save", "")
	rcl := goClient(t, rp.Addr())
	if err := rcl.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(nodes[0].tlsPort)).Err(); err != nil {
		t.Fatal(err)
	}
	masterID := c0.ClusterMyID(ctx).Val()
	waitFor(t, "the replica learns its master", 20*time.Second, func() bool {
		return strings.Contains(rcl.ClusterNodes(ctx).Val(), masterID)
	})
	if err := rcl.ClusterReplicate(ctx, masterID).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replica link up over TLS", 30*time.Second, func() bool {
		return infoOf(t, rp.Addr(), "replication")["master_link_status"] == "up"
	})
	// CLUSTER REPLICAS shows the replica with its TLS port to TLS clients
	// and with its plaintext port to plaintext ones.
	waitFor(t, "CLUSTER REPLICAS lists the replica", 10*time.Second, func() bool {
		return len(c0.ClusterSlaves(ctx, masterID).Val()) == 1
	})
	if r := t0.ClusterSlaves(ctx, masterID).Val(); len(r) != 1 || !strings.Contains(r[0], ":"+strconv.Itoa(rtls)+"@") {
		t.Fatalf("CLUSTER REPLICAS to a TLS client = %v", r)
	}
	if r := c0.ClusterSlaves(ctx, masterID).Val(); !strings.Contains(r[0], ":"+strconv.Itoa(rp.Port)+"@") {
		t.Fatalf("CLUSTER REPLICAS to a plaintext client = %v", r)
	}
	waitFor(t, "the replica holds its master's keys", 10*time.Second, func() bool {
		n := c0.DBSize(ctx).Val()
		return n > 0 && rcl.DBSize(ctx).Val() == n
	})

	// The bus links are TLS: a plaintext peer cannot speak to the bus.
	// (With TLS 1.3 the server's verdict on the client certificate
	// arrives after the client's handshake, so read it.)
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(nodes[0].tlsPort+10000), f.ClientConfig(t, false))
	if err == nil {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("the bus served a TLS client without a certificate: %v", err)
	}
}

// TestTLSEncryptedKey serves with a PKCS#8 key encrypted by openssl and
// tls-key-file-pass.
func TestTLSEncryptedKey(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	openssl := testutil.RequireTool(t, "openssl")
	f := tlstest.Generate(t)
	enc := filepath.Join(f.Dir, "server-enc.key")
	out, err := exec.Command(openssl, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", f.ServerKey, "-out", enc, "-passout", "pass:s3cret").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	tlsPort := testutil.FreePort(t)
	testutil.StartSlotvault(t, "--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", f.ServerCert, "--tls-key-file", enc,
		"--tls-key-file-pass", "s3cret", "--tls-ca-cert-file", f.CACert)
	if out := tlsCLI(t, f, tlsPort, "PING"); out != "PONG" {
		t.Fatalf("PING = %q", out)
	}
	// openssl s_client agrees on the certificate.
	sc := exec.Command(openssl, "s_client", "-connect", "127.0.0.1:"+strconv.Itoa(tlsPort), "-CAfile", f.CACert,
		"-cert", f.ClientCert, "-key", f.ClientKey, "-quiet", "-verify_return_error")
	sc.Stdin = strings.NewReader("PING\r\nQUIT\r\n")
	o, _ := runWithTimeout(sc, 20*time.Second)
	if !strings.Contains(o, "+PONG") {
		t.Fatalf("openssl s_client: %s", o)
	}
}
