package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// RDB file opcodes (rdb.h).
const (
	opFunction2   = 0xF5
	opModuleAux   = 0xF7
	opFreq        = 0xF8
	opIdle        = 0xF9
	opAux         = 0xFA
	opResizeDB    = 0xFB
	opExpireMs    = 0xFC
	opExpireSec   = 0xFD
	opSelectDB    = 0xFE
	opEOF         = 0xFF
	maxRDBVersion = 11
)

// FileKey is one key of an RDB file.
type FileKey struct {
	DB     int
	Key    []byte
	Expire int64 // absolute Unix ms, 0 = none
	Value  Object
}

// ReadFile decodes a whole RDB file as redis-server SAVE writes it (header
// "REDISnnnn", aux fields, SELECTDB, RESIZEDB, EXPIRETIME(_MS), IDLE/FREQ,
// objects, EOF and the CRC64 trailer) and calls fn for every key. The
// checksum is verified first (a zero checksum means the writer had
// rdbchecksum off). Module values, streams and functions are refused.
func ReadFile(b []byte, fn func(FileKey) error) error {
	if len(b) < 9+1 || !bytes.HasPrefix(b, []byte("REDIS")) {
		return corrupt("not an RDB file (no REDIS header)")
	}
	ver, err := strconv.Atoi(string(b[5:9]))
	if err != nil || ver < 1 || ver > maxRDBVersion {
		return corrupt(fmt.Sprintf("unsupported RDB version %q", b[5:9]))
	}
	if ver >= 5 {
		if len(b) < 9+1+8 {
			return corrupt("truncated")
		}
		want := binary.LittleEndian.Uint64(b[len(b)-8:])
		if want != 0 && CRC64(0, b[:len(b)-8]) != want {
			return corrupt("RDB checksum mismatch")
		}
	}
	r := reader{b: b, p: 9}
	db := 0
	var expire int64
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case opEOF:
			return nil
		case opAux:
			if _, err := r.str(); err != nil {
				return err
			}
			if _, err := r.str(); err != nil {
				return err
			}
		case opSelectDB:
			n, _, err := r.len()
			if err != nil {
				return err
			}
			db = int(n)
		case opResizeDB:
			if _, _, err := r.len(); err != nil {
				return err
			}
			if _, _, err := r.len(); err != nil {
				return err
			}
		case opExpireMs:
			p, err := r.take(8)
			if err != nil {
				return err
			}
			expire = int64(binary.LittleEndian.Uint64(p))
		case opExpireSec:
			p, err := r.take(4)
			if err != nil {
				return err
			}
			expire = int64(binary.LittleEndian.Uint32(p)) * 1000
		case opIdle:
			if _, _, err := r.len(); err != nil {
				return err
			}
		case opFreq:
			if _, err := r.byte(); err != nil {
				return err
			}
		case opModuleAux, opFunction2, 0xF6:
			return corrupt(fmt.Sprintf("RDB opcode 0x%X (modules/functions) is not supported", op))
		default:
			key, err := r.str()
			if err != nil {
				return err
			}
			key = append([]byte(nil), key...)
			o, err := r.object(Type(op))
			if err != nil {
				return fmt.Errorf("key %q: %w", key, err)
			}
			if err := fn(FileKey{DB: db, Key: key, Expire: expire, Value: o}); err != nil {
				return err
			}
			expire = 0
		}
	}
}
