package rdb

import (
	"encoding/binary"
)

// payloadFooter is the RDB version (2 bytes) plus the CRC64 (8 bytes).
const payloadFooter = 10

// EncodePayload returns o as a DUMP payload: the RDB object encoding,
// the RDB version (uint16 LE) and the CRC64 of everything before the CRC
// (uint64 LE).
func EncodePayload(o *Object) ([]byte, error) {
	b, err := AppendObject(nil, o)
	if err != nil {
		return nil, err
	}
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, CRC64(0, b)), nil
}

// AppendStringPayload appends the DUMP payload of a string value: what
// EncodePayload makes for a KindString object, except that the string is
// never LZF-compressed (integers are still int-encoded). It is for
// consumers that compress the whole stream afterwards (backups), where LZF
// costs CPU on every value and gains nothing; the payload is as valid for
// RESTORE and DecodePayload as a compressed one.
func AppendStringPayload(dst, s []byte) []byte {
	start := len(dst)
	w := writer{b: append(dst, byte(TypeString))}
	w.strUncompressed(s)
	w.b = binary.LittleEndian.AppendUint16(w.b, Version)
	return binary.LittleEndian.AppendUint64(w.b, CRC64(0, w.b[start:]))
}

// VerifyPayload checks a DUMP payload's footer — at least 10 bytes, RDB
// version at most MaxVersion, matching CRC64 — and returns the encoded
// object and the version. Failures are ErrPayload.
func VerifyPayload(p []byte) (body []byte, version int, err error) {
	if len(p) < payloadFooter {
		return nil, 0, ErrPayload
	}
	footer := p[len(p)-payloadFooter:]
	version = int(le16(footer))
	if version > MaxVersion {
		return nil, version, ErrPayload
	}
	if CRC64(0, p[:len(p)-8]) != le64(footer[2:]) {
		return nil, version, ErrPayload
	}
	return p[:len(p)-payloadFooter], version, nil
}

// DecodePayload verifies a DUMP payload and decodes its object. Like
// Redis, it reads the object from the whole payload, footer included: an
// object that runs into the footer still loads (with the footer bytes as
// data), and bytes left before the footer are ignored.
func DecodePayload(p []byte) (Object, error) {
	if _, _, err := VerifyPayload(p); err != nil {
		return Object{}, err
	}
	o, _, err := DecodeObject(p)
	return o, err
}

// DecodeStoredPayload is DecodePayload without the CRC64: for payloads
// read back from storage that checksums every byte itself (a node's
// snapshot store: Pebble's block checksums and the manifest's sum), where
// a second checksum over the same bytes finds nothing more. The footer's
// length and RDB version are still checked.
func DecodeStoredPayload(p []byte) (Object, error) {
	if len(p) < payloadFooter || int(le16(p[len(p)-payloadFooter:])) > MaxVersion {
		return Object{}, ErrPayload
	}
	o, _, err := DecodeObject(p)
	return o, err
}
