package cluster

import (
	"bytes"
	"errors"
	"net"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/slots"
)

func TestMessageRoundTrip(t *testing.T) {
	h := header{Sender: RandomID(), CurrentEpoch: 7, ConfigEpoch: 3, ReplOffset: 99, Master: RandomID(),
		Flags: FlagSlave | FlagPFail, StateOK: true, IP: "10.0.0.1", Port: 7001, CPort: 17001}
	bitmapSet(&h.Slots, 0)
	bitmapSet(&h.Slots, 16383)
	msgs := []*message{
		{Type: msgPing, Header: h, Gossip: []gossip{{ID: RandomID(), PingSent: 1, PongRecv: 2, Flags: FlagMaster, IP: "::1", Port: 1, CPort: 2}}},
		{Type: msgPong, Header: h},
		{Type: msgMeet, Header: h, Gossip: []gossip{}},
		{Type: msgFail, Header: h, NodeID: RandomID()},
		{Type: msgPublish, Header: h, Channel: []byte("ch"), Payload: []byte("hello\x00world")},
		{Type: msgPublishShard, Header: h, Channel: []byte("c"), Payload: []byte("m")},
		{Type: msgUpdate, Header: h, NodeID: RandomID(), UpdateEpoch: 12, UpdateSlots: h.Slots},
	}
	for _, m := range msgs {
		frame := m.encode()
		got, err := readMessage(bytes.NewReader(frame))
		if err != nil {
			t.Fatalf("type %d: %v", m.Type, err)
		}
		if m.Gossip == nil && got.Gossip != nil && len(got.Gossip) == 0 {
			got.Gossip = nil
		}
		if !reflect.DeepEqual(m, got) {
			t.Errorf("type %d does not round-trip", m.Type)
		}
		// Every truncation is an error, never a panic.
		for i := 0; i < len(frame); i += 97 {
			if _, err := readMessage(bytes.NewReader(frame[:i])); err == nil {
				t.Fatalf("type %d: truncated frame of %d bytes accepted", m.Type, i)
			}
		}
	}
	bad := msgs[1].encode()
	bad[5] = 9
	if _, err := readMessage(bytes.NewReader(bad)); !errors.Is(err, errBadVersion) {
		t.Errorf("version 9: err %v", err)
	}
	bad[0] = 'X'
	if _, err := readMessage(bytes.NewReader(bad)); !errors.Is(err, errBadMagic) {
		t.Errorf("bad magic: err %v", err)
	}
}

func TestNodesConfRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nodes.conf")
	c, err := Open(Config{ConfigFile: path, Port: 7000}, Settings{NodeTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	other := c.newNode(RandomID(), FlagMaster)
	other.setAddr("127.0.0.1", 7001, 17001)
	other.ConfigEpoch = 2
	c.addNodeLocked(other)
	rep := c.newNode(RandomID(), FlagSlave|FlagFail)
	rep.setAddr("127.0.0.1", 7002, 17002)
	rep.Hostname = "host-b"
	rep.Master = other
	other.addReplica(rep)
	c.addNodeLocked(rep)
	for j := 0; j < 100; j++ {
		c.addSlotLocked(c.myself, j)
	}
	c.addSlotLocked(c.myself, 5000)
	for j := 100; j < 16384; j++ {
		if j != 5000 {
			c.addSlotLocked(other, j)
		}
	}
	c.setMigratingLocked(7, other)
	c.setImportingLocked(200, other)
	c.currentEpoch, c.lastVoteEpoch = 5, 4
	c.myself.ConfigEpoch = 1
	if err := c.saveConfigNowLocked(false); err != nil {
		t.Fatal(err)
	}
	want := c.configTextLocked()
	myID := c.myself.ID
	c.mu.Unlock()
	c.Close()

	if !strings.Contains(want, " myself,master - 0 0 1 connected 0-99 5000 [7->-"+other.ID+"] [200-<-"+other.ID+"]\n") {
		t.Errorf("myself line not as Redis writes it:\n%s", want)
	}
	if !strings.Contains(want, "127.0.0.1:7002@17002,host-b slave,fail "+other.ID) {
		t.Errorf("replica line not as Redis writes it:\n%s", want)
	}
	c2, err := Open(Config{ConfigFile: path, Port: 7000}, Settings{NodeTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.MyID() != myID {
		t.Fatalf("reloaded id %s, want %s", c2.MyID(), myID)
	}
	c2.mu.Lock()
	got := c2.configTextLocked()
	c2.mu.Unlock()
	// Times are not kept across restarts; blank them for the comparison.
	norm := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			f := strings.Fields(l)
			if len(f) > 6 && f[0] != "vars" {
				f[4], f[5] = "x", "x"
				if strings.Contains(f[2], "fail") {
					f[7] = "x"
				}
			}
			out = append(out, strings.Join(f, " "))
		}
		return strings.Join(out, "\n")
	}
	if norm(got) != norm(want) {
		t.Errorf("reloaded nodes.conf differs:\nwant:\n%s\ngot:\n%s", want, got)
	}
}

func TestConfigLockRefusesSecondNode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	c, err := Open(Config{ConfigFile: path, Port: 7000}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{ConfigFile: path, Port: 7001}, Settings{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open on the same nodes.conf: err %v, want ErrLocked", err)
	}
	c.Close()
	c3, err := Open(Config{ConfigFile: path, Port: 7000}, Settings{})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	c3.Close()
}

func TestCorruptConfigIsRefused(t *testing.T) {
	for _, text := range []string{
		"abc 127.0.0.1:1@2 myself,master - 0 0 0 connected\n",
		RandomID() + " 127.0.0.1:1@2 master - 0 0 0 connected\n", // no myself
		RandomID() + " 127.0.0.1:1@2 myself,bogus - 0 0 0 connected\n",
		RandomID() + " 127.0.0.1:1@2 myself,master - 0 0 0 connected 5-3\n",
	} {
		path := filepath.Join(t.TempDir(), "nodes.conf")
		if err := writeFileAtomic(path, []byte(text)); err != nil {
			t.Fatal(err)
		}
		if c, err := Open(Config{ConfigFile: path, Port: 7000}, Settings{}); !errors.Is(err, ErrCorruptConf) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%q: err %v, want ErrCorruptConf", text, err)
		}
	}
}

// fakeHost records PUBLISH deliveries.
type fakeHost struct {
	s   Settings
	mu  sync.Mutex
	got []string
}

func (h *fakeHost) Settings() Settings { return h.s }
func (h *fakeHost) Deliver(ch, msg []byte, shard bool) {
	h.mu.Lock()
	h.got = append(h.got, string(ch)+"="+string(msg))
	h.mu.Unlock()
}
func (h *fakeHost) delivered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p >= 7000 && p <= 7005 || p+busPortIncr > 65535 {
			continue
		}
		if l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+busPortIncr)); err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

type testNode struct {
	c    *Cluster
	host *fakeHost
	port int
}

func startTestNodes(t *testing.T, n int, timeout time.Duration) []*testNode {
	t.Helper()
	var out []*testNode
	for i := 0; i < n; i++ {
		h := &fakeHost{s: Settings{NodeTimeout: timeout, RequireFullCoverage: true}}
		port := freePort(t)
		c, err := Open(Config{ConfigFile: filepath.Join(t.TempDir(), "nodes.conf"), Port: port,
			Bind: []string{"127.0.0.1"}, Host: h}, h.s)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		out = append(out, &testNode{c: c, host: h, port: port})
	}
	return out
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBusFormsClusterAndDetectsFailure: three masters meet, agree on the
// slot map and distinct epochs, relay PUBLISH, and flag a closed node FAIL.
func TestBusFormsClusterAndDetectsFailure(t *testing.T) {
	nodes := startTestNodes(t, 3, 400*time.Millisecond)
	third := slots.Count / 3
	for i, tn := range nodes {
		var set slots.Set
		end := (i+1)*third - 1
		if i == 2 {
			end = slots.Count - 1
		}
		for j := i * third; j <= end; j++ {
			set.Add(j)
		}
		if err := tn.c.UpdateSlots(&set, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, tn := range nodes[1:] {
		if err := tn.c.Meet("127.0.0.1", nodes[0].port, nodes[0].port+busPortIncr); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "cluster_state:ok everywhere", 10*time.Second, func() bool {
		for _, tn := range nodes {
			info := tn.c.InfoText()
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:3") {
				return false
			}
		}
		return true
	})
	// Equal epochs (all 0) were resolved into distinct ones.
	waitFor(t, "distinct config epochs", 5*time.Second, func() bool {
		seen := map[string]bool{}
		for _, tn := range nodes {
			for _, l := range strings.Split(strings.TrimSpace(nodes[0].c.NodesText()), "\n") {
				f := strings.Fields(l)
				if f[0] == tn.c.MyID() {
					seen[f[6]] = true
				}
			}
		}
		return len(seen) == 3
	})
	// Every node sees the same owner for every slot.
	for j := 0; j < slots.Count; j += 97 {
		want := nodes[0].c.Route(j).OwnerAddr
		for _, tn := range nodes[1:] {
			if got := tn.c.Route(j).OwnerAddr; got != want {
				t.Fatalf("slot %d: owner %s on one node, %s on another", j, want, got)
			}
		}
	}
	nodes[0].c.Publish([]byte("news"), []byte("hi"), false)
	waitFor(t, "PUBLISH relayed", 5*time.Second, func() bool {
		return len(nodes[1].host.delivered()) == 1 && len(nodes[2].host.delivered()) == 1
	})
	if got := nodes[0].host.delivered(); len(got) != 0 {
		t.Errorf("publisher got its own message back over the bus: %v", got)
	}

	dead := nodes[2]
	deadID := dead.c.MyID()
	dead.c.Close()
	waitFor(t, "FAIL flag and cluster_state:fail", 5*time.Second, func() bool {
		for _, tn := range nodes[:2] {
			if !strings.Contains(tn.c.NodesText(), deadID+" 127.0.0.1:"+strconv.Itoa(dead.port)+"@"+strconv.Itoa(dead.port+busPortIncr)+" master,fail ") {
				return false
			}
			if !strings.Contains(tn.c.InfoText(), "cluster_state:fail") {
				return false
			}
		}
		return true
	})
}

func TestForgetBansNodeFromGossip(t *testing.T) {
	nodes := startTestNodes(t, 3, 400*time.Millisecond)
	for _, tn := range nodes[1:] {
		nodes[0].c.Meet("127.0.0.1", tn.port, tn.port+busPortIncr)
	}
	waitFor(t, "full mesh", 10*time.Second, func() bool {
		for _, tn := range nodes {
			if !strings.Contains(tn.c.InfoText(), "cluster_known_nodes:3") {
				return false
			}
		}
		return true
	})
	id := nodes[2].c.MyID()
	if err := nodes[0].c.Forget(id); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].c.Forget(id); err == nil || err.Error() != "ERR Unknown node "+id {
		t.Fatalf("second FORGET: %v", err)
	}
	// Gossip from node 1 (which still knows node 2) must not bring it back.
	time.Sleep(time.Second)
	if strings.Contains(nodes[0].c.NodesText(), id) {
		t.Fatalf("forgotten node came back through gossip:\n%s", nodes[0].c.NodesText())
	}
}
