package rdb

import (
	"errors"
	"fmt"
)

// Errors returned by the codec. Every decoding failure wraps one of them.
var (
	// ErrPayload: the DUMP payload is too short, has an RDB version newer
	// than MaxVersion, or its CRC64 does not match (RESTORE's "DUMP payload
	// version or checksum are wrong").
	ErrPayload = errors.New("rdb: DUMP payload version or checksum are wrong")
	// ErrCorrupt: the object encoding is malformed (RESTORE's "Bad data
	// format").
	ErrCorrupt = errors.New("rdb: corrupt object encoding")
	// ErrEmpty: an aggregate with no elements, which Redis never stores and
	// refuses to load.
	ErrEmpty = errors.New("rdb: empty aggregate")
	// ErrUnsupportedType: a valid RDB type this codec does not represent
	// (streams, module values).
	ErrUnsupportedType = errors.New("rdb: unsupported object type")
)

func corrupt(msg string) error { return fmt.Errorf("%w: %s", ErrCorrupt, msg) }
