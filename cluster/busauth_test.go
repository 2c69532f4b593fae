package cluster

import (
	"bytes"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/slots"
)

type authResult struct {
	a   *linkAuth
	err error
}

func handshakePair(t *testing.T, dialSecret, acceptSecret []byte) (authResult, authResult) {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	ch := make(chan authResult, 1)
	go func() {
		a, err := authenticate(c2, acceptSecret, false)
		if err != nil {
			c2.Close() // as the bus does: unblocks the dialer
		}
		ch <- authResult{a, err}
	}()
	a, err := authenticate(c1, dialSecret, true)
	if err != nil {
		c1.Close()
	}
	return authResult{a, err}, <-ch
}

func TestBusAuthHandshake(t *testing.T) {
	s := []byte("0123456789abcdef-shared")
	d, a := handshakePair(t, s, s)
	if d.err != nil || a.err != nil {
		t.Fatalf("same secret: %v / %v", d.err, a.err)
	}
	if !bytes.Equal(d.a.sendKey, a.a.recvKey) || !bytes.Equal(d.a.recvKey, a.a.sendKey) || bytes.Equal(d.a.sendKey, d.a.recvKey) {
		t.Fatal("direction keys do not pair up")
	}
	d2, _ := handshakePair(t, s, s)
	if bytes.Equal(d.a.sendKey, d2.a.sendKey) {
		t.Fatal("two connections derived the same keys")
	}
	d, a = handshakePair(t, s, []byte("another-secret-of-16+"))
	if d.err == nil || a.err == nil {
		t.Fatalf("different secrets accepted: %v / %v", d.err, a.err)
	}
	if !errors.Is(d.err, errAuthFailed) {
		t.Errorf("dialer error %v, want errAuthFailed", d.err)
	}
}

func TestBusAuthRejectsUnauthenticatedPeer(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	go func() {
		// An old or secretless node sends a version 1 PING first.
		m := &message{Type: msgMeet, Header: header{Sender: RandomID(), IP: "127.0.0.1", Port: 1, CPort: 2}}
		c1.Write(m.encode())
	}()
	if _, err := authenticate(c2, []byte("0123456789abcdef"), false); !errors.Is(err, errAuthFailed) {
		t.Fatalf("err %v, want errAuthFailed", err)
	}
}

func TestBusAuthFrames(t *testing.T) {
	s := []byte("0123456789abcdef-shared")
	d, a := handshakePair(t, s, s)
	if d.err != nil || a.err != nil {
		t.Fatal(d.err, a.err)
	}
	m := &message{Type: msgPing, Header: header{Sender: RandomID(), CurrentEpoch: 3, IP: "127.0.0.1", Port: 7, CPort: 8}}
	frame := m.encode()
	var buf bytes.Buffer
	d.a.sealFrame(&buf, frame)
	first := append([]byte(nil), buf.Bytes()...)
	d.a.sealFrame(&buf, frame)
	if frame[5] != busVersion {
		t.Fatal("sealFrame modified the shared frame")
	}
	got, err := a.a.readMessage(&buf)
	if err != nil || got.Header.CurrentEpoch != 3 {
		t.Fatalf("authenticated frame: %v", err)
	}
	if _, err := a.a.readMessage(&buf); err != nil {
		t.Fatalf("second frame: %v", err)
	}
	// Replaying the first frame fails: its sequence number is used.
	if _, err := a.a.readMessage(bytes.NewReader(first)); !errors.Is(err, errBadFrameMAC) {
		t.Fatalf("replayed frame: err %v", err)
	}
	// A changed byte fails.
	d.a.sealFrame(&buf, frame)
	b := buf.Bytes()
	b[frameHeader+10] ^= 1
	if _, err := a.a.readMessage(bytes.NewReader(b)); !errors.Is(err, errBadFrameMAC) {
		t.Fatalf("tampered frame: err %v", err)
	}
	// The receiving side cannot be made to accept its own frames back
	// (reflection): the directions have different keys.
	buf.Reset()
	a.a.sealFrame(&buf, frame)
	if _, err := a.a.readMessage(&buf); !errors.Is(err, errBadFrameMAC) {
		t.Fatalf("reflected frame: err %v", err)
	}
}

func startSecretNode(t *testing.T, secret []byte, timeout time.Duration) *testNode {
	t.Helper()
	h := &fakeHost{s: Settings{NodeTimeout: timeout, RequireFullCoverage: true}}
	port := freePort(t)
	c, err := Open(Config{ConfigFile: filepath.Join(t.TempDir(), "nodes.conf"), Port: port,
		Bind: []string{"127.0.0.1"}, Host: h, Secret: secret}, h.s)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &testNode{c: c, host: h, port: port}
}

// TestBusSecretKeepsStrangerOut: two nodes sharing a secret form a
// cluster; a node with another secret (or none) can neither be met nor
// meet them, and their node tables and state do not change.
func TestBusSecretKeepsStrangerOut(t *testing.T) {
	secret := []byte("the-shared-bus-secret")
	nodes := []*testNode{startSecretNode(t, secret, 300*time.Millisecond), startSecretNode(t, secret, 300*time.Millisecond)}
	var all slots.Set
	for j := 0; j < slots.Count; j++ {
		all.Add(j)
	}
	if err := nodes[0].c.UpdateSlots(&all, false); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].c.Meet("127.0.0.1", nodes[0].port, nodes[0].port+busPortIncr); err != nil {
		t.Fatal(err)
	}
	formed := func() bool {
		for _, tn := range nodes {
			info := tn.c.InfoText()
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:2\r") {
				return false
			}
		}
		return true
	}
	waitFor(t, "two-node cluster", 10*time.Second, formed)
	before := []string{nodes[0].c.MyID(), nodes[1].c.MyID()}

	for _, strangerSecret := range [][]byte{[]byte("not-the-right-secret"), nil} {
		stranger := startSecretNode(t, strangerSecret, 300*time.Millisecond)
		stranger.c.Meet("127.0.0.1", nodes[0].port, nodes[0].port+busPortIncr)
		nodes[1].c.Meet("127.0.0.1", stranger.port, stranger.port+busPortIncr)
		// Handshake nodes expire after the node timeout (at least 1s).
		waitFor(t, "handshake entries to expire", 10*time.Second, func() bool {
			return strings.Count(strings.TrimSpace(nodes[1].c.NodesText()), "\n") == 1 &&
				strings.Count(strings.TrimSpace(stranger.c.NodesText()), "\n") == 0
		})
		if !formed() {
			t.Fatalf("cluster disturbed by a stranger:\n%s", nodes[0].c.NodesText())
		}
		for _, tn := range nodes {
			txt := tn.c.NodesText()
			if strings.Contains(txt, stranger.c.MyID()) {
				t.Fatalf("stranger in the node table:\n%s", txt)
			}
			for _, id := range before {
				if !strings.Contains(txt, id) {
					t.Fatalf("node %s lost:\n%s", id, txt)
				}
			}
		}
	}
}
