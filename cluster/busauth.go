package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Cluster bus authentication (slotvault's own; Redis's bus has none).
//
// When the nodes share a secret (cluster-bus-secret-file), every bus
// connection starts with a mutual challenge-response, and every frame after
// it carries an HMAC, so a peer without the secret can neither join nor
// inject or replay messages (MEET, PING, gossip, FAIL, UPDATE, failover
// votes):
//
//	dialer   -> acceptor  HELLO  nonceD (32 random bytes)
//	acceptor -> dialer    HELLO  nonceA
//	acceptor -> dialer    PROOF  HMAC(secret, "slotvault bus v2 acceptor" | nonceD | nonceA)
//	dialer   -> acceptor  PROOF  HMAC(secret, "slotvault bus v2 dialer"   | nonceD | nonceA)
//
// Each side checks the other's proof before sending anything else. Both
// then derive one key per direction, HMAC(secret, "slotvault bus v2 key
// dialer|acceptor" | nonceD | nonceA), and append to each frame
// HMAC(key, seq | frame), seq counting the frames sent in that direction
// from 0. Fresh nonces on both sides make every connection's keys new, so a
// recorded frame or handshake is worthless on another connection; the
// sequence number stops reordering and replay within one.
//
// Authenticated frames have version 2 in their header; a node without a
// secret speaks version 1 and refuses version 2 frames, and the other way
// round, so a mixed configuration fails closed at the first frame.
const (
	busVersionAuth = 2
	msgAuthHello   = 0xff01
	msgAuthProof   = 0xff02
	nonceLen       = 32
	macLen         = sha256.Size
	// authTimeout bounds the handshake, so a silent stranger cannot hold
	// connections open.
	authTimeout = 5 * time.Second
)

var (
	errAuthFailed  = errors.New("cluster: bus: peer failed authentication")
	errBadFrameMAC = errors.New("cluster: bus: frame authentication failed")
)

// authWarnEvery limits the authentication warnings logged per remote
// host: the cron reconnects to known nodes ten times a second.
const authWarnEvery = 10 * time.Second

// authWarnings remembers when a warning was last logged per remote host.
type authWarnings struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// authFailed logs a peer that failed the handshake: a warning with its
// address, at most once per authWarnEvery per host.
func (c *Cluster) authFailed(remote string, err error) {
	host, _, splitErr := net.SplitHostPort(remote)
	if splitErr != nil {
		host = remote
	}
	w := &c.authWarn
	now := time.Now()
	w.mu.Lock()
	if w.last == nil {
		w.last = map[string]time.Time{}
	}
	if t, ok := w.last[host]; ok && now.Sub(t) < authWarnEvery {
		w.mu.Unlock()
		return
	}
	w.last[host] = now
	w.mu.Unlock()
	c.log.Warn("cluster bus: peer failed authentication, connection dropped", "remote", remote, "err", err)
}

// linkAuth holds an authenticated link's per-direction keys and counters.
// sendSeq is used by the writer goroutine only, recvSeq by the reader.
type linkAuth struct {
	sendKey, recvKey []byte
	sendSeq, recvSeq uint64
}

func busMAC(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func writeAuthFrame(w io.Writer, typ uint16, body []byte) error {
	f := make([]byte, frameHeader, frameHeader+len(body))
	copy(f, busMagic)
	binary.BigEndian.PutUint16(f[4:], busVersionAuth)
	binary.BigEndian.PutUint16(f[6:], typ)
	binary.BigEndian.PutUint32(f[8:], uint32(len(body)))
	_, err := w.Write(append(f, body...))
	return err
}

func readAuthFrame(r io.Reader, typ uint16, size int) ([]byte, error) {
	var fh [frameHeader]byte
	if _, err := io.ReadFull(r, fh[:]); err != nil {
		return nil, err
	}
	if string(fh[:4]) != busMagic {
		return nil, errBadMagic
	}
	if v := binary.BigEndian.Uint16(fh[4:6]); v != busVersionAuth {
		return nil, fmt.Errorf("%w: version %d frame, the peer has no bus secret or an older slotvault", errAuthFailed, v)
	}
	if binary.BigEndian.Uint16(fh[6:8]) != typ || binary.BigEndian.Uint32(fh[8:12]) != uint32(size) {
		return nil, fmt.Errorf("%w: unexpected handshake frame", errAuthFailed)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}

// authenticate runs the handshake on a fresh connection. It returns the
// link's keys, or an error that wraps errAuthFailed when the peer does not
// know the secret.
func authenticate(conn net.Conn, secret []byte, dialer bool) (*linkAuth, error) {
	conn.SetDeadline(time.Now().Add(authTimeout))
	defer conn.SetDeadline(time.Time{})
	mine := make([]byte, nonceLen)
	if _, err := rand.Read(mine); err != nil {
		return nil, err
	}
	var nD, nA []byte
	proof := func(role string) []byte {
		return busMAC(secret, []byte("slotvault bus v2 "+role), nD, nA)
	}
	if dialer {
		nD = mine
		if err := writeAuthFrame(conn, msgAuthHello, nD); err != nil {
			return nil, err
		}
		var err error
		if nA, err = readAuthFrame(conn, msgAuthHello, nonceLen); err != nil {
			return nil, err
		}
		p, err := readAuthFrame(conn, msgAuthProof, macLen)
		if err != nil {
			return nil, err
		}
		if !hmac.Equal(p, proof("acceptor")) {
			return nil, fmt.Errorf("%w: wrong proof", errAuthFailed)
		}
		if err := writeAuthFrame(conn, msgAuthProof, proof("dialer")); err != nil {
			return nil, err
		}
	} else {
		nA = mine
		var err error
		if nD, err = readAuthFrame(conn, msgAuthHello, nonceLen); err != nil {
			return nil, err
		}
		if err := writeAuthFrame(conn, msgAuthHello, nA); err != nil {
			return nil, err
		}
		if err := writeAuthFrame(conn, msgAuthProof, proof("acceptor")); err != nil {
			return nil, err
		}
		p, err := readAuthFrame(conn, msgAuthProof, macLen)
		if err != nil {
			return nil, err
		}
		if !hmac.Equal(p, proof("dialer")) {
			return nil, fmt.Errorf("%w: wrong proof", errAuthFailed)
		}
	}
	kD := busMAC(secret, []byte("slotvault bus v2 key dialer"), nD, nA)
	kA := busMAC(secret, []byte("slotvault bus v2 key acceptor"), nD, nA)
	if dialer {
		return &linkAuth{sendKey: kD, recvKey: kA}, nil
	}
	return &linkAuth{sendKey: kA, recvKey: kD}, nil
}

// sealFrame writes an encoded (version 1) frame as an authenticated one:
// version 2 header, body, HMAC. frame is not modified (it may be shared by
// several links).
func (a *linkAuth) sealFrame(w io.Writer, frame []byte) error {
	var hdr [frameHeader]byte
	copy(hdr[:], frame[:frameHeader])
	binary.BigEndian.PutUint16(hdr[4:], busVersionAuth)
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], a.sendSeq)
	a.sendSeq++
	tag := busMAC(a.sendKey, seq[:], hdr[:], frame[frameHeader:])
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.Write(frame[frameHeader:]); err != nil {
		return err
	}
	_, err := w.Write(tag)
	return err
}

// readMessage reads and checks one authenticated frame.
func (a *linkAuth) readMessage(r io.Reader) (*message, error) {
	var fh [frameHeader]byte
	if _, err := io.ReadFull(r, fh[:]); err != nil {
		return nil, err
	}
	if string(fh[:4]) != busMagic {
		return nil, errBadMagic
	}
	if v := binary.BigEndian.Uint16(fh[4:6]); v != busVersionAuth {
		return nil, fmt.Errorf("%w %d", errBadVersion, v)
	}
	typ := binary.BigEndian.Uint16(fh[6:8])
	n := binary.BigEndian.Uint32(fh[8:12])
	if n > maxFrame {
		return nil, errTooLarge
	}
	body := make([]byte, int(n)+macLen)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	body, tag := body[:n], body[n:]
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], a.recvSeq)
	if !hmac.Equal(tag, busMAC(a.recvKey, seq[:], fh[:], body)) {
		return nil, errBadFrameMAC
	}
	a.recvSeq++
	return decodeBody(typ, body)
}
