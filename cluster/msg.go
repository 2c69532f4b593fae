package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/slotvault/slotvault/slots"
)

// Bus message types.
const (
	msgPing uint16 = iota
	msgPong
	msgMeet
	msgFail
	msgPublish
	msgPublishShard
	msgUpdate
	msgFailoverAuthRequest
	msgFailoverAuthAck
	msgMFStart
	msgTypeCount
)

// msgTypeNames are the names CLUSTER INFO uses in its statistics.
var msgTypeNames = [msgTypeCount]string{"ping", "pong", "meet", "fail", "publish", "publishshard", "update",
	"auth-req", "auth-ack", "mfstart"}

const (
	busMagic    = "SVCB"
	busVersion  = 1
	frameHeader = 12 // magic(4) version(2) type(2) length(4)
	// maxFrame bounds a frame's payload; PUBLISH messages are the only
	// large ones.
	maxFrame    = 1 << 30
	busPortIncr = 10000
	slotBytes   = slots.Count / 8
)

var (
	errBadMagic   = errors.New("cluster: bus: bad magic")
	errBadVersion = errors.New("cluster: bus: unsupported version")
	errTruncated  = errors.New("cluster: bus: truncated message")
	errTooLarge   = errors.New("cluster: bus: message too large")
)

// Message flags (header MFlags), as Redis's mflags[0].
const (
	// mflagPaused: a master in a manual failover has paused its clients;
	// the header's offset is final.
	mflagPaused uint8 = 1 << 0
	// mflagForceAck: a manual failover's vote request, to be granted
	// although the master is not failing.
	mflagForceAck uint8 = 1 << 1
)

// header is the part every message starts with: the sender's view of
// itself (clusterMsg's header fields).
type header struct {
	Sender       string // 40 hex
	CurrentEpoch uint64
	ConfigEpoch  uint64
	ReplOffset   int64
	Master       string // "" for masters
	Slots        [slotBytes]byte
	Flags        Flags
	StateOK      bool
	MFlags       uint8  // mflagPaused, mflagForceAck
	IP           string // announced IP, "" = use the socket's peer address
	Port         int
	CPort        int
	PPort        int // plaintext port in a TLS cluster; sent as an extension (tls.go)
}

// gossip is one entry of a PING/PONG/MEET gossip section.
type gossip struct {
	ID       string
	PingSent int64
	PongRecv int64
	Flags    Flags
	IP       string
	Port     int
	CPort    int
}

// message is a decoded bus message.
type message struct {
	Type   uint16
	Header header
	Gossip []gossip // ping, pong, meet
	// Fail: the failing node. Update: the node whose config changed.
	NodeID string
	// Update.
	UpdateEpoch uint64
	UpdateSlots [slotBytes]byte
	// Publish.
	Channel, Payload []byte
}

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) id(s string) {
	var b [IDLen]byte
	copy(b[:], s)
	e.b = append(e.b, b[:]...)
}
func (e *encoder) str8(s string) {
	if len(s) > 255 {
		s = s[:255]
	}
	e.u8(uint8(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) bytes32(p []byte) {
	e.u32(uint32(len(p)))
	e.b = append(e.b, p...)
}

// encode renders m as one frame.
func (m *message) encode() []byte {
	e := &encoder{b: make([]byte, 0, 2300+len(m.Gossip)*80+len(m.Channel)+len(m.Payload))}
	e.b = append(e.b, busMagic...)
	e.u16(busVersion)
	e.u16(m.Type)
	e.u32(0) // length, patched below
	h := &m.Header
	e.id(h.Sender)
	e.u64(h.CurrentEpoch)
	e.u64(h.ConfigEpoch)
	e.u64(uint64(h.ReplOffset))
	e.id(h.Master)
	e.b = append(e.b, h.Slots[:]...)
	e.u16(uint16(h.Flags))
	if h.StateOK {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.u8(h.MFlags)
	e.u16(uint16(h.Port))
	e.u16(uint16(h.CPort))
	e.str8(h.IP)
	switch m.Type {
	case msgPing, msgPong, msgMeet:
		e.u16(uint16(len(m.Gossip)))
		for _, g := range m.Gossip {
			e.id(g.ID)
			e.u64(uint64(g.PingSent))
			e.u64(uint64(g.PongRecv))
			e.u16(uint16(g.Flags))
			e.u16(uint16(g.Port))
			e.u16(uint16(g.CPort))
			e.str8(g.IP)
		}
	case msgFail:
		e.id(m.NodeID)
	case msgUpdate:
		e.id(m.NodeID)
		e.u64(m.UpdateEpoch)
		e.b = append(e.b, m.UpdateSlots[:]...)
	case msgPublish, msgPublishShard:
		e.bytes32(m.Channel)
		e.bytes32(m.Payload)
	}
	e.extensions(m)
	binary.BigEndian.PutUint32(e.b[8:12], uint32(len(e.b)-frameHeader))
	return e.b
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.err = errTruncated
		return make([]byte, n)
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}
func (d *decoder) u8() uint8   { return d.take(1)[0] }
func (d *decoder) u16() uint16 { return binary.BigEndian.Uint16(d.take(2)) }
func (d *decoder) u32() uint32 { return binary.BigEndian.Uint32(d.take(4)) }
func (d *decoder) u64() uint64 { return binary.BigEndian.Uint64(d.take(8)) }
func (d *decoder) id() string {
	p := d.take(IDLen)
	if p[0] == 0 {
		return ""
	}
	return string(p)
}
func (d *decoder) str8() string { return string(d.take(int(d.u8()))) }
func (d *decoder) bytes32() []byte {
	n := d.u32()
	if int64(n) > int64(len(d.b)) {
		d.err = errTruncated
		return nil
	}
	return append([]byte(nil), d.take(int(n))...)
}

// readMessage reads one frame from r.
func readMessage(r io.Reader) (*message, error) {
	var fh [frameHeader]byte
	if _, err := io.ReadFull(r, fh[:]); err != nil {
		return nil, err
	}
	if string(fh[:4]) != busMagic {
		return nil, errBadMagic
	}
	if v := binary.BigEndian.Uint16(fh[4:6]); v != busVersion {
		return nil, fmt.Errorf("%w %d", errBadVersion, v)
	}
	typ := binary.BigEndian.Uint16(fh[6:8])
	n := binary.BigEndian.Uint32(fh[8:12])
	if n > maxFrame {
		return nil, errTooLarge
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return decodeBody(typ, body)
}

func decodeBody(typ uint16, body []byte) (*message, error) {
	d := &decoder{b: body}
	m := &message{Type: typ}
	h := &m.Header
	h.Sender = d.id()
	h.CurrentEpoch = d.u64()
	h.ConfigEpoch = d.u64()
	h.ReplOffset = int64(d.u64())
	h.Master = d.id()
	copy(h.Slots[:], d.take(slotBytes))
	h.Flags = Flags(d.u16())
	h.StateOK = d.u8() == 1
	h.MFlags = d.u8()
	h.Port = int(d.u16())
	h.CPort = int(d.u16())
	h.IP = d.str8()
	switch typ {
	case msgPing, msgPong, msgMeet:
		cnt := int(d.u16())
		if cnt > len(d.b)/(IDLen+24) {
			return nil, errTruncated
		}
		m.Gossip = make([]gossip, cnt)
		for i := range m.Gossip {
			g := &m.Gossip[i]
			g.ID = d.id()
			g.PingSent = int64(d.u64())
			g.PongRecv = int64(d.u64())
			g.Flags = Flags(d.u16())
			g.Port = int(d.u16())
			g.CPort = int(d.u16())
			g.IP = d.str8()
		}
	case msgFail:
		m.NodeID = d.id()
	case msgUpdate:
		m.NodeID = d.id()
		m.UpdateEpoch = d.u64()
		copy(m.UpdateSlots[:], d.take(slotBytes))
	case msgPublish, msgPublishShard:
		m.Channel = d.bytes32()
		m.Payload = d.bytes32()
	default:
		// Unknown types from a newer minor revision are skipped.
	}
	d.extensions(m)
	if d.err != nil {
		return nil, d.err
	}
	if !ValidID(h.Sender) {
		return nil, fmt.Errorf("cluster: bus: bad sender id")
	}
	return m, nil
}

// slotBitmap helpers: bit j of the 2048-byte map is slot j.
func bitmapHas(b *[slotBytes]byte, j int) bool { return b[j>>3]&(1<<(j&7)) != 0 }
func bitmapSet(b *[slotBytes]byte, j int)      { b[j>>3] |= 1 << (j & 7) }

// slotBitmap is n's slots in the wire layout (bit j&7 of byte j>>3): the
// little-endian bytes of the slots.Set words, copied a word at a time
// since every message header carries it.
func (n *Node) slotBitmap() [slotBytes]byte {
	var b [slotBytes]byte
	for w, word := range n.slots {
		binary.LittleEndian.PutUint64(b[w*8:], word)
	}
	return b
}
