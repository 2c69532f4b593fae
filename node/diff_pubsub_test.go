package node_test

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// session drives several clients of one server and records everything
// they send and read, so the same scenario can be compared between Redis
// and slotvault.
type session struct {
	t     *testing.T
	addr  string
	conns map[string]*resp.Conn
	log   strings.Builder
}

func (s *session) conn(name string) *resp.Conn {
	c, ok := s.conns[name]
	if !ok {
		c = testutil.Dial(s.t, s.addr)
		c.Timeout = 2 * time.Second
		s.conns[name] = c
	}
	return c
}

// do sends a command from client name and records its reply.
func (s *session) do(name string, args ...string) {
	v, err := s.conn(name).Do(args...)
	s.log.WriteString(name + "> " + strings.Join(args, " ") + "\n")
	if err != nil {
		s.log.WriteString("  error: " + err.Error() + "\n")
		return
	}
	s.log.WriteString("  " + v.String() + "\n")
}

// doSorted is do for replies in no defined order.
func (s *session) doSorted(name string, args ...string) {
	v, err := s.conn(name).Do(args...)
	s.log.WriteString(name + "> " + strings.Join(args, " ") + "\n")
	if err != nil {
		s.log.WriteString("  error: " + err.Error() + "\n")
		return
	}
	s.log.WriteString("  " + v.Sorted().String() + "\n")
}

// send sends without reading.
func (s *session) send(name string, args ...string) {
	s.conn(name).Send(args...)
	s.log.WriteString(name + "> " + strings.Join(args, " ") + " (no read)\n")
}

// read records the next n replies or pushes client name receives.
func (s *session) read(name string, n int) {
	for i := 0; i < n; i++ {
		v, err := s.conn(name).Read()
		if err != nil {
			s.log.WriteString(name + " read error: " + err.Error() + "\n")
			return
		}
		s.log.WriteString(name + " < " + v.String() + "\n")
	}
}

// readUnsubscribeAll records the confirmations of an unsubscribe from
// several channels at once, which Redis sends in hash order: the kind, the
// channels sorted, and the final count.
func (s *session) readUnsubscribeAll(name string, n int) {
	var kind string
	var names []string
	var last int64
	for i := 0; i < n; i++ {
		v, err := s.conn(name).Read()
		if err != nil || len(v.Elems) != 3 {
			s.log.WriteString(name + " bad confirmation " + v.String() + "\n")
			return
		}
		kind, last = v.Elems[0].Str, v.Elems[2].Int
		names = append(names, v.Elems[1].Str)
	}
	sort.Strings(names)
	s.log.WriteString(name + " < " + kind + " " + strings.Join(names, ",") + " -> " + strconv.FormatInt(last, 10) + "\n")
}

// hello3 switches client name to RESP3; the HELLO reply (which carries the
// client id) is not recorded.
func (s *session) hello3(name string) {
	if v, err := s.conn(name).Do("HELLO", "3"); err != nil || v.Type != '%' {
		s.log.WriteString(name + " HELLO 3 failed\n")
	}
}

// quiet records whether client name has nothing more to read (after a
// short wait).
func (s *session) quiet(name string) {
	c := s.conn(name)
	c.Timeout = 50 * time.Millisecond
	v, err := c.Read()
	c.Timeout = 2 * time.Second
	if err == nil {
		s.log.WriteString(name + " unexpected " + v.String() + "\n")
	}
}

// compareSessions runs scenario against Redis and slotvault and requires
// identical transcripts.
func compareSessions(t *testing.T, scenario func(s *session), lines ...string) {
	t.Helper()
	p := newPair(t, lines...)
	run := func(addr string) string {
		s := &session{t: t, addr: addr, conns: map[string]*resp.Conn{}}
		scenario(s)
		return s.log.String()
	}
	rs, ss := run(p.redis.Addr()), run(p.sv.Addr())
	if rs != ss {
		rl, sl := strings.Split(rs, "\n"), strings.Split(ss, "\n")
		for i := 0; i < len(rl) || i < len(sl); i++ {
			var a, b string
			if i < len(rl) {
				a = rl[i]
			}
			if i < len(sl) {
				b = sl[i]
			}
			if a != b {
				t.Errorf("transcripts differ at line %d:\n  redis:     %s\n  slotvault: %s\nslotvault transcript:\n%s", i+1, a, b, ss)
				return
			}
		}
	}
}

func TestDiffPubSubChannelsAndPatterns(t *testing.T) {
	compareSessions(t, func(s *session) {
		s.send("sub", "SUBSCRIBE", "news", "sport")
		s.read("sub", 2)
		s.send("sub", "PSUBSCRIBE", "n*", "s?ort", "x[yz]")
		s.read("sub", 3)
		s.do("pub", "PUBLISH", "news", "hello")
		s.read("sub", 2) // message, then pmessage for n*
		s.do("pub", "PUBLISH", "sport", "goal")
		s.read("sub", 2)
		s.do("pub", "PUBLISH", "xz", "p")
		s.read("sub", 1)
		s.do("pub", "PUBLISH", "nobody", "x")
		s.read("sub", 1)
		s.do("pub", "PUBLISH", "other", "x")
		s.quiet("sub")
		// A second subscriber: counts add up.
		s.send("sub2", "SUBSCRIBE", "news")
		s.read("sub2", 1)
		s.do("pub", "PUBLISH", "news", "both")
		s.read("sub", 2)
		s.read("sub2", 1)
		s.do("pub", "PUBSUB", "NUMSUB", "news", "sport", "none")
		s.do("pub", "PUBSUB", "NUMSUB")
		s.do("pub", "PUBSUB", "NUMPAT")
		s.doSorted("pub", "PUBSUB", "CHANNELS", "n*")
		s.do("pub", "PUBSUB", "CHANNELS", "zzz*")
		// Subscriber context (RESP2): only (un)subscribe, PING, QUIT, RESET.
		s.do("sub", "DBSIZE")
		s.do("sub", "PING")
		s.do("sub", "PING", "hi")
		s.do("sub", "PUBLISH", "news", "self")
		s.send("sub", "SUBSCRIBE", "news")
		s.read("sub", 1) // already subscribed: same count
		s.send("sub", "UNSUBSCRIBE", "sport", "notsubscribed")
		s.read("sub", 2)
		s.send("sub", "PUNSUBSCRIBE", "x[yz]")
		s.read("sub", 1)
		s.do("pub", "PUBSUB", "NUMPAT")
		s.send("sub", "PUNSUBSCRIBE")
		s.readUnsubscribeAll("sub", 2)
		s.send("sub", "PUNSUBSCRIBE")
		s.read("sub", 1)
		s.send("sub", "UNSUBSCRIBE")
		s.read("sub", 1)
		s.send("sub", "UNSUBSCRIBE")
		s.read("sub", 1)
		s.do("sub", "DBSIZE") // out of subscriber mode
		s.do("pub", "PUBLISH", "news", "after")
		s.read("sub2", 1)
		s.do("pub", "PUBSUB", "NUMPAT")
		s.do("pub", "PUBSUB", "NUMSUB", "news", "sport")
	})
}

func TestDiffPubSubShard(t *testing.T) {
	compareSessions(t, func(s *session) {
		s.send("sub", "SSUBSCRIBE", "{a}1", "{a}2")
		s.read("sub", 2)
		s.send("sub", "SUBSCRIBE", "plain")
		s.read("sub", 1)
		s.do("pub", "SPUBLISH", "{a}1", "m")
		s.read("sub", 1)
		s.do("pub", "PUBLISH", "{a}1", "not shard")
		s.do("pub", "SPUBLISH", "plain", "not plain")
		s.doSorted("pub", "PUBSUB", "SHARDCHANNELS")
		s.do("pub", "PUBSUB", "SHARDCHANNELS", "*2")
		s.do("pub", "PUBSUB", "SHARDNUMSUB", "{a}1", "plain")
		s.doSorted("pub", "PUBSUB", "CHANNELS")
		s.do("sub", "DBSIZE")
		s.send("sub", "SUNSUBSCRIBE", "{a}1")
		s.read("sub", 1)
		s.send("sub", "SUNSUBSCRIBE")
		s.read("sub", 1)
		s.send("sub", "SUNSUBSCRIBE")
		s.read("sub", 1)
		s.send("sub", "UNSUBSCRIBE")
		s.read("sub", 1)
		s.do("sub", "DBSIZE")
		s.doSorted("pub", "PUBSUB", "SHARDCHANNELS")
		s.do("pub", "PUBSUB", "SHARDNUMSUB")
	})
}

func TestDiffPubSubMisc(t *testing.T) {
	p := newPair(t)
	p.run(`
PUBLISH ch msg
PUBLISH ch
SPUBLISH ch msg
SUBSCRIBE
PSUBSCRIBE
SSUBSCRIBE
PUBSUB CHANNELS
PUBSUB SHARDCHANNELS
PUBSUB NUMSUB a b
PUBSUB SHARDNUMSUB a
PUBSUB NUMPAT
PUBSUB SHARDCHANNELS a b
INFO nosuch
`)
	// Unsubscribing without subscriptions replies even in RESP2 (and does
	// not enter subscriber mode).
	p.run(`
UNSUBSCRIBE
PUNSUBSCRIBE
SUNSUBSCRIBE
UNSUBSCRIBE a b
DBSIZE
`)
}

// TestDiffPubSubResp3 checks pushes for RESP3 subscribers, which keep
// running ordinary commands.
func TestDiffPubSubResp3(t *testing.T) {
	p := newPair(t)
	if !p.svHas("hello") {
		t.Skip("HELLO is not implemented yet")
	}
	compareSessions(t, func(s *session) {
		s.hello3("sub")
		s.send("sub", "SUBSCRIBE", "a", "b")
		s.read("sub", 2)
		s.send("sub", "PSUBSCRIBE", "*")
		s.read("sub", 1)
		s.do("sub", "DBSIZE")
		s.do("pub", "PUBLISH", "a", "x")
		s.read("sub", 2)
		// Publishing to itself: the messages come before the reply.
		s.send("sub", "PUBLISH", "b", "self")
		s.read("sub", 3)
		s.send("sub", "UNSUBSCRIBE")
		s.readUnsubscribeAll("sub", 2)
		s.send("sub", "PUNSUBSCRIBE")
		s.read("sub", 1)
		s.send("sub", "UNSUBSCRIBE")
		s.read("sub", 1)
		// A RESP2 subscriber and a RESP3 one get the encodings of their
		// protocol.
		s.send("sub", "SUBSCRIBE", "c")
		s.read("sub", 1)
		s.send("sub2", "SUBSCRIBE", "c")
		s.read("sub2", 1)
		s.do("pub", "PUBLISH", "c", "m")
		s.read("sub", 1)
		s.read("sub2", 1)
	})
}

// TestPubSubDisconnect checks that a closed subscriber's subscriptions go
// away.
func TestPubSubDisconnect(t *testing.T) {
	sv := testutil.StartInProc(t)
	pub := testutil.Dial(t, sv.Addr())
	sub := testutil.Dial(t, sv.Addr())
	sub.Send("SUBSCRIBE", "a")
	sub.Send("PSUBSCRIBE", "a*")
	sub.Read()
	sub.Read()
	if v := mustDo(t, pub, "PUBLISH", "a", "x"); v.Int != 2 {
		t.Fatalf("PUBLISH to two subscriptions: %s", v)
	}
	sub.Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		v := mustDo(t, pub, "PUBLISH", "a", "x")
		if v.Int == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions outlived the connection: PUBLISH %s", v)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v := mustDo(t, pub, "PUBSUB", "NUMPAT"); v.Int != 0 {
		t.Errorf("NUMPAT %s", v)
	}
	info := sv.Node.Info("stats")
	for _, f := range []string{"pubsub_channels:0\r\n", "pubsub_patterns:0\r\n", "pubsubshard_channels:0\r\n"} {
		if !strings.Contains(info, f) {
			t.Errorf("INFO stats lacks %q", f)
		}
	}
}

// TestPubSubManyMessages publishes from several clients at once; every
// subscriber gets every message, each publisher's in order.
func TestPubSubManyMessages(t *testing.T) {
	sv := testutil.StartInProc(t)
	const pubs, msgs = 4, 200
	subs := make([]*resp.Conn, 3)
	for i := range subs {
		subs[i] = testutil.Dial(t, sv.Addr())
		subs[i].Send("SUBSCRIBE", "ch")
		if v, err := subs[i].Read(); err != nil || len(v.Elems) != 3 {
			t.Fatalf("subscribe: %v %v", v, err)
		}
	}
	done := make(chan error, pubs)
	for p := 0; p < pubs; p++ {
		go func(p int) {
			c, err := resp.Dial(sv.Addr())
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			for i := 0; i < msgs; i++ {
				if _, err := c.Do("PUBLISH", "ch", string(rune('a'+p))+strings.Repeat("x", i%7)+"|"+itoa(i)); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}(p)
	}
	for p := 0; p < pubs; p++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range subs {
		next := make([]int, pubs)
		for i := 0; i < pubs*msgs; i++ {
			v, err := s.Read()
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			payload := v.Elems[2].Str
			p := int(payload[0] - 'a')
			_, num, _ := strings.Cut(payload, "|")
			if num != itoa(next[p]) {
				t.Fatalf("publisher %d: got message %s, want %d", p, num, next[p])
			}
			next[p]++
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
