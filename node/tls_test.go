package node_test

import (
	"context"
	"crypto/tls"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/internal/tlsconf/tlstest"
)

// TestTLSInProcReload reloads the certificate while clients connect and
// run commands over TLS (run it with -race); every connection is served
// with either the old or the new certificate, and blocked TLS clients are
// woken as plaintext ones are.
func TestTLSInProcReload(t *testing.T) {
	f := tlstest.Generate(t)
	tlsPort := testutil.FreePort(t)
	p := testutil.StartInProc(t, "tls-port "+strconv.Itoa(tlsPort), "tls-cert-file "+f.ServerCert,
		"tls-key-file "+f.ServerKey, "tls-ca-cert-file "+f.CACert)
	addr := "127.0.0.1:" + strconv.Itoa(tlsPort)
	ctx := context.Background()
	plain := redis.NewClient(&redis.Options{Addr: p.Addr()})
	defer plain.Close()

	// A blocked TLS client is served by a push from another client.
	blocked := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: f.ClientConfig(t, true)})
	defer blocked.Close()
	res := make(chan []string, 1)
	go func() { res <- blocked.BLPop(ctx, 10*time.Second, "q").Val() }()

	certs := [][2]string{{f.ServerCert, f.ServerKey}}
	for i := 0; i < 3; i++ {
		c, k := f.Issue(t, "s"+strconv.Itoa(i), "reload "+strconv.Itoa(i))
		certs = append(certs, [2]string{c, k})
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := tls.Dial("tcp", addr, f.ClientConfig(t, true))
				if err != nil {
					t.Errorf("dial during reload: %v", err)
					return
				}
				conn.Write([]byte("PING\r\n"))
				buf := make([]byte, 7)
				if _, err := conn.Read(buf); err != nil || string(buf) != "+PONG\r\n" {
					t.Errorf("PING during reload: %q %v", buf, err)
				}
				conn.Close()
			}
		}()
	}
	for i := 0; i < 20; i++ {
		c := certs[i%len(certs)]
		if err := plain.Do(ctx, "CONFIG", "SET", "tls-cert-file", c[0], "tls-key-file", c[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if err := plain.RPush(ctx, "q", "v").Err(); err != nil {
		t.Fatal(err)
	}
	if got := <-res; len(got) != 2 || got[1] != "v" {
		t.Fatalf("BLPOP over TLS = %v", got)
	}
	// A blocked TLS client that hangs up is noticed and freed.
	conn, err := tls.Dial("tcp", addr, f.ClientConfig(t, true))
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("BLPOP never 0\r\n"))
	waitClients := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(plain.Info(ctx, "clients").Val(), "blocked_clients:"+want+"\r\n") {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("blocked_clients never became %s: %s", want, plain.Info(ctx, "clients").Val())
	}
	waitClients("1")
	conn.Close()
	waitClients("0")
	if len(p.Node.TLSAddrs()) != 1 {
		t.Fatalf("TLSAddrs = %v", p.Node.TLSAddrs())
	}
}
