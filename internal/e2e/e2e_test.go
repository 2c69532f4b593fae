// Package e2e drives the built slotvault binary the way users do: with the
// real redis-cli (side by side with a real redis-server), with go-redis, and
// with bad configuration files.
package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/testutil"
)

func redisCLI(t *testing.T, port int, stdin string, args ...string) string {
	t.Helper()
	bin := testutil.RequireTool(t, "redis-cli")
	cmd := exec.Command(bin, append([]string{"-p", strconv.Itoa(port)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("redis-cli timed out; output so far:\n%s", out.String())
	}
	return out.String()
}

// TestRedisCLIScriptMatchesRedis pipes the same script through redis-cli to
// redis-server and to the slotvault binary and compares the printed output.
func TestRedisCLIScriptMatchesRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	r := testutil.StartRedis(t)
	s := testutil.StartSlotvault(t)
	script := `PING
SET foo bar
GET foo
SET counter 10
INCR counter
INCRBY counter 5
GET nosuchkey
MSET a 1 b 2 c 3
MGET a b c d
DEL a b
EXISTS a b c
APPEND foo baz
STRLEN foo
GETRANGE foo 1 4
LPUSH list a b c
LRANGE list 0 -1
LPOP list
RPUSH list x
LLEN list
HSET h f1 v1 f2 v2
HGET h f1
HGETALL h
HINCRBY h n 3
SADD s 3 1 2
SMEMBERS s
SISMEMBER s 2
ZADD z 1 one 2 two 3 three
ZRANGE z 0 -1 WITHSCORES
ZSCORE z two
ZRANK z three
TYPE z
EXPIRE foo 100
TTL foo
PERSIST foo
TTL foo
RENAME foo bar
GET bar
SET foo
GET foo extra
INCR bar
LPUSH bar x
NOSUCHCOMMAND x
PFADD hll a b c d
PFCOUNT hll
SETBIT bits 7 1
BITCOUNT bits
MULTI
INCR counter
INCR counter
EXEC
DBSIZE
FLUSHALL
DBSIZE
`
	want := redisCLI(t, r.Port, script)
	got := redisCLI(t, s.Port, script)
	if want != got {
		wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
		for i := 0; i < len(wl) || i < len(gl); i++ {
			var a, b string
			if i < len(wl) {
				a = wl[i]
			}
			if i < len(gl) {
				b = gl[i]
			}
			if a != b {
				t.Errorf("line %d: redis %q, slotvault %q", i+1, a, b)
			}
		}
	}
}

// TestRedisCLIInteractive runs redis-cli in interactive mode on a terminal
// (through script(1)), as a user typing at the prompt does.
func TestRedisCLIInteractive(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) not available")
	}
	s := testutil.StartSlotvault(t)
	cli := testutil.RequireTool(t, "redis-cli")
	cmd := exec.Command(scriptBin, "-q", "-c", cli+" -p "+strconv.Itoa(s.Port), "/dev/null")
	cmd.Stdin = strings.NewReader("set greeting hello\nget greeting\nquit\n")
	cmd.Env = append(os.Environ(), "TERM=dumb", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("interactive redis-cli: %v\n%s", err, out)
	}
	o := string(out)
	if !strings.Contains(o, "OK") || !strings.Contains(o, `"hello"`) {
		t.Fatalf("interactive session output missing replies:\n%s", o)
	}
}

// TestSeedConfigStarts starts the binary with the seed walkthrough's
// redis.conf lines.
func TestSeedConfigStarts(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	port := testutil.FreePort(t)
	conf := filepath.Join(dir, "redis.conf")
	text := "port " + strconv.Itoa(port) + "\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 5000\nappendonly yes\nbind 127.0.0.1\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testutil.StartProcess(t, port, dir, testutil.Binary(t), "server", conf)
	out := redisCLI(t, port, "", "ping")
	if strings.TrimSpace(out) != "PONG" {
		t.Fatalf("ping: %q\n%s", out, p.Output())
	}
}

// TestBadConfigReportsLine checks that a bad directive stops start-up with
// the file, line and reason.
func TestBadConfigReportsLine(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		text, line, reason string
	}{
		{"port 7000\nbogus-directive yes\n", "line 2", "Bad directive"},
		{"port 7000\n\n# comment\nport notanumber\n", "line 4", "integer"},
		{"appendonly maybe\n", "line 1", "yes' or 'no"},
		{"save 10\n", "line 1", "Invalid save parameters"},
		{"maxmemory lots\n", "line 1", "memory value"},
		{"appendfsync sometimes\n", "line 1", "everysec"},
		{"requirepass \"unterminated\n", "line 1", "Unbalanced quotes"},
	}
	for _, c := range cases {
		conf := filepath.Join(dir, "bad.conf")
		if err := os.WriteFile(conf, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(testutil.Binary(t), "server", conf)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%q: started, want a config error", c.text)
			continue
		}
		o := string(out)
		if !strings.Contains(o, conf) || !strings.Contains(o, c.line) || !strings.Contains(o, c.reason) {
			t.Errorf("%q: output lacks file/%s/%s:\n%s", c.text, c.line, c.reason, o)
		}
	}
	// Command-line overrides are checked the same way.
	out, err := exec.Command(testutil.Binary(t), "server", "--port", "70000").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "between 0 and 65535") {
		t.Errorf("bad --port accepted or unclear: %v\n%s", err, out)
	}
}

// TestGoRedisClient drives the binary with go-redis v9 over RESP2 and RESP3.
func TestGoRedisClient(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	s := testutil.StartSlotvault(t)
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			ctx := context.Background()
			rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: proto})
			defer rdb.Close()
			rdb.FlushAll(ctx)
			if err := rdb.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
				t.Fatalf("get = %q, %v", v, err)
			}
			if _, err := rdb.Get(ctx, "missing").Result(); err != redis.Nil {
				t.Fatalf("missing key: %v", err)
			}
			if n, err := rdb.Incr(ctx, "n").Result(); err != nil || n != 1 {
				t.Fatalf("incr = %d, %v", n, err)
			}
			rdb.HSet(ctx, "h", "a", "1", "b", "2")
			if m, err := rdb.HGetAll(ctx, "h").Result(); err != nil || m["a"] != "1" || m["b"] != "2" {
				t.Fatalf("hgetall = %v, %v", m, err)
			}
			rdb.ZAdd(ctx, "z", redis.Z{Score: 2, Member: "b"}, redis.Z{Score: 1, Member: "a"})
			if zs, err := rdb.ZRangeWithScores(ctx, "z", 0, -1).Result(); err != nil || len(zs) != 2 || zs[0].Member != "a" || zs[1].Score != 2 {
				t.Fatalf("zrange = %v, %v", zs, err)
			}
			pipe := rdb.Pipeline()
			for i := 0; i < 100; i++ {
				pipe.RPush(ctx, "l", i)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if n, _ := rdb.LLen(ctx, "l").Result(); n != 100 {
				t.Fatalf("llen = %d", n)
			}
			tx := rdb.TxPipeline()
			tx.Incr(ctx, "n")
			tx.Incr(ctx, "n")
			if _, err := tx.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if n, _ := rdb.Get(ctx, "n").Int(); n != 3 {
				t.Fatalf("n = %d", n)
			}
			sub := rdb.Subscribe(ctx, "news")
			defer sub.Close()
			if _, err := sub.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := rdb.Publish(ctx, "news", "hello").Result(); err != nil || n != 1 {
				t.Fatalf("publish = %d, %v", n, err)
			}
			msg, err := sub.ReceiveMessage(ctx)
			if err != nil || msg.Payload != "hello" {
				t.Fatalf("message = %v, %v", msg, err)
			}
			res, err := rdb.BLPop(ctx, 100*time.Millisecond, "empty").Result()
			if err != redis.Nil {
				t.Fatalf("blpop on empty = %v, %v", res, err)
			}
		})
	}
}
