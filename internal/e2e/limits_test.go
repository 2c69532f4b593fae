package e2e

import (
	"context"
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

// Limits end-to-end: maxmemory with noeviction and the eviction policies,
// maxclients, idle timeout, output buffer limits; real binaries.

var limitArgs = []string{"--save", "", "--appendonly", "no", "--backup-target", ""}

// fill writes count keys prefix:N with size-byte values in pipelines and
// returns the first error reply, if any.
func fill(t *testing.T, c *redis.Client, prefix string, count, size int, ttl bool) error {
	t.Helper()
	ctx := context.Background()
	val := strings.Repeat("x", size)
	for i := 0; i < count; i += 100 {
		p := c.Pipeline()
		for j := i; j < i+100 && j < count; j++ {
			if ttl {
				p.Set(ctx, prefix+":"+strconv.Itoa(j), val, 3600e9)
			} else {
				p.Set(ctx, prefix+":"+strconv.Itoa(j), val, 0)
			}
		}
		cmds, err := p.Exec(ctx)
		for _, cmd := range cmds {
			if cmd.Err() != nil {
				return cmd.Err()
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func infoInt(t *testing.T, addr, section, field string) int64 {
	t.Helper()
	v, _ := strconv.ParseInt(infoOf(t, addr, section)[field], 10, 64)
	return v
}

func TestMaxmemoryNoevictionOOM(t *testing.T) {
	p := testutil.StartSlotvault(t, append(limitArgs, "--maxmemory", "24mb")...)
	c := goClient(t, p.Addr())
	err := fill(t, c, "k", 100000, 1000, false)
	if err == nil || err.Error() != "OOM command not allowed when used memory > 'maxmemory'." {
		t.Fatalf("writing 100MB under maxmemory 24mb: %v", err)
	}
	ctx := context.Background()
	// Reads and deletions still work; evicted_keys stays 0.
	if _, err := c.Get(ctx, "k:0").Result(); err != nil {
		t.Fatalf("GET under OOM: %v", err)
	}
	if _, err := c.Del(ctx, "k:0").Result(); err != nil {
		t.Fatalf("DEL under OOM: %v", err)
	}
	if n := infoInt(t, p.Addr(), "stats", "evicted_keys"); n != 0 {
		t.Fatalf("noeviction evicted %d keys", n)
	}
	// Raising the limit lets writes in again.
	c.ConfigSet(ctx, "maxmemory", "0")
	if err := c.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatalf("SET after raising maxmemory: %v", err)
	}
}

func TestMaxmemoryAllkeysPoliciesKeepUnderLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random"} {
		t.Run(policy, func(t *testing.T) {
			const maxmem = 32 << 20
			p := testutil.StartSlotvault(t, append(limitArgs, "--maxmemory", strconv.Itoa(maxmem), "--maxmemory-policy", policy)...)
			c := goClient(t, p.Addr())
			const keys, size = 100000, 1000 // ~100 MB written
			if err := fill(t, c, "k", keys, size, false); err != nil {
				t.Fatalf("write under %s: %v", policy, err)
			}
			ctx := context.Background()
			dbsize := c.DBSize(ctx).Val()
			evicted := infoInt(t, p.Addr(), "stats", "evicted_keys")
			if evicted == 0 || dbsize >= keys || dbsize+evicted != keys {
				t.Fatalf("dbsize %d evicted %d, want evictions adding up to %d", dbsize, evicted, keys)
			}
			// What remains fits in maxmemory: the data set left is at most
			// maxmemory worth of values.
			if int64(dbsize)*size > maxmem {
				t.Fatalf("%d keys of %d bytes left under maxmemory %d", dbsize, size, maxmem)
			}
			t.Logf("%s: %d keys kept, %d evicted, used_memory %s", policy, dbsize, evicted, infoOf(t, p.Addr(), "memory")["used_memory_human"])
		})
	}
}

func TestMaxmemoryVolatilePoliciesSpareOtherKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, policy := range []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"} {
		t.Run(policy, func(t *testing.T) {
			p := testutil.StartSlotvault(t, append(limitArgs, "--maxmemory", "32mb", "--maxmemory-policy", policy)...)
			c := goClient(t, p.Addr())
			ctx := context.Background()
			if err := fill(t, c, "keep", 2000, 1000, false); err != nil {
				t.Fatal(err)
			}
			if err := fill(t, c, "tmp", 60000, 1000, true); err != nil {
				t.Fatalf("volatile writes: %v", err)
			}
			if n := infoInt(t, p.Addr(), "stats", "evicted_keys"); n == 0 {
				t.Fatal("nothing evicted")
			}
			for i := 0; i < 2000; i++ {
				if c.Exists(ctx, "keep:"+strconv.Itoa(i)).Val() != 1 {
					t.Fatalf("%s evicted keep:%d, a key without expiry", policy, i)
				}
			}
			// With no volatile key left to evict, writes get -OOM.
			err := fill(t, c, "more", 100000, 1000, false)
			if err == nil || !strings.HasPrefix(err.Error(), "OOM ") {
				t.Fatalf("writing without volatile keys left: %v", err)
			}
		})
	}
}

// TestEvictionPropagatesToReplica checks that evictions reach the replica
// as DELs: afterwards both hold the same keys.
func TestEvictionPropagatesToReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	master := startMaster(t, "--maxmemory", "32mb", "--maxmemory-policy", "allkeys-random")
	replica := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), master)
	waitLoaded(t, replica.Addr())
	waitInSync(t, master, replica)
	c := goClient(t, master.Addr())
	if err := fill(t, c, "k", 60000, 1000, false); err != nil {
		t.Fatal(err)
	}
	if infoInt(t, master.Addr(), "stats", "evicted_keys") == 0 {
		t.Fatal("nothing evicted")
	}
	waitInSync(t, master, replica)
	ctx := context.Background()
	if m, r := c.DBSize(ctx).Val(), goClient(t, replica.Addr()).DBSize(ctx).Val(); m != r {
		t.Fatalf("master %d keys, replica %d", m, r)
	}
	if n := infoInt(t, replica.Addr(), "stats", "evicted_keys"); n != 0 {
		t.Fatalf("replica evicted %d keys itself", n)
	}
}

// TestSlowSubscriberDisconnected: a subscriber that never reads while big
// messages are published is dropped at the pubsub hard limit (default
// 32mb), with Redis's log line; CLIENT LIST shows its omem meanwhile.
func TestSlowSubscriberDisconnected(t *testing.T) {
	p := testutil.StartSlotvault(t, limitArgs...)
	sub, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// A small receive buffer makes the socket fill up quickly.
	sub.(*net.TCPConn).SetReadBuffer(64 << 10)
	sub.Write([]byte("*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n"))
	buf := make([]byte, 64)
	if _, err := io.ReadAtLeast(sub, buf, len("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")); err != nil {
		t.Fatal(err)
	}
	pub := testutil.Dial(t, p.Addr())
	pub.Timeout = 10 * time.Second
	msg := strings.Repeat("m", 1<<20)
	sawOmem := false
	for i := 0; i < 200; i++ {
		v, err := pub.Do("PUBLISH", "ch", msg)
		if err != nil {
			t.Fatal(err)
		}
		if v.Int == 0 {
			break // the subscriber is gone
		}
		if i == 10 {
			list, _ := pub.Do("CLIENT", "LIST")
			for _, line := range strings.Split(list.Str, "\n") {
				if strings.Contains(line, "cmd=subscribe") && !strings.Contains(line, " omem=0 ") {
					sawOmem = true
				}
			}
		}
		if i == 199 {
			t.Fatal("subscriber still attached after 200 MB")
		}
	}
	if !sawOmem {
		t.Error("CLIENT LIST showed no omem for the stuck subscriber")
	}
	waitLog(t, p, "scheduled to be closed ASAP for overcoming of output buffer limits.")
	if v, _ := pub.Do("PING"); v.Str != "PONG" {
		t.Fatalf("node after dropping the subscriber: %v", v)
	}
}

// TestPubsubSoftLimit: above the soft limit for longer than soft-seconds
// (0 here) the subscriber is dropped, below the hard limit.
func TestPubsubSoftLimit(t *testing.T) {
	p := testutil.StartSlotvault(t, append(limitArgs, "--client-output-buffer-limit", "pubsub 0 1mb 0")...)
	sub, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sub.(*net.TCPConn).SetReadBuffer(64 << 10)
	sub.Write([]byte("SUBSCRIBE ch\r\n"))
	buf := make([]byte, 64)
	io.ReadAtLeast(sub, buf, 10)
	pub := testutil.Dial(t, p.Addr())
	msg := strings.Repeat("m", 256<<10)
	for i := 0; ; i++ {
		v, _ := pub.Do("PUBLISH", "ch", msg)
		if v.Int == 0 {
			break
		}
		if i == 400 {
			t.Fatal("subscriber not dropped at the soft limit")
		}
	}
	waitLog(t, p, "overcoming of output buffer limits")
}

// TestNormalOutputLimitBothServers: with a normal-class hard limit, a
// reply bigger than it closes the connection, on Redis and on slotvault.
func TestNormalOutputLimitBothServers(t *testing.T) {
	for _, srv := range []struct {
		name string
		p    *testutil.Proc
	}{{"redis", testutil.StartRedis(t)}, {"slotvault", testutil.StartSlotvault(t, limitArgs...)}} {
		c := testutil.Dial(t, srv.p.Addr())
		c.Timeout = 10 * time.Second
		c.Do("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0")
		c.Do("SET", "big", strings.Repeat("b", 2<<20))
		if v, _ := c.Do("STRLEN", "big"); v.Int != 2<<20 {
			t.Fatalf("%s: STRLEN %v", srv.name, v)
		}
		if v, err := c.Do("GET", "big"); err == nil {
			t.Fatalf("%s: GET of 2MB under a 1mb limit replied %d bytes", srv.name, len(v.Str))
		}
		c2 := testutil.Dial(t, srv.p.Addr())
		if v, _ := c2.Do("PING"); v.Str != "PONG" {
			t.Fatalf("%s: %v", srv.name, v)
		}
	}
}

// TestMaxclientsBothServers: the connection over maxclients gets Redis's
// error and is closed; the others keep working.
func TestMaxclientsBothServers(t *testing.T) {
	for _, srv := range []struct {
		name string
		p    *testutil.Proc
	}{{"redis", testutil.StartRedis(t, "--maxclients", "3")}, {"slotvault", testutil.StartSlotvault(t, append(limitArgs, "--maxclients", "3")...)}} {
		var conns []*resp.Conn
		for i := 0; i < 3; i++ {
			c := testutil.Dial(t, srv.p.Addr())
			if v, _ := c.Do("PING"); v.Str != "PONG" {
				t.Fatalf("%s: client %d: %v", srv.name, i, v)
			}
			conns = append(conns, c)
		}
		extra := testutil.Dial(t, srv.p.Addr())
		extra.Timeout = 5 * time.Second
		v, err := extra.Read()
		if err != nil || v.String() != "(error) ERR max number of clients reached" {
			t.Fatalf("%s: 4th client got %v %v", srv.name, v, err)
		}
		if _, err := extra.Read(); err == nil {
			t.Fatalf("%s: 4th connection not closed", srv.name)
		}
		if v, _ := conns[0].Do("INFO", "stats"); !strings.Contains(v.Str, "rejected_connections:1\r\n") {
			t.Fatalf("%s: rejected_connections not 1", srv.name)
		}
		conns[2].Close()
		waitFor(t, "slot freed", 5*time.Second, func() bool {
			c, err := resp.Dial(srv.p.Addr())
			if err != nil {
				return false
			}
			defer c.Close()
			v, _ := c.Do("PING")
			return v.Str == "PONG"
		})
	}
}

// TestIdleTimeoutBothServers: with timeout 1 an idle client is closed,
// while a subscriber and a client blocked in BLPOP stay, on both servers.
func TestIdleTimeoutBothServers(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, srv := range []struct {
		name string
		p    *testutil.Proc
	}{{"redis", testutil.StartRedis(t, "--timeout", "1")}, {"slotvault", testutil.StartSlotvault(t, append(limitArgs, "--timeout", "1")...)}} {
		idle := testutil.Dial(t, srv.p.Addr())
		idle.Do("PING")
		sub := testutil.Dial(t, srv.p.Addr())
		sub.Do("SUBSCRIBE", "ch")
		blocked := testutil.Dial(t, srv.p.Addr())
		blocked.Timeout = 20 * time.Second
		blocked.Send("BLPOP", "list", "0")
		// Redis checks idle clients in its cron, a few seconds apart.
		idle.Timeout = 20 * time.Second
		if _, err := idle.Read(); err == nil {
			t.Fatalf("%s: idle client got a reply instead of being closed", srv.name)
		}
		ctl := testutil.Dial(t, srv.p.Addr())
		if v, _ := ctl.Do("RPUSH", "list", "x"); v.Int != 1 {
			t.Fatalf("%s: RPUSH %v", srv.name, v)
		}
		if v, err := blocked.Read(); err != nil || v.String() != `*["list", "x"]` {
			t.Fatalf("%s: blocked client: %v %v", srv.name, v, err)
		}
		if v, _ := ctl.Do("PUBLISH", "ch", "hi"); v.Int != 1 {
			t.Fatalf("%s: subscriber was dropped: %v", srv.name, v)
		}
	}
}

// TestReplicaOutputLimit: a replica that stops reading while the master
// writes more than the replica class hard limit is disconnected (Redis's
// log line, flags=S); once it runs again it resyncs and catches up.
func TestReplicaOutputLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	master := startMaster(t, "--repl-timeout", "60", "--client-output-buffer-limit", "replica 2mb 0 0")
	replica := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), master)
	waitLoaded(t, replica.Addr())
	waitInSync(t, master, replica)
	replica.Freeze(t)
	c := goClient(t, master.Addr())
	// Enough to fill the socket buffers and pass the limit.
	if err := fill(t, c, "k", 16000, 1000, false); err != nil {
		t.Fatal(err)
	}
	waitLog(t, master, "flags=S scheduled to be closed ASAP for overcoming of output buffer limits.")
	replica.Signal(syscall.SIGCONT)
	waitInSync(t, master, replica)
	if m, r := c.DBSize(context.Background()).Val(), goClient(t, replica.Addr()).DBSize(context.Background()).Val(); m != r {
		t.Fatalf("after resync: master %d keys, replica %d", m, r)
	}
}

// TestNonReadingClientBounded: a normal client that pipelines 200 MB worth
// of GET replies and never reads stalls only its own connection: other
// clients are served and the node's memory stays far below what its
// replies would take (slotvault stops reading a client's requests while
// its replies are unsent, so it holds at most one batch for it).
func TestNonReadingClientBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	p := testutil.StartSlotvault(t, limitArgs...)
	c := testutil.Dial(t, p.Addr())
	c.Timeout = 10 * time.Second
	c.Do("SET", "big", strings.Repeat("v", 100<<10))
	before := procStatus(p.Pid(), "VmRSS") // kB
	stuck, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	stuck.(*net.TCPConn).SetReadBuffer(64 << 10)
	req := []byte(resp.Encode("GET", "big"))
	batch := make([]byte, 0, len(req)*100)
	for i := 0; i < 100; i++ {
		batch = append(batch, req...)
	}
	stuck.SetWriteDeadline(time.Now().Add(5 * time.Second))
	sent := 0
	for i := 0; i < 20; i++ { // 2000 GETs = 200 MB of replies
		if _, err := stuck.Write(batch); err != nil {
			break // the node stopped reading: exactly the point
		}
		sent += 100
	}
	for i := 0; i < 20; i++ {
		if v, _ := c.Do("PING"); v.Str != "PONG" {
			t.Fatalf("other client not served: %v", v)
		}
	}
	after := procStatus(p.Pid(), "VmRSS")
	t.Logf("sent %d GETs without reading; RSS %d kB -> %d kB", sent, before, after)
	if after-before > 100<<10 {
		t.Fatalf("RSS grew by %d kB for a client that does not read", after-before)
	}
	// c, the stuck client and infoOf's own connection.
	if v := infoOf(t, p.Addr(), "clients")["connected_clients"]; v != "3" {
		t.Fatalf("connected_clients = %s", v)
	}
}
