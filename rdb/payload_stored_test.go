package rdb

import (
	"bytes"
	"errors"
	"testing"
)

// DecodeStoredPayload checks the footer's length and version but not the
// CRC64, which the storage it reads from has checked already.
func TestDecodeStoredPayload(t *testing.T) {
	p, err := EncodePayload(&Object{Kind: KindString, Str: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	o, err := DecodeStoredPayload(p)
	if err != nil || !bytes.Equal(o.Str, []byte("hello")) {
		t.Fatalf("valid payload: %v %q", err, o.Str)
	}
	badCRC := append([]byte(nil), p...)
	badCRC[len(badCRC)-1] ^= 0xff
	if _, err := DecodePayload(badCRC); !errors.Is(err, ErrPayload) {
		t.Fatalf("DecodePayload with a bad CRC: %v", err)
	}
	if o, err := DecodeStoredPayload(badCRC); err != nil || !bytes.Equal(o.Str, []byte("hello")) {
		t.Fatalf("DecodeStoredPayload with a bad CRC: %v %q", err, o.Str)
	}
	badVer := append([]byte(nil), p...)
	badVer[len(badVer)-10] = 0xff
	badVer[len(badVer)-9] = 0xff
	for name, b := range map[string][]byte{"short": p[:9], "version": badVer, "empty": nil} {
		if _, err := DecodeStoredPayload(b); !errors.Is(err, ErrPayload) {
			t.Errorf("%s: %v, want ErrPayload", name, err)
		}
	}
}
