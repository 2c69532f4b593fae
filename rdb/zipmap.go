package rdb

// Zipmap (Redis < 2.6 small hashes), decoded only:
//
//	<zmlen:1> (<len>key<len><free:1>value<free bytes>)* 0xFF
//
// where <len> is one byte below 254, or 254 followed by a 4-byte
// little-endian length.
func parseZipmap(b []byte) ([]HashField, error) {
	if len(b) < 2 {
		return nil, corrupt("zipmap too short")
	}
	p := 1
	readLen := func() (int, bool, error) {
		if p >= len(b) {
			return 0, false, corrupt("zipmap truncated")
		}
		c := b[p]
		switch {
		case c == 0xFF:
			p++
			return 0, true, nil
		case c == 0xFE:
			if p+5 > len(b) {
				return 0, false, corrupt("zipmap truncated length")
			}
			l := le32(b[p+1:])
			p += 5
			if uint64(l) > uint64(len(b)) {
				return 0, false, corrupt("zipmap length overflows")
			}
			return int(l), false, nil
		default:
			p++
			return int(c), false, nil
		}
	}
	var out []HashField
	for {
		kl, end, err := readLen()
		if err != nil {
			return nil, err
		}
		if end {
			if p != len(b) {
				return nil, corrupt("zipmap trailing bytes")
			}
			return out, nil
		}
		if p+kl > len(b) {
			return nil, corrupt("zipmap key overflows")
		}
		key := append([]byte(nil), b[p:p+kl]...)
		p += kl
		vl, end, err := readLen()
		if err != nil || end {
			return nil, corrupt("zipmap missing value")
		}
		if p >= len(b) {
			return nil, corrupt("zipmap truncated")
		}
		free := int(b[p])
		p++
		if p+vl+free > len(b) {
			return nil, corrupt("zipmap value overflows")
		}
		val := append([]byte(nil), b[p:p+vl]...)
		p += vl + free
		out = append(out, HashField{Field: key, Value: val})
	}
}
