package node

import (
	"errors"
	"fmt"

	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/store"
)

// ErrBadPayload is returned for DUMP payloads that cannot be restored. When
// the payload's footer is at fault (too short, RDB version newer than
// rdb.MaxVersion, CRC64 mismatch) the error also matches rdb.ErrPayload.
var ErrBadPayload = errors.New("node: bad DUMP payload")

// objectEncoder is implemented by the aggregate store types (Hash, Set,
// List, ZSet): their contents in the codec's neutral form.
type objectEncoder interface {
	Object() rdb.Object
}

// fromObject builds a store value from a decoded aggregate, applying the
// encoding limits. INTEGRATION: one line per aggregate store type, e.g.
//
//	rdb.KindHash: func(o rdb.Object, l store.Limits) store.Value { return store.HashFromObject(o, l) },
//	rdb.KindSet:  func(o rdb.Object, l store.Limits) store.Value { return store.SetFromObject(o, l) },
//	rdb.KindList: func(o rdb.Object, l store.Limits) store.Value { return store.ListFromObject(o, l) },
//	rdb.KindZSet: func(o rdb.Object, l store.Limits) store.Value { return store.ZSetFromObject(o, l) },
//
// A kind without an entry is refused as bad data.
var fromObject = map[rdb.Kind]func(rdb.Object, store.Limits) store.Value{
	rdb.KindHash: func(o rdb.Object, l store.Limits) store.Value { return store.HashFromObject(o, l) },
	rdb.KindSet:  func(o rdb.Object, l store.Limits) store.Value { return store.SetFromObject(o, l) },
	rdb.KindList: func(o rdb.Object, l store.Limits) store.Value { return store.ListFromObject(o, l) },
	rdb.KindZSet: func(o rdb.Object, l store.Limits) store.Value { return store.ZSetFromObject(o, l) },
}

// ValueObject converts a store value to the codec's neutral form, with
// its current encoding as the encoder's hint.
func ValueObject(v store.Value) (rdb.Object, error) {
	switch v := v.(type) {
	case *store.String:
		return rdb.Object{Kind: rdb.KindString, Str: v.B}, nil
	case objectEncoder: // aggregates
		o := v.Object()
		o.Encoding = v.(store.Value).Encoding()
		return o, nil
	}
	return rdb.Object{}, fmt.Errorf("node: cannot serialise a %s value", v.Type())
}

// ValueFromObject converts a decoded object to a store value.
func ValueFromObject(o rdb.Object, l store.Limits) (store.Value, error) {
	if o.Kind == rdb.KindString {
		// Not Raw: the encoding follows from the content (int, embstr,
		// raw), as Redis's tryObjectEncoding decides on load.
		return &store.String{B: o.Str}, nil
	}
	if build := fromObject[o.Kind]; build != nil {
		return build(o, l), nil
	}
	return nil, fmt.Errorf("%w: no store type for object kind %d", ErrBadPayload, o.Kind)
}

// DumpPayload serialises v as a Redis 7.0 DUMP payload (RDB object encoding,
// RDB version, CRC64). Snapshots store values in this form.
func DumpPayload(v store.Value) ([]byte, error) {
	o, err := ValueObject(v)
	if err != nil {
		return nil, err
	}
	return rdb.EncodePayload(&o)
}

// LoadPayload is RestorePayload for a payload read back from a snapshot
// store that checksums its bytes itself: the CRC64 is not computed again
// (rdb.DecodeStoredPayload).
func LoadPayload(p []byte, l store.Limits) (store.Value, error) {
	o, err := rdb.DecodeStoredPayload(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	return ValueFromObject(o, l)
}

// RestorePayload parses a DUMP payload into a value, applying the encoding
// limits. It verifies the RDB version and the CRC64.
func RestorePayload(p []byte, l store.Limits) (store.Value, error) {
	o, err := rdb.DecodePayload(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	return ValueFromObject(o, l)
}
