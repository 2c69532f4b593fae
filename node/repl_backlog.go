package node

// replBacklog is the replication backlog: the tail of the replication
// stream, addressed by replication offset, shared by every attached
// replica. Offsets follow Redis: the stream's first byte ever has offset
// 1, master_repl_offset (end) is the offset of the last byte written, and
// the backlog holds bytes [start, end].
//
// The bytes live in fixed-capacity blocks that are only ever appended to,
// so a replica's sender can hold a slice of a block outside the node lock
// while the block keeps growing. The backlog keeps at least size bytes of
// history (repl-backlog-size) and, beyond that, whatever an attached
// replica still has to send (the lowest "pin"), up to a hard limit above
// which the slowest replicas are dropped (as Redis's client-output-buffer
// limit for replicas does). Guarded by the node lock.
type replBacklog struct {
	blocks []*backlogBlock
	// size is repl-backlog-size.
	size int64
	// start is the offset of the first byte held (repl_backlog_first_byte_offset).
	start int64
	// end is the offset of the last byte written (master_repl_offset).
	end int64
}

const backlogBlockSize = 64 << 10

type backlogBlock struct {
	// off is the offset of data[0].
	off  int64
	data []byte
}

// newReplBacklog creates an empty backlog continuing the stream after
// offset end (repl_backlog_first_byte_offset = end+1).
func newReplBacklog(size, end int64) *replBacklog {
	return &replBacklog{size: size, start: end + 1, end: end}
}

// histlen is repl_backlog_histlen.
func (b *replBacklog) histlen() int64 { return b.end - b.start + 1 }

// write appends p to the stream.
func (b *replBacklog) write(p []byte) {
	for len(p) > 0 {
		var last *backlogBlock
		if len(b.blocks) > 0 {
			last = b.blocks[len(b.blocks)-1]
		}
		if last == nil || len(last.data) == cap(last.data) {
			last = &backlogBlock{off: b.end + 1, data: make([]byte, 0, backlogBlockSize)}
			b.blocks = append(b.blocks, last)
		}
		n := min(cap(last.data)-len(last.data), len(p))
		last.data = append(last.data, p[:n]...)
		b.end += int64(n)
		p = p[n:]
	}
}

// trim drops history older than size bytes, keeping everything from pin
// (the lowest offset an attached replica still has to send; 0: none).
func (b *replBacklog) trim(pin int64) {
	lo := b.end - b.size + 1
	if pin > 0 && pin < lo {
		lo = pin
	}
	for len(b.blocks) > 1 && b.blocks[1].off <= lo {
		b.blocks[0] = nil
		b.blocks = b.blocks[1:]
	}
	b.start = max(b.start, lo)
}

// has reports whether offset off (the next byte a replica wants) can be
// served: start <= off <= end+1.
func (b *replBacklog) has(off int64) bool {
	return off >= b.start && off <= b.end+1
}

// read returns slices of the bytes from offset from (inclusive) up to max
// bytes, without copying. The slices stay valid after the lock is
// released: blocks are append-only and never reused.
func (b *replBacklog) read(from int64, max int) [][]byte {
	var out [][]byte
	if from > b.end || len(b.blocks) == 0 {
		return nil
	}
	// Binary search the block holding from.
	lo, hi := 0, len(b.blocks)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if b.blocks[mid].off <= from {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if b.blocks[lo].off > from {
		return nil
	}
	total := 0
	for i := lo; i < len(b.blocks) && total < max; i++ {
		blk := b.blocks[i]
		s := 0
		if i == lo {
			s = int(from - blk.off)
		}
		d := blk.data[s:len(blk.data)]
		if len(d) > max-total {
			d = d[:max-total]
		}
		if len(d) == 0 {
			continue
		}
		out = append(out, d)
		total += len(d)
	}
	return out
}

// bytesHeld is the memory held by the blocks (INFO mem_replication_backlog).
func (b *replBacklog) bytesHeld() int64 {
	return int64(len(b.blocks)) * backlogBlockSize
}
