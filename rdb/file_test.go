package rdb

import (
	"encoding/binary"
	"errors"
	"testing"
)

func rdbString(s string) []byte { return append([]byte{byte(len(s))}, s...) } // short strings only

func buildFile(t *testing.T) []byte {
	t.Helper()
	b := []byte("REDIS0010")
	b = append(b, opAux)
	b = append(b, rdbString("redis-ver")...)
	b = append(b, rdbString("7.0.15")...)
	b = append(b, opSelectDB, 0, opResizeDB, 2, 1)
	b = append(b, opExpireMs)
	b = binary.LittleEndian.AppendUint64(b, 1893456000000)
	o := Object{Kind: KindString, Str: []byte("v1")}
	enc, err := AppendObject(nil, &o)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, enc[0])
	b = append(b, rdbString("k1")...)
	b = append(b, enc[1:]...)
	b = append(b, opSelectDB, 3)
	b = append(b, enc[0])
	b = append(b, rdbString("k2")...)
	b = append(b, enc[1:]...)
	b = append(b, opEOF)
	return binary.LittleEndian.AppendUint64(b, CRC64(0, b))
}

func TestReadFile(t *testing.T) {
	b := buildFile(t)
	var got []FileKey
	if err := ReadFile(b, func(k FileKey) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].Key) != "k1" || got[0].Expire != 1893456000000 || got[0].DB != 0 ||
		string(got[1].Key) != "k2" || got[1].Expire != 0 || got[1].DB != 3 || string(got[1].Value.Str) != "v1" {
		t.Fatalf("got %+v", got)
	}
	bad := append([]byte(nil), b...)
	bad[12] ^= 1
	if err := ReadFile(bad, func(FileKey) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("checksum: %v", err)
	}
	if err := ReadFile([]byte("NOTREDIS0"), nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("header: %v", err)
	}
	for n := 9; n < len(b)-8; n++ {
		trunc := append([]byte(nil), b[:n]...)
		trunc = binary.LittleEndian.AppendUint64(trunc, 0) // checksum off
		if err := ReadFile(trunc, func(FileKey) error { return nil }); err == nil {
			t.Fatalf("truncated at %d accepted", n)
		}
	}
}
