package proxy_test

import (
	"context"
	"crypto/tls"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/internal/tlsconf/tlstest"
	"github.com/slotvault/slotvault/proxy"
)

func TestProxyConfigTLS(t *testing.T) {
	f := tlstest.Generate(t)
	c := proxy.DefaultConfig()
	c.Cluster = []string{"127.0.0.1:7379"}
	for _, kv := range [][2]string{
		{"port", "0"}, {"tls-port", "7380"}, {"tls-cert-file", f.ServerCert}, {"tls-key-file", f.ServerKey},
		{"tls-ca-cert-file", f.CACert}, {"tls-auth-clients", "optional"}, {"tls-nodes", "yes"},
		{"tls-protocols", "TLSv1.2 TLSv1.3"},
	} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("%s %s: %v", kv[0], kv[1], err)
		}
	}
	if c.TLS.Port != 7380 || !c.TLS.Cluster || c.TLS.AuthClients != config.TLSAuthOptional || c.TLS.CACertFile != f.CACert {
		t.Fatalf("TLS config not applied: %+v", c.TLS)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid TLS config refused: %v", err)
	}
	for _, kv := range [][2]string{{"tls-auth-clients", "maybe"}, {"tls-port", "70000"}, {"tls-cluster", "perhaps"}} {
		if err := c.Set(kv[0], kv[1]); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s %s: err %v, want an error naming the directive", kv[0], kv[1], err)
		}
	}

	// Every problem at once, with the node's TLS messages.
	bad := proxy.DefaultConfig()
	bad.Cluster = []string{"127.0.0.1:7379"}
	bad.Port = 0
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "port 0 needs a tls-port") {
		t.Fatalf("port 0 without tls-port: %v", err)
	}
	bad.TLS.Port = 7380
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "No tls-cert-file configured!") {
		t.Fatalf("tls-port without a certificate: %v", err)
	}
	bad.TLS.CertFile, bad.TLS.KeyFile = f.ServerCert, f.ServerKey
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "tls-ca-cert-file or tls-ca-cert-dir") {
		t.Fatalf("tls-auth-clients yes without a CA: %v", err)
	}
	bad.TLS.AuthClients = config.TLSAuthNo
	if err := bad.Validate(); err != nil {
		t.Fatalf("TLS clients without client certificates, plaintext nodes: %v", err)
	}
	bad.TLS.Cluster = true
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "tls-ca-cert-file or tls-ca-cert-dir") {
		t.Fatalf("tls-cluster without a CA to verify the nodes: %v", err)
	}
}

// tlsCluster starts two in-process nodes with tls-cluster yes (a TLS port
// beside the plaintext one), serving half of the slots each.
func tlsCluster(t *testing.T, f *tlstest.Files) (tlsPorts [2]int, nodes [2]*testutil.InProc) {
	t.Helper()
	for i := range nodes {
		tlsPorts[i] = testutil.FreePort(t)
		nodes[i] = testutil.StartInProc(t, "cluster-enabled yes", "cluster-config-file "+t.TempDir()+"/nodes.conf",
			"cluster-node-timeout 15000", "tls-port "+strconv.Itoa(tlsPorts[i]), "tls-cluster yes",
			"tls-cert-file "+f.ServerCert, "tls-key-file "+f.ServerKey, "tls-ca-cert-file "+f.CACert)
	}
	ca, cb := testutil.Dial(t, nodes[0].Addr()), testutil.Dial(t, nodes[1].Addr())
	do(t, ca, "+OK", "CLUSTER", "ADDSLOTSRANGE", "0", "8191")
	do(t, cb, "+OK", "CLUSTER", "ADDSLOTSRANGE", "8192", "16383")
	do(t, ca, "+OK", "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(tlsPorts[1]))
	waitClusterOK(t, ca, cb)
	return tlsPorts, nodes
}

func waitClusterOK(t *testing.T, conns ...*resp.Conn) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range conns {
		for {
			v, err := c.Do("CLUSTER", "INFO")
			if err == nil && strings.Contains(v.Str, "cluster_state:ok") && strings.Contains(v.Str, "cluster_known_nodes:2") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok: %v", v)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestProxyTLS: TLS towards the nodes (seeded by a TLS port, so CLUSTER
// SLOTS and MOVED name TLS ports) and towards clients only (port 0),
// with client certificates required.
func TestProxyTLS(t *testing.T) {
	multiplexModes(t, testProxyTLS)
}

func testProxyTLS(t *testing.T, mod func(*proxy.Config)) {
	f := tlstest.Generate(t)
	ports, _ := tlsCluster(t, f)
	tlsPort := testutil.FreePort(t)
	p := startProxy(t, func(c *proxy.Config) {
		mod(c)
		c.Port = 0
		for _, kv := range [][2]string{{"tls-port", strconv.Itoa(tlsPort)}, {"tls-cert-file", f.ServerCert},
			{"tls-key-file", f.ServerKey}, {"tls-ca-cert-file", f.CACert}, {"tls-cluster", "yes"},
			{"tls-client-cert-file", f.ClientCert}, {"tls-client-key-file", f.ClientKey}} {
			if err := c.Set(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
	}, "127.0.0.1:"+strconv.Itoa(ports[0]))
	if p.Addr() != nil || p.TLSAddr().String() != "127.0.0.1:"+strconv.Itoa(tlsPort) {
		t.Fatalf("listeners: plaintext %v, TLS %v", p.Addr(), p.TLSAddr())
	}
	ctx := context.Background()
	client := func(cfg *tls.Config) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: p.TLSAddr().String(), TLSConfig: cfg, Protocol: 2,
			DisableIndentity: true, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := client(f.ClientConfig(t, true))
	ka, kb := keyIn(0, 8191, "a"), keyIn(8192, 16383, "b")
	for _, k := range []string{ka, kb} {
		if err := c.Set(ctx, k, "v-"+k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		if v, err := c.Get(ctx, k).Result(); err != nil || v != "v-"+k {
			t.Fatalf("GET %s = %q, %v", k, v, err)
		}
	}
	if v, err := c.MGet(ctx, ka, kb).Result(); err != nil || len(v) != 2 || v[0] != "v-"+ka || v[1] != "v-"+kb {
		t.Fatalf("MGET across the two nodes = %v, %v", v, err)
	}
	if v, err := c.Ping(ctx).Result(); err != nil || v != "PONG" {
		t.Fatalf("PING = %q, %v", v, err)
	}
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 2 {
		t.Fatalf("DBSIZE = %d, %v", n, err)
	}
	// tls-auth-clients yes: a client without a certificate is refused.
	if err := client(f.ClientConfig(t, false)).Ping(ctx).Err(); err == nil {
		t.Fatal("a client without a certificate was served")
	}
}

// TestProxyPingFanout: PING is answered only when every master answers;
// a master that is gone turns it into an error naming the node.
func TestProxyPingFanout(t *testing.T) {
	multiplexModes(t, testProxyPingFanout)
}

func testProxyPingFanout(t *testing.T, mod func(*proxy.Config)) {
	a, b := twoNodeCluster(t)
	p := startProxy(t, mod, a.Addr())
	c := testutil.Dial(t, p.Addr().String())
	do(t, c, "+PONG", "PING")
	do(t, c, `"hello"`, "PING", "hello")
	do(t, c, "(error) ERR wrong number of arguments for 'ping' command", "PING", "a", "b")
	// Pipelined PINGs around a keyed command keep their order.
	if err := c.WriteRaw([]byte("PING\r\n" + string(resp.Encode("PING", "x")) + string(resp.Encode("SET", "k", "v")) + "PING y\r\n")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+PONG", `"x"`, "+OK", `"y"`} {
		v, err := c.Read()
		if err != nil || v.String() != want {
			t.Fatalf("pipelined reply %v, %v; want %s", v, err, want)
		}
	}
	b.Node.Close()
	v, err := c.Do("PING")
	if err != nil {
		t.Fatal(err)
	}
	want := "ERR node 127.0.0.1:" + strconv.Itoa(b.Port) + " unreachable: "
	if !v.IsError() || !strings.HasPrefix(v.Str, want) {
		t.Fatalf("PING with a master down = %v, want an error starting %q", v, want)
	}
	v, _ = c.Do("PING", "x")
	if !v.IsError() || !strings.HasPrefix(v.Str, want) {
		t.Fatalf("PING x with a master down = %v, want an error starting %q", v, want)
	}
}

// TestProxyTLSClientsOnly: plaintext nodes, the proxy serving plaintext
// and TLS clients side by side (tls-auth-clients no: no client
// certificate needed).
func TestProxyTLSClientsOnly(t *testing.T) {
	f := tlstest.Generate(t)
	a, _ := twoNodeCluster(t)
	tlsPort := testutil.FreePort(t)
	p := startProxy(t, func(c *proxy.Config) {
		c.TLS.Port = tlsPort
		c.TLS.CertFile, c.TLS.KeyFile = f.ServerCert, f.ServerKey
		c.TLS.AuthClients = config.TLSAuthNo
	}, a.Addr())
	ctx := context.Background()
	tc := redis.NewClient(&redis.Options{Addr: p.TLSAddr().String(), TLSConfig: f.ClientConfig(t, false), Protocol: 3})
	t.Cleanup(func() { tc.Close() })
	ka, kb := keyIn(0, 8191, "a"), keyIn(8192, 16383, "b")
	if err := tc.MSet(ctx, ka, "1", kb, "2").Err(); err != nil {
		t.Fatalf("MSET over TLS: %v", err)
	}
	c := testutil.Dial(t, p.Addr().String())
	do(t, c, `*["1", "2"]`, "MGET", ka, kb)
	do(t, c, "+PONG", "PING")
}

// TestProxyPlaintextToTLSCluster: a tls-cluster whose nodes keep plaintext
// ports, reached without TLS: over plaintext the nodes announce plaintext
// ports (once they have learned each other's), so the proxy needs no
// certificates.
func TestProxyPlaintextToTLSCluster(t *testing.T) {
	f := tlstest.Generate(t)
	_, nodes := tlsCluster(t, f)
	c0 := testutil.Dial(t, nodes[0].Addr())
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ := c0.Do("CLUSTER", "NODES")
		if strings.Contains(v.Str, nodes[1].Addr()+"@") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 0 never learned node 1's plaintext port:\n%s", v.Str)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := startProxy(t, nil, nodes[0].Addr())
	c := testutil.Dial(t, p.Addr().String())
	ka, kb := keyIn(0, 8191, "a"), keyIn(8192, 16383, "b")
	do(t, c, "+OK", "MSET", ka, "1", kb, "2")
	do(t, c, `*["1", "2"]`, "MGET", ka, kb)
	do(t, c, "+PONG", "PING")
}
