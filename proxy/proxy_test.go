package proxy_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/proxy"
	"github.com/slotvault/slotvault/slots"
)

// twoNodeCluster starts two in-process nodes serving half of the slots
// each and waits until both see the cluster ok. A long node timeout keeps
// a loaded test machine from failing a node that is merely slow.
func twoNodeCluster(t *testing.T) (a, b *testutil.InProc) {
	t.Helper()
	a = testutil.StartInProc(t, "cluster-enabled yes", "cluster-config-file "+t.TempDir()+"/nodes.conf", "cluster-node-timeout 15000")
	b = testutil.StartInProc(t, "cluster-enabled yes", "cluster-config-file "+t.TempDir()+"/nodes.conf", "cluster-node-timeout 15000")
	ca, cb := testutil.Dial(t, a.Addr()), testutil.Dial(t, b.Addr())
	do(t, ca, "+OK", "CLUSTER", "ADDSLOTSRANGE", "0", "8191")
	do(t, cb, "+OK", "CLUSTER", "ADDSLOTSRANGE", "8192", "16383")
	do(t, ca, "+OK", "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(b.Port))
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range []*resp.Conn{ca, cb} {
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
	return a, b
}

func do(t *testing.T, c *resp.Conn, want string, args ...string) resp.Value {
	t.Helper()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if want != "" && v.String() != want {
		t.Fatalf("%v = %s, want %s", args, v, want)
	}
	return v
}

func startProxy(t *testing.T, mod func(*proxy.Config), seeds ...string) *proxy.Proxy {
	t.Helper()
	cfg := proxy.DefaultConfig()
	cfg.Port = testutil.FreePort(t)
	cfg.Cluster = seeds
	cfg.RetryTimeout = 3 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	p, err := proxy.New(cfg, proxy.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// keyIn returns a key whose slot is in [lo, hi].
func keyIn(lo, hi int, prefix string) string {
	for i := 0; ; i++ {
		k := prefix + strconv.Itoa(i)
		if s := slots.KeySlotString(k); s >= lo && s <= hi {
			return k
		}
	}
}

// multiplexModes runs f with the shared connections always used and
// never used.
func multiplexModes(t *testing.T, f func(t *testing.T, mod func(*proxy.Config))) {
	t.Run("multiplex", func(t *testing.T) { f(t, func(c *proxy.Config) { c.MultiplexMinClients = 0 }) })
	t.Run("own-conns", func(t *testing.T) { f(t, func(c *proxy.Config) { c.NoMultiplex = true }) })
}

func TestProxyRoutingSplitAndRedirects(t *testing.T) {
	multiplexModes(t, testRoutingSplitAndRedirects)
}

func testRoutingSplitAndRedirects(t *testing.T, mod func(*proxy.Config)) {
	a, b := twoNodeCluster(t)
	metricsPort := testutil.FreePort(t)
	p := startProxy(t, func(c *proxy.Config) { mod(c); c.MetricsPort = metricsPort }, a.Addr())
	c := testutil.Dial(t, p.Addr().String())
	ka, kb := keyIn(0, 8191, "a"), keyIn(8192, 16383, "b")
	do(t, c, "+OK", "SET", ka, "1")
	do(t, c, "+OK", "SET", kb, "2")
	do(t, testutil.Dial(t, a.Addr()), `"1"`, "GET", ka)
	do(t, testutil.Dial(t, b.Addr()), `"2"`, "GET", kb)
	do(t, c, `*["1", (nil), "2"]`, "MGET", ka, "nosuch", kb)
	do(t, c, "(integer) 2", "EXISTS", ka, kb)
	do(t, c, "(integer) 2", "DBSIZE")
	do(t, c, "+PONG", "PING")
	do(t, c, `"x"`, "PING", "x")
	do(t, c, "+OK", "CLIENT", "SETNAME", "me")
	do(t, c, `"me"`, "CLIENT", "GETNAME")
	do(t, c, "(error) ERR CLIENT REPLY OFF|SKIP is not supported through the slotvault proxy", "CLIENT", "REPLY", "OFF")
	do(t, c, "(error) ERR client-side caching is not supported through the slotvault proxy", "CLIENT", "TRACKING", "ON")
	do(t, c, "(error) CROSSSLOT Keys in request don't hash to the same slot", "RENAME", ka, kb)
	do(t, c, "+OK", "FUNCTION", "FLUSH")
	do(t, c, "(error) ERR FUNCTION FLUSH only supports SYNC|ASYNC option", "FUNCTION", "FLUSH", "x")

	// Move an empty slot from a to b behind the proxy's back: the proxy
	// follows MOVED and refreshes its map.
	kmove := keyIn(100, 100, "m")
	idB := do(t, testutil.Dial(t, b.Addr()), "", "CLUSTER", "MYID").Str
	do(t, testutil.Dial(t, b.Addr()), "+OK", "CLUSTER", "SETSLOT", "100", "NODE", idB)
	do(t, testutil.Dial(t, a.Addr()), "+OK", "CLUSTER", "SETSLOT", "100", "NODE", idB)
	do(t, c, "+OK", "SET", kmove, "moved")
	do(t, testutil.Dial(t, b.Addr()), `"moved"`, "GET", kmove)

	// ASK: slot 200 migrating from a to b, its key already on b.
	kask := keyIn(200, 200, "s")
	ca, cb := testutil.Dial(t, a.Addr()), testutil.Dial(t, b.Addr())
	idA := do(t, ca, "", "CLUSTER", "MYID").Str
	do(t, cb, "+OK", "CLUSTER", "SETSLOT", "200", "IMPORTING", idA)
	do(t, ca, "+OK", "CLUSTER", "SETSLOT", "200", "MIGRATING", idB)
	do(t, c, "+OK", "SET", kask, "asked")
	do(t, cb, "+OK", "ASKING")
	do(t, cb, `"asked"`, "GET", kask)

	// Pipelined across both nodes, inline included.
	if err := c.WriteRaw([]byte("PING\r\n" + string(resp.Encode("GET", ka)) + string(resp.Encode("GET", kb)) + "GET " + ka + "\r\n")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+PONG", `"1"`, `"2"`, `"1"`} {
		if v, err := c.Read(); err != nil || v.String() != want {
			t.Fatalf("pipelined: %v %v, want %s", v, err, want)
		}
	}

	res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`slotvault_proxy_redirects_total{type="moved"} 1`, `slotvault_proxy_redirects_total{type="ask"} 1`,
		"slotvault_proxy_requests_total", "slotvault_proxy_batch_latency_seconds_bucket", "slotvault_proxy_crossslot_total 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestProxyRequirePass(t *testing.T) { multiplexModes(t, testRequirePass) }

func testRequirePass(t *testing.T, mod func(*proxy.Config)) {
	a, _ := twoNodeCluster(t)
	p := startProxy(t, func(c *proxy.Config) { mod(c); c.RequirePass = "secret" }, a.Addr())
	c := testutil.Dial(t, p.Addr().String())
	do(t, c, "(error) NOAUTH Authentication required.", "GET", "x")
	do(t, c, "(error) WRONGPASS invalid username-password pair or user is disabled.", "AUTH", "nope")
	do(t, c, "+OK", "AUTH", "secret")
	do(t, c, "(nil)", "GET", "x")
	c2 := testutil.Dial(t, p.Addr().String())
	v := do(t, c2, "", "HELLO", "3", "AUTH", "default", "secret")
	if v.Type != '%' {
		t.Fatalf("HELLO 3 = %s", v)
	}
	do(t, c2, "(null)", "GET", "x")
}

func TestProxyAuthPassThrough(t *testing.T) { multiplexModes(t, testAuthPassThrough) }

func testAuthPassThrough(t *testing.T, mod func(*proxy.Config)) {
	a, b := twoNodeCluster(t)
	for _, n := range []*testutil.InProc{a, b} {
		do(t, testutil.Dial(t, n.Addr()), "+OK", "CONFIG", "SET", "requirepass", "pw")
	}
	p := startProxy(t, func(c *proxy.Config) { mod(c); c.NodePassword = "pw" }, a.Addr())
	c := testutil.Dial(t, p.Addr().String())
	do(t, c, "(error) NOAUTH Authentication required.", "GET", keyIn(0, 8191, "a"))
	do(t, c, "+OK", "AUTH", "pw")
	do(t, c, "(nil)", "GET", keyIn(0, 8191, "a"))
	do(t, c, "(nil)", "GET", keyIn(8192, 16383, "b"))
}

func TestProxyTransactionsAndPubSub(t *testing.T) { multiplexModes(t, testTransactionsAndPubSub) }

func testTransactionsAndPubSub(t *testing.T, mod func(*proxy.Config)) {
	a, _ := twoNodeCluster(t)
	p := startProxy(t, mod, a.Addr())
	c := testutil.Dial(t, p.Addr().String())
	do(t, c, "+OK", "MULTI")
	do(t, c, "+QUEUED", "SET", "{t}x", "1")
	do(t, c, "+QUEUED", "INCR", "{t}y")
	do(t, c, "(error) ERR wrong number of arguments for 'get' command", "GET")
	do(t, c, "(error) EXECABORT Transaction discarded because of previous errors.", "EXEC")
	do(t, c, "(error) ERR EXEC without MULTI", "EXEC")
	do(t, c, "(error) ERR DISCARD without MULTI", "DISCARD")
	do(t, c, "+OK", "MULTI")
	do(t, c, "(error) ERR MULTI calls can not be nested", "MULTI")
	do(t, c, "+QUEUED", "GET", "{t}x")
	do(t, c, "+OK", "DISCARD")
	do(t, c, "+OK", "WATCH", "{t}x")
	do(t, c, "+OK", "MULTI")
	do(t, c, "+QUEUED", "SET", "{t}x", "2")
	do(t, c, "*[+OK]", "EXEC")

	sub := testutil.Dial(t, p.Addr().String())
	do(t, sub, `*["psubscribe", "n*", (integer) 1]`, "PSUBSCRIBE", "n*")
	do(t, sub, `(error) ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`, "GET", "x")
	do(t, c, "(integer) 1", "PUBLISH", "news", "m")
	if v, err := sub.Read(); err != nil || v.String() != `*["pmessage", "n*", "news", "m"]` {
		t.Fatalf("pmessage: %v %v", v, err)
	}
	do(t, sub, `*["punsubscribe", "n*", (integer) 0]`, "PUNSUBSCRIBE", "n*")
	do(t, sub, "+RESET", "RESET")
	do(t, sub, "+OK", "SET", "afterreset", "1")
	do(t, c, "", "HELLO", "3")
	do(t, c, "+RESET", "RESET")
	do(t, c, "(nil)", "GET", "nosuch")
}

// TestProxyCloseUnblocks: Close returns while a client waits in BLPOP.
func TestProxyCloseUnblocks(t *testing.T) { multiplexModes(t, testCloseUnblocks) }

func testCloseUnblocks(t *testing.T, mod func(*proxy.Config)) {
	a, _ := twoNodeCluster(t)
	p := startProxy(t, mod, a.Addr())
	c := testutil.Dial(t, p.Addr().String())
	do(t, c, "+OK", "SET", "x", "1")
	if err := c.Send("BLPOP", "nolist", "0"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the BLPOP reach the node
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked by a client in BLPOP")
	}
}

// TestProxyConcurrentClients: many clients pipelining writes and reads of
// their own keys at once (shared connections in use) each read back
// exactly what they wrote, in order.
func TestProxyConcurrentClients(t *testing.T) { multiplexModes(t, testConcurrentClients) }

func testConcurrentClients(t *testing.T, mod func(*proxy.Config)) {
	a, _ := twoNodeCluster(t)
	p := startProxy(t, mod, a.Addr())
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		go func(w int) {
			c, err := resp.Dial(p.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for round := 0; round < 100; round++ {
				var batch []byte
				for i := 0; i < 8; i++ {
					k := "w" + strconv.Itoa(w) + ":" + strconv.Itoa(i)
					v := strconv.Itoa(round)
					batch = append(batch, resp.Encode("SET", k, v)...)
					batch = append(batch, resp.Encode("GET", k)...)
				}
				batch = append(batch, resp.Encode("MGET", "w"+strconv.Itoa(w)+":0", "w"+strconv.Itoa(w)+":7")...)
				if err := c.WriteRaw(batch); err != nil {
					errs <- err
					return
				}
				for i := 0; i < 8; i++ {
					if v, err := c.Read(); err != nil || v.String() != "+OK" {
						errs <- fmt.Errorf("SET: %v %v", v, err)
						return
					}
					if v, err := c.Read(); err != nil || v.Str != strconv.Itoa(round) {
						errs <- fmt.Errorf("client %d round %d GET: %v %v", w, round, v, err)
						return
					}
				}
				want := `*["` + strconv.Itoa(round) + `", "` + strconv.Itoa(round) + `"]`
				if v, err := c.Read(); err != nil || v.String() != want {
					errs <- fmt.Errorf("MGET: %v %v", v, err)
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < 16; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
