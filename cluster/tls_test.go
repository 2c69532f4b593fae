package cluster

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestPPortExtension: the plaintext port travels as a trailing extension
// record; frames without it decode with PPort 0, and unknown or malformed
// trailing records are ignored (a newer node's extensions).
func TestPPortExtension(t *testing.T) {
	h := header{Sender: RandomID(), Port: 16379, CPort: 26379, PPort: 6379}
	for _, typ := range []uint16{msgPing, msgPong, msgMeet, msgFail, msgPublish, msgUpdate} {
		m := &message{Type: typ, Header: h, Channel: []byte("c"), Payload: []byte("p")}
		got, err := readMessage(bytes.NewReader(m.encode()))
		if err != nil || got.Header.PPort != 6379 {
			t.Fatalf("type %d: pport %d, %v", typ, got.Header.PPort, err)
		}
		if typ == msgPublish && (string(got.Payload) != "p" || string(got.Channel) != "c") {
			t.Fatalf("publish body changed by the extension: %q %q", got.Channel, got.Payload)
		}
	}
	// Without a plaintext port nothing is appended: the frame is the
	// original layout.
	plain := (&message{Type: msgPing, Header: header{Sender: h.Sender, Port: 6379}}).encode()
	with := (&message{Type: msgPing, Header: header{Sender: h.Sender, Port: 6379, PPort: 1}}).encode()
	if len(with) != len(plain)+6 {
		t.Fatalf("extension size %d", len(with)-len(plain))
	}
	// Unknown record types are skipped; a record claiming more bytes
	// than remain ends the extension section.
	frame := (&message{Type: msgPong, Header: h}).encode()
	frame = binary.BigEndian.AppendUint16(frame, 99)
	frame = binary.BigEndian.AppendUint16(frame, 3)
	frame = append(frame, 1, 2, 3)
	frame = binary.BigEndian.AppendUint16(frame, extPPort)
	frame = binary.BigEndian.AppendUint16(frame, 40)
	binary.BigEndian.PutUint32(frame[8:12], uint32(len(frame)-frameHeader))
	got, err := readMessage(bytes.NewReader(frame))
	if err != nil || got.Header.PPort != 6379 {
		t.Fatalf("with unknown records: pport %d, %v", got.Header.PPort, err)
	}
}
