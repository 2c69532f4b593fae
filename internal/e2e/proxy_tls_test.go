package e2e

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/internal/tlsconf/tlstest"
	"github.com/slotvault/slotvault/slots"
)

// startTLSOnlyNode starts a cluster node that listens on a TLS port only
// (port 0, tls-cluster yes: the bus is TLS too).
func startTLSOnlyNode(t *testing.T, f *tlstest.Files) (*testutil.Proc, int) {
	t.Helper()
	dir := t.TempDir()
	tlsPort := testutil.FreePort(t)
	args := append([]string{"server", "--port", "0", "--bind", "127.0.0.1", "--dir", dir, "--tls-port", strconv.Itoa(tlsPort),
		"--cluster-enabled", "yes", "--cluster-node-timeout", "15000", "--tls-cluster", "yes",
		"--appendonly", "no", "--save", ""}, f.ServerArgs()...)
	p := testutil.StartProcess(t, 0, dir, testutil.Binary(t), args...)
	c := tlsGoClient(t, tlsPort, f.ClientConfig(t, true))
	waitFor(t, "TLS PING", 15*time.Second, func() bool { return c.Ping(context.Background()).Err() == nil })
	return p, tlsPort
}

// startTLSProxy runs `slotvault proxy` with a TLS client port (and no
// plaintext one) and waits until it answers a TLS PING.
func startTLSProxy(t *testing.T, f *tlstest.Files, seeds []string, extra ...string) (*testutil.Proc, int) {
	t.Helper()
	tlsPort := testutil.FreePort(t)
	args := append([]string{"proxy", "--port", "0", "--tls-port", strconv.Itoa(tlsPort), "--cluster", strings.Join(seeds, ",")},
		f.ServerArgs()...)
	args = append(args, extra...)
	p := testutil.StartProcess(t, 0, t.TempDir(), testutil.Binary(t), args...)
	c := tlsGoClient(t, tlsPort, f.ClientConfig(t, true))
	waitFor(t, "proxy TLS PING", 15*time.Second, func() bool {
		if p.Exited() {
			t.Fatalf("proxy exited:\n%s", p.Output())
		}
		return c.Ping(context.Background()).Err() == nil
	})
	return p, tlsPort
}

// TestProxyTLS: a 3-master cluster whose nodes listen on TLS ports only
// (tls-cluster yes), a proxy dialing them with TLS (--tls-cluster yes,
// on the TLS ports CLUSTER SLOTS announces to a TLS client) and serving
// clients on a TLS port only. redis-cli --tls and go-redis with a
// tls.Config reach keys of every master; without a client certificate a
// client is refused (tls-auth-clients yes) or served (optional).
func TestProxyTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	cli := requireTLSCLI(t)
	f := tlstest.Generate(t)
	var ports []int
	var seeds []string
	for i := 0; i < 3; i++ {
		_, tp := startTLSOnlyNode(t, f)
		ports = append(ports, tp)
		seeds = append(seeds, "127.0.0.1:"+strconv.Itoa(tp))
	}
	args := append(append(f.CLIArgs(), "--cluster", "create"), seeds...)
	args = append(args, "--cluster-yes")
	if out, err := runWithTimeout(exec.Command(cli, args...), 60*time.Second); err != nil {
		t.Fatalf("redis-cli --tls --cluster create: %v\n%s", err, out)
	}
	ctx := context.Background()
	var nodeClients []*redis.Client
	for _, p := range ports {
		nodeClients = append(nodeClients, tlsGoClient(t, p, f.ClientConfig(t, true)))
	}
	waitFor(t, "cluster_state:ok everywhere", 30*time.Second, func() bool {
		for _, nc := range nodeClients {
			if !strings.Contains(nc.ClusterInfo(ctx).Val(), "cluster_state:ok") {
				return false
			}
		}
		return true
	})

	_, pport := startTLSProxy(t, f, seeds[:1], "--tls-cluster", "yes", "--tls-auth-clients", "yes")

	// One key per master, found from the slot map a TLS client sees.
	var keys []string
	for _, s := range nodeClients[0].ClusterSlots(ctx).Val() {
		if _, p, _ := net.SplitHostPort(s.Nodes[0].Addr); !strings.Contains(strings.Join(seeds, ","), ":"+p) {
			t.Fatalf("CLUSTER SLOTS over TLS names %s, not a TLS port", s.Nodes[0].Addr)
		}
		for i := 0; ; i++ {
			k := "tlskey:" + strconv.Itoa(i)
			if sl := slots.KeySlotString(k); sl >= s.Start && sl <= s.End {
				keys = append(keys, k)
				break
			}
		}
	}
	if len(keys) != 3 {
		t.Fatalf("want one key per master, got %v", keys)
	}
	for _, k := range keys {
		if out := tlsCLI(t, f, pport, "SET", k, "v-"+k); out != "OK" {
			t.Fatalf("redis-cli --tls SET %s through the proxy: %q", k, out)
		}
		if out := tlsCLI(t, f, pport, "GET", k); out != "v-"+k {
			t.Fatalf("redis-cli --tls GET %s through the proxy: %q", k, out)
		}
	}
	if out := tlsCLI(t, f, pport, "PING"); out != "PONG" {
		t.Fatalf("PING through the proxy: %q", out)
	}
	gc := tlsGoClient(t, pport, f.ClientConfig(t, true))
	for _, k := range keys {
		if v, err := gc.Get(ctx, k).Result(); err != nil || v != "v-"+k {
			t.Fatalf("go-redis GET %s = %q, %v", k, v, err)
		}
	}
	if v, err := gc.MGet(ctx, keys...).Result(); err != nil || len(v) != 3 {
		t.Fatalf("MGET across the masters = %v, %v", v, err)
	}
	if n, err := gc.DBSize(ctx).Result(); err != nil || n != 3 {
		t.Fatalf("DBSIZE = %d, %v", n, err)
	}
	// The proxy learned the masters by the TLS ports they announce.
	info := gc.Info(ctx).Val()
	for _, a := range seeds {
		if !strings.Contains(info, "addr="+a+",") {
			t.Fatalf("proxy INFO does not list master %s:\n%s", a, info)
		}
	}

	// tls-auth-clients yes: no certificate, no service.
	if err := tlsGoClient(t, pport, f.ClientConfig(t, false)).Ping(ctx).Err(); err == nil {
		t.Fatal("go-redis without a client certificate was served")
	}
	noCert := []string{"--tls", "--cacert", f.CACert, "-h", "127.0.0.1", "-p", strconv.Itoa(pport), "GET", keys[0]}
	out, _ := runWithTimeout(exec.Command(cli, noCert...), 30*time.Second)
	if strings.Contains(out, "v-"+keys[0]) {
		t.Fatalf("redis-cli without a client certificate was served: %q", out)
	}
	t.Logf("redis-cli without a client certificate: %s", strings.TrimSpace(out))
	// Nor is a plaintext client.
	if err := tlsGoClient(t, pport, nil).Ping(ctx).Err(); err == nil {
		t.Fatal("a plaintext client was served on the TLS port")
	}

	// tls-auth-clients optional: redis-cli --tls --cacert alone is served.
	_, oport := startTLSProxy(t, f, seeds[1:2], "--tls-nodes", "yes", "--tls-auth-clients", "optional",
		"--tls-client-cert-file", f.ClientCert, "--tls-client-key-file", f.ClientKey)
	noCert[len(noCert)-3] = strconv.Itoa(oport)
	out, err := runWithTimeout(exec.Command(cli, noCert...), 30*time.Second)
	if err != nil || strings.TrimSpace(stripANSI(out)) != "v-"+keys[0] {
		t.Fatalf("redis-cli --tls --cacert (no certificate) with tls-auth-clients optional: %q, %v", out, err)
	}
	oc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(oport), TLSConfig: f.ClientConfig(t, false)})
	defer oc.Close()
	if v, err := oc.Get(ctx, keys[2]).Result(); err != nil || v != "v-"+keys[2] {
		t.Fatalf("go-redis without a certificate, tls-auth-clients optional: %q, %v", v, err)
	}
}

// TestProxyPingFanout: PING through the proxy asks every master; when one
// is frozen (SIGSTOP) and later killed, PING answers an error naming it
// instead of PONG.
func TestProxyPingFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rc := startMasters(t, 3)
	px := startProxy(t, rc.addrs(), "--node-timeout", "1s", "--retry-timeout", "3s")
	c := testutil.Dial(t, px.Addr())
	mustDo(t, c, "+PONG", "PING")
	mustDo(t, c, `"hi"`, "PING", "hi")
	victim := rc.nodes[1]
	victim.proc.Freeze(t)
	want := "ERR node " + victim.addr() + " unreachable: "
	v, err := c.Do("PING")
	if err != nil {
		t.Fatal(err)
	}
	if !v.IsError() || !strings.HasPrefix(v.Str, want) {
		t.Fatalf("PING with a frozen master = %v, want an error starting %q", v, want)
	}
	t.Logf("frozen master: %s", v.Str)
	victim.proc.Kill()
	v, err = c.Do("PING", "hi")
	if err != nil {
		t.Fatal(err)
	}
	if !v.IsError() || !strings.HasPrefix(v.Str, want) {
		t.Fatalf("PING with a killed master = %v, want an error starting %q", v, want)
	}
	t.Logf("killed master: %s", v.Str)
}
