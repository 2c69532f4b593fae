package node_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// TestConnGoRedis connects go-redis v9 with RESP3 and RESP2.
func TestConnGoRedis(t *testing.T) {
	s := testutil.StartInProc(t)
	for _, proto := range []int{3, 2} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			ctx := context.Background()
			c := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: proto, ClientName: "gr" + strconv.Itoa(proto)})
			defer c.Close()
			if v, err := c.Ping(ctx).Result(); err != nil || v != "PONG" {
				t.Fatalf("PING: %q %v", v, err)
			}
			hello, err := c.Do(ctx, "HELLO").Result()
			if err != nil {
				t.Fatalf("HELLO: %v", err)
			}
			var version, gotProto any
			switch h := hello.(type) {
			case map[any]any: // RESP3 map
				version, gotProto = h["version"], h["proto"]
			case []any: // RESP2 flat array
				for i := 0; i+1 < len(h); i += 2 {
					switch h[i] {
					case "version":
						version = h[i+1]
					case "proto":
						gotProto = h[i+1]
					}
				}
			default:
				t.Fatalf("HELLO reply %T %v", hello, hello)
			}
			if version != "7.0.15" || gotProto != int64(proto) {
				t.Fatalf("HELLO version %v proto %v", version, gotProto)
			}
			if name, err := c.ClientGetName(ctx).Result(); err != nil || name != "gr"+strconv.Itoa(proto) {
				t.Fatalf("CLIENT GETNAME after connect: %q %v", name, err)
			}
			if err := c.Do(ctx, "CLIENT", "SETNAME", "renamed").Err(); err != nil {
				t.Fatalf("CLIENT SETNAME: %v", err)
			}
			if name, err := c.ClientGetName(ctx).Result(); err != nil || name != "renamed" {
				t.Fatalf("CLIENT GETNAME: %q %v", name, err)
			}
			info, err := c.ClientInfo(ctx).Result()
			if err != nil || info.Name != "renamed" || info.Resp != proto {
				t.Fatalf("CLIENT INFO: %+v %v", info, err)
			}
			list, err := c.ClientList(ctx).Result()
			if err != nil || !strings.Contains(list, "name=renamed") {
				t.Fatalf("CLIENT LIST: %q %v", list, err)
			}
			if _, err := c.Do(ctx, "CLIENT", "SETNAME", "a b").Result(); err == nil || !strings.Contains(err.Error(), "Client names cannot contain spaces") {
				t.Fatalf("bad name: %v", err)
			}
		})
	}
}

// TestConnGoRedisAuth: go-redis authenticating through HELLO AUTH.
func TestConnGoRedisAuth(t *testing.T) {
	s := testutil.StartInProc(t, "requirepass secret")
	ctx := context.Background()
	bad := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: 3, Password: "wrong", MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	for _, proto := range []int{2, 3} {
		c := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: proto, Password: "secret"})
		if v, err := c.Ping(ctx).Result(); err != nil || v != "PONG" {
			t.Fatalf("proto %d PING: %q %v", proto, v, err)
		}
		c.Close()
	}
}

// waitClosed reads from c until the server closes it (EOF or reset).
func waitClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 1024)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection not closed within %v", within)
		}
		return
	}
}

// TestConnIdleTimeout: with "timeout 1" idle clients are disconnected, on
// both servers.
func TestConnIdleTimeout(t *testing.T) {
	d := testutil.NewDiff(t, "timeout 1")
	var conns []*resp.Conn
	for _, addr := range []string{d.RedisAddr, d.SVAddr} {
		c := testutil.Dial(t, addr)
		if v, err := c.Do("PING"); err != nil || v.Str != "PONG" {
			t.Fatalf("%s PING: %v %v", addr, v, err)
		}
		conns = append(conns, c)
	}
	// A connection that keeps talking stays open past the timeout.
	c := testutil.Dial(t, d.SVAddr)
	for i := 0; i < 5; i++ {
		if v, err := c.Do("PING"); err != nil || v.Str != "PONG" {
			t.Fatalf("PING %d: %v %v", i, v, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, c := range conns {
		waitClosed(t, c.NetConn(), 10*time.Second)
	}
}

// clientFD returns the server-side socket of the connection c, which lives
// in this process for an in-process node.
func clientFD(t *testing.T, c *resp.Conn) int {
	t.Helper()
	v, err := c.Do("CLIENT", "INFO")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(v.Str) {
		if strings.HasPrefix(f, "fd=") {
			fd, _ := strconv.Atoi(f[3:])
			return fd
		}
	}
	t.Fatalf("no fd in %q", v.Str)
	return -1
}

// TestConnTCPKeepalive checks the accepted socket's options: Redis's
// anetKeepAlive (idle = tcp-keepalive, interval = a third, 3 probes), and
// no keep-alive with tcp-keepalive 0.
func TestConnTCPKeepalive(t *testing.T) {
	s := testutil.StartInProc(t, "tcp-keepalive 60")
	fd := clientFD(t, testutil.Dial(t, s.Addr()))
	get := func(level, opt int) int {
		v, err := syscall.GetsockoptInt(fd, level, opt)
		if err != nil {
			t.Fatalf("getsockopt: %v", err)
		}
		return v
	}
	if get(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) != 1 {
		t.Fatal("SO_KEEPALIVE not set")
	}
	if idle, intvl, cnt := get(syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE), get(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL), get(syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT); idle != 60 || intvl != 20 || cnt != 3 {
		t.Fatalf("keepalive idle %d intvl %d cnt %d, want 60 20 3", idle, intvl, cnt)
	}
	s0 := testutil.StartInProc(t, "tcp-keepalive 0")
	fd0 := clientFD(t, testutil.Dial(t, s0.Addr()))
	if v, _ := syscall.GetsockoptInt(fd0, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); v != 0 {
		t.Fatal("SO_KEEPALIVE set with tcp-keepalive 0")
	}
}

// TestDiffConnMaxClients: the connection over maxclients gets Redis's
// error and is closed.
func TestDiffConnMaxClients(t *testing.T) {
	d := testutil.NewDiff(t, "maxclients 2")
	for name, addr := range map[string]string{"redis": d.RedisAddr, "slotvault": d.SVAddr} {
		// d already holds one connection to each server.
		second := testutil.Dial(t, addr)
		if v, err := second.Do("PING"); err != nil || v.Str != "PONG" {
			t.Fatalf("%s: second client: %v %v", name, v, err)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != "-ERR max number of clients reached\r\n" {
			t.Errorf("%s: third client got %q", name, got)
		}
		second.Close()
	}
}

// TestDiffConnProtectedMode: with the default bind, no password and
// protected mode on, a connection from a non-loopback address is refused
// with Redis's DENIED text.
func TestDiffConnProtectedMode(t *testing.T) {
	ip := nonLoopbackIP(t)
	r := testutil.StartRedis(t, "--bind", "*", "-::*", "--protected-mode", "yes")
	s := testutil.StartInProc(t, "bind * -::*", "protected-mode yes")
	var got [2]string
	for i, port := range []int{r.Port, s.Port} {
		c, err := net.Dial("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("%d %v\n%s", i, err, r.Output())
		}
		c.Write([]byte("PING\r\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		c.Close()
		got[i] = string(b)
	}
	if !strings.HasPrefix(got[0], "-DENIED") || got[0] != got[1] {
		t.Errorf("protected mode:\n  redis:     %q\n  slotvault: %q", got[0], got[1])
	}
	// Loopback clients are served.
	if v, err := testutil.Dial(t, s.Addr()).Do("PING"); err != nil || v.Str != "PONG" {
		t.Fatalf("loopback: %v %v", v, err)
	}
}

func nonLoopbackIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address")
	return ""
}

// clientID returns the CLIENT ID of c.
func clientID(t *testing.T, c *resp.Conn) string {
	t.Helper()
	v, err := c.Do("CLIENT", "ID")
	if err != nil || v.Type != ':' {
		t.Fatalf("CLIENT ID: %v %v", v, err)
	}
	return strconv.FormatInt(v.Int, 10)
}

// TestDiffConnClientKill kills other connections by id, address, and type,
// on both servers, and checks the victims are gone.
func TestDiffConnClientKill(t *testing.T) {
	d := testutil.NewDiff(t)
	for name, addr := range map[string]string{"redis": d.RedisAddr, "slotvault": d.SVAddr} {
		t.Run(name, func(t *testing.T) {
			killer := testutil.Dial(t, addr)
			victim := testutil.Dial(t, addr)
			id := clientID(t, victim)
			if v, _ := killer.Do("CLIENT", "KILL", "ID", id); v.Int != 1 {
				t.Fatalf("KILL ID: %v", v)
			}
			waitClosed(t, victim.NetConn(), 5*time.Second)
			if v, _ := killer.Do("CLIENT", "LIST", "ID", id); v.Str != "" && v.Str != "txt:" {
				t.Fatalf("killed client still listed: %q", v.Str)
			}
			if v, _ := killer.Do("CLIENT", "KILL", "ID", id); v.Int != 0 {
				t.Fatalf("second KILL ID: %v", v)
			}

			victim = testutil.Dial(t, addr)
			victim.Do("PING")
			if v, _ := killer.Do("CLIENT", "KILL", victim.NetConn().LocalAddr().String()); v.Str != "OK" {
				t.Fatalf("KILL addr: %v", v)
			}
			waitClosed(t, victim.NetConn(), 5*time.Second)

			victim = testutil.Dial(t, addr)
			victim.Do("PING")
			if v, _ := killer.Do("CLIENT", "KILL", "ADDR", victim.NetConn().LocalAddr().String(), "LADDR", victim.NetConn().RemoteAddr().String()); v.Int != 1 {
				t.Fatalf("KILL ADDR LADDR: %v", v)
			}
			waitClosed(t, victim.NetConn(), 5*time.Second)

			// TYPE normal with SKIPME yes spares the killer only.
			victim = testutil.Dial(t, addr)
			victim.Do("PING")
			if v, _ := killer.Do("CLIENT", "KILL", "TYPE", "normal", "USER", "default"); v.Int < 1 {
				t.Fatalf("KILL TYPE normal: %v", v)
			}
			waitClosed(t, victim.NetConn(), 5*time.Second)
			if v, err := killer.Do("PING"); err != nil || v.Str != "PONG" {
				t.Fatalf("killer after SKIPME yes: %v %v", v, err)
			}
		})
	}
}

// TestConnClientPause: PAUSE ALL holds every command until the pause
// ends; PAUSE WRITE holds write commands only, until UNPAUSE. Same on both
// servers. (The bounds are loose: a held command must not be answered in
// the first 150 ms of a 500 ms pause.)
func TestConnClientPause(t *testing.T) {
	d := testutil.NewDiff(t)
	for name, addr := range map[string]string{"redis": d.RedisAddr, "slotvault": d.SVAddr} {
		t.Run(name, func(t *testing.T) {
			admin := testutil.Dial(t, addr)
			other := testutil.Dial(t, addr)
			haveSet := true
			if v, _ := other.Do("SET", "k", "v"); v.IsError() {
				haveSet = false // the string family is not built in
			}
			if v, _ := admin.Do("CLIENT", "PAUSE", "500", "ALL"); v.Str != "OK" {
				t.Fatalf("PAUSE ALL: %v", v)
			}
			start := time.Now()
			if v, err := other.Do("PING"); err != nil || v.Str != "PONG" {
				t.Fatalf("PING after pause: %v %v", v, err)
			}
			if el := time.Since(start); el < 150*time.Millisecond {
				t.Fatalf("PING answered after %v during PAUSE ALL", el)
			}

			if v, _ := admin.Do("CLIENT", "PAUSE", "100000", "WRITE"); v.Str != "OK" {
				t.Fatalf("PAUSE WRITE: %v", v)
			}
			defer admin.Do("CLIENT", "UNPAUSE")
			if v, err := other.Do("ECHO", "read"); err != nil || v.Str != "read" {
				t.Fatalf("ECHO during PAUSE WRITE: %v %v", v, err)
			}
			if v, err := other.Do("CLIENT", "INFO"); err != nil || v.IsError() {
				t.Fatalf("CLIENT INFO during PAUSE WRITE: %v %v", v, err)
			}
			if haveSet {
				other.Send("SET", "k", "w")
				other.Timeout = 150 * time.Millisecond
				if v, err := other.Read(); err == nil {
					t.Fatalf("SET answered during PAUSE WRITE: %v", v)
				}
				other.Timeout = 10 * time.Second
			}
			if v, _ := admin.Do("CLIENT", "UNPAUSE"); v.Str != "OK" {
				t.Fatalf("UNPAUSE: %v", v)
			}
			if haveSet {
				if v, err := other.Read(); err != nil || v.Str != "OK" {
					t.Fatalf("SET after UNPAUSE: %v %v", v, err)
				}
			}
		})
	}
}

// TestConnClientUnblock ends a blocked BLPOP by timeout and by error, on
// both servers (needs the list family's BLPOP).
func TestConnClientUnblock(t *testing.T) {
	d := testutil.NewDiff(t)
	for name, addr := range map[string]string{"redis": d.RedisAddr, "slotvault": d.SVAddr} {
		t.Run(name, func(t *testing.T) {
			admin := testutil.Dial(t, addr)
			blocked := testutil.Dial(t, addr)
			if v, _ := blocked.Do("BLPOP", "nolist", "0.01"); v.IsError() {
				t.Skip("BLPOP not available")
			}
			id := clientID(t, blocked)
			for _, mode := range []string{"TIMEOUT", "ERROR"} {
				blocked.Send("BLPOP", "nolist", "0")
				// Wait until the client shows as blocked.
				deadline := time.Now().Add(5 * time.Second)
				for {
					v, _ := admin.Do("CLIENT", "LIST", "ID", id)
					if strings.Contains(v.Str, "flags=b") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("client never blocked: %q", v.Str)
					}
					time.Sleep(5 * time.Millisecond)
				}
				if v, _ := admin.Do("CLIENT", "UNBLOCK", id, mode); v.Int != 1 {
					t.Fatalf("UNBLOCK %s: %v", mode, v)
				}
				v, err := blocked.Read()
				if err != nil {
					t.Fatal(err)
				}
				want := "(nil array)"
				if mode == "ERROR" {
					want = "(error) UNBLOCKED client unblocked via CLIENT UNBLOCK"
				}
				if v.String() != want {
					t.Fatalf("after UNBLOCK %s: %s, want %s", mode, v, want)
				}
			}
			if v, _ := admin.Do("CLIENT", "UNBLOCK", id); v.Int != 0 {
				t.Fatalf("UNBLOCK of a client not blocked: %v", v)
			}
		})
	}
}
