package persistsrc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/persistence"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/store"
)

// Tuning of the streamed cut.
const (
	// stepKeys is about how many keys one node-lock hold delivers: the
	// values are only cloned under the lock (a memcpy for strings), so a
	// step of 2048 1 KiB values holds the lock for well under a millisecond.
	stepKeys = 2048
	// heldMaxBytes bounds the values cloned under the lock and not yet
	// encoded. Commands that touch a pending slot deliver it at once,
	// between two steps of the producer; since the producer no longer waits
	// for the upload (bufferMaxBytes), only the copies made during one
	// step's encoding pile up here. This is the backup's copy-on-write
	// memory, the counterpart of what a fork costs Redis.
	// Past it, such slots are spilled to a local temp file instead — with
	// I/O under the node lock, which stalls clients if the disk is slow,
	// so the bound is generous.
	heldMaxBytes = 256 << 20
	// freeChunks bounds the arena chunks kept for reuse.
	freeChunks = 36
	// bufferMaxBytes bounds the encoded entries waiting in memory for the
	// uploader. The cut is drained as fast as the node allows, not as fast
	// as the (possibly throttled) upload: while it is open, every command
	// touching a pending slot copies that slot under the node lock, so the
	// shorter that window the better. Encoded batches past this bound go
	// to a temp file in SpillDir, written and read outside the node lock.
	bufferMaxBytes = 64 << 20
)

// heldEntry is one key cloned under the node lock, encoded outside it.
// String values (the bulk of most datasets) are copied into the producer's
// arena (str) instead of cloned one by one, so a step allocates a few large
// pointer-free chunks rather than one object per key: far less work for
// the allocator and the garbage collector, which compete with the node.
type heldEntry struct {
	db, slot int
	key      string
	expire   int64
	str      []byte      // a string value's bytes (in the arena), when v is nil
	v        store.Value // a clone of any other value
}

// arenaChunk is the allocation unit of arenas.
const arenaChunk = 1 << 20

// arena hands out byte slices carved from large chunks. Slices stay valid
// until the arena's chunks are released to its free list (if any).
type arena struct {
	buf    []byte
	chunks [][]byte    // chunks handed out so far (when free is set)
	free   chan []byte // optional: chunks to reuse, and where release puts them
}

// alloc returns an n-byte slice with capacity n.
func (a *arena) alloc(n int) []byte {
	if n > arenaChunk/4 {
		return make([]byte, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = nil
		if a.free != nil {
			select {
			case a.buf = <-a.free:
			default:
			}
		}
		if a.buf == nil {
			a.buf = make([]byte, 0, arenaChunk)
		}
		if a.free != nil {
			a.chunks = append(a.chunks, a.buf)
		}
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l : l+n : l+n]
}

// release returns every chunk to the free list; nothing handed out before
// may be used afterwards.
func (a *arena) release() {
	for _, c := range a.chunks {
		select {
		case a.free <- c[:0]:
		default:
		}
	}
	a.chunks, a.buf = a.chunks[:0], nil
}

func heldSize(key string, v store.Value) int {
	n := len(key) + 64
	if s, ok := v.(*store.String); ok {
		return n + len(s.B)
	}
	return n + 256
}

// encodeValue returns a value's DUMP payload; a string's is appended to
// dst (which should have room for len+20 bytes). Strings skip the LZF
// compression the codec applies (the backup stream is zstd-compressed as a
// whole, so LZF would cost CPU for nothing); other types use the codec.
func encodeValue(codec persistence.Codec, h *heldEntry, dst []byte) ([]byte, error) {
	if h.v == nil {
		return rdb.AppendStringPayload(dst, h.str), nil
	}
	return codec.Encode(h.v)
}

// cutProducer streams a persistence.Cut: it steps the cut under the node
// lock, encodes the cloned values outside it on a few goroutines and hands
// batches to the reader. Fields marked "node lock" are touched only by the
// cut's KeyFunc and under WithLock.
type cutProducer struct {
	s       *Snapshots
	codec   persistence.Codec
	workers int
	limit   int // heldMaxBytes unless overridden
	// payFree recycles the chunks holding encoded batches: the reader
	// returns a batch's chunks once the consumer moved past it.
	payFree chan []byte

	held      []heldEntry // node lock
	heldBytes int         // node lock
	arena     arena       // node lock: string values of held
	spill     *spillFile  // node lock; nil until first needed
	err       error       // node lock: first encode/spill error in KeyFunc
}

// openCut implements OpenSnapshot by streaming a cut of the live dataset.
func (s *Snapshots) openCut(ctx context.Context) (backup.SnapshotReader, error) {
	workers := s.Workers
	if workers <= 0 {
		workers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if s.SpillDir != "" {
		// Left behind by a process that died mid-backup (one backup runs
		// at a time per node and data directory).
		old, _ := filepath.Glob(filepath.Join(s.SpillDir, "backup-spill-*.tmp"))
		for _, f := range old {
			os.Remove(f)
		}
	}
	limit := s.HeldMaxBytes
	if limit <= 0 {
		limit = heldMaxBytes
	}
	p := &cutProducer{s: s, codec: s.Mgr.Codec(), workers: workers, limit: limit}
	p.arena.free = make(chan []byte, freeChunks)
	bufMax := s.BufferMaxBytes
	if bufMax <= 0 {
		bufMax = bufferMaxBytes
	}
	p.payFree = make(chan []byte, bufMax/arenaChunk+8)
	r := &cutReader{free: p.payFree, bufMax: bufMax, spoolDir: s.SpillDir}
	r.cond = sync.NewCond(&r.mu)
	var cut *persistence.Cut
	s.WithLock(func() {
		r.at = time.Now()
		cut = s.Mgr.NewCutLocked(p.keyLocked)
		r.seq, r.dbs = cut.Seq, cut.DBs()
	})
	go func() {
		err := p.run(ctx, cut, r)
		if p.spill != nil {
			p.spill.remove()
		}
		r.finish(err, p.spill != nil)
	}()
	return r, nil
}

// keyLocked is the cut's KeyFunc (node lock held, possibly inside a
// command).
func (p *cutProducer) keyLocked(db, slot int, key string, e *store.Entry) {
	if p.err != nil {
		return
	}
	if p.heldBytes < p.limit {
		h := heldEntry{db: db, slot: slot, key: key, expire: e.Expire}
		if sv, ok := e.Value.(*store.String); ok {
			h.str = p.arena.alloc(len(sv.B))
			copy(h.str, sv.B)
		} else {
			h.v = e.Value.Clone()
		}
		p.held = append(p.held, h)
		p.heldBytes += heldSize(key, e.Value)
		return
	}
	// Spill: strings go to the file as they are (a memcpy under the lock;
	// they are encoded when read back), other values encoded now.
	var err error
	if p.spill == nil {
		p.spill, err = newSpillFile(p.s.SpillDir)
	}
	if err == nil {
		if sv, ok := e.Value.(*store.String); ok {
			err = p.spill.add(db, slot, key, e.Expire, spillRawString, sv.B)
		} else {
			var payload []byte
			if payload, err = p.codec.Encode(e.Value); err == nil {
				err = p.spill.add(db, slot, key, e.Expire, spillPayload, payload)
			}
		}
	}
	if err != nil {
		p.err = fmt.Errorf("persistsrc: key %q: %w", key, err)
	}
}

func (p *cutProducer) run(ctx context.Context, cut *persistence.Cut, r *cutReader) error {
	var spare []heldEntry
	for {
		var more bool
		var held []heldEntry
		var heldArena arena
		var err error
		p.s.WithLock(func() {
			more = cut.StepLocked(stepKeys)
			held, p.held, p.heldBytes = p.held, spare[:0], 0
			// The next step's strings go to other chunks: held's stay
			// valid until encoded, then return to the free list.
			heldArena, p.arena = p.arena, arena{free: p.arena.free}
			err = p.err
			if err != nil || !more {
				// Done or failed: nothing may call keyLocked any more.
				cut.CloseLocked()
			}
			if err == nil && !more && p.spill != nil {
				err = p.spill.w.Flush()
			}
		})
		// held may be large (commands delivered many slots while the
		// upload was behind): encode and send it a step's worth at a time.
		for i := 0; err == nil && i < len(held); i += stepKeys {
			var batch entryBatch
			if batch, err = p.encode(held[i:min(i+stepKeys, len(held))]); err == nil {
				err = r.send(ctx, batch)
			}
		}
		if err != nil {
			if more {
				p.s.WithLock(cut.CloseLocked)
			}
			return err
		}
		clear(held) // drop the clones now
		heldArena.release()
		spare = held
		if !more {
			break
		}
	}
	if p.spill != nil {
		return p.spill.replay(func(batch []backup.Entry) error { return r.send(ctx, entryBatch{entries: batch}) })
	}
	return nil
}

// entryBatch is a batch of encoded entries and the arena chunks holding
// their keys and payloads.
type entryBatch struct {
	entries []backup.Entry
	chunks  [][]byte
}

// encode turns cloned values into entries on p.workers goroutines.
func (p *cutProducer) encode(held []heldEntry) (entryBatch, error) {
	out := make([]backup.Entry, len(held))
	n := max(1, min(p.workers, (len(held)+63)/64))
	arenas := make([]arena, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		lo, hi := len(held)*w/n, len(held)*(w+1)/n
		arenas[w].free = p.payFree
		if n == 1 {
			errs[0] = p.encodeRange(held, out, &arenas[0])
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = p.encodeRange(held[lo:hi], out[lo:hi], &arenas[w])
		}()
	}
	wg.Wait()
	b := entryBatch{entries: out}
	for i := range arenas {
		b.chunks = append(b.chunks, arenas[i].chunks...)
	}
	return b, errors.Join(errs...)
}

func (p *cutProducer) encodeRange(held []heldEntry, out []backup.Entry, a *arena) error {
	for i := range held {
		h := &held[i]
		var dst []byte
		if h.v == nil {
			// type byte, up to 9 length bytes, version, CRC64
			dst = a.alloc(len(h.str) + 20)[:0]
		}
		payload, err := encodeValue(p.codec, h, dst)
		if err != nil {
			return fmt.Errorf("persistsrc: encode key %q: %w", h.key, err)
		}
		key := a.alloc(len(h.key))
		copy(key, h.key)
		out[i] = backup.Entry{DB: h.db, Slot: h.slot, Key: key, Expire: h.expire, Value: payload}
	}
	return nil
}

// cutReader is the backup.SnapshotReader side of a streamed cut.
//
// Between the producer and Next sits a buffer that never blocks the
// producer: encoded batches wait in memory up to bufMax bytes, the rest in
// a spool file (spillFile format, strings already encoded) that the
// producer appends to and Next reads from concurrently, each through its
// own descriptor; the file is unlinked as soon as both are open. So the
// cut closes as soon as the node can deliver it, whatever the upload rate.
type cutReader struct {
	seq uint64
	at  time.Time
	dbs int
	cur []backup.Entry
	// done holds the chunks of the batch being read; they go back to free
	// when the next batch is taken (Next's slices are valid until the
	// following call).
	done     [][]byte
	free     chan []byte
	bufMax   int
	spoolDir string

	mu        sync.Mutex
	cond      *sync.Cond
	mem       []entryBatch // mu: batches waiting in memory, oldest first
	memBytes  int          // mu
	spoolW    *spillFile   // producer only; nil until first needed
	spoolR    *bufio.Reader
	spoolRF   *os.File
	spoolN    int   // mu: batches in the spool file not read yet
	produced  bool  // mu: the producer is done
	err       error // mu: the producer's error, set with produced
	closed    bool  // mu: Close was called
	spilled   bool  // mu: the under-lock spill file was used
	spooled   bool  // mu: the spool file was used
	closeOnce sync.Once
}

func batchBytes(b entryBatch) int {
	n := 0
	for i := range b.entries {
		n += len(b.entries[i].Key) + len(b.entries[i].Value) + 48
	}
	return n
}

// send queues a batch for Next without waiting for it: in memory while
// the buffer has room, else appended to the spool file (outside any lock;
// only the producer writes it).
func (r *cutReader) send(ctx context.Context, batch entryBatch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	size := batchBytes(batch)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errClosed
	}
	if r.memBytes+size <= r.bufMax || (len(r.mem) == 0 && r.spoolN == 0) {
		r.mem = append(r.mem, batch)
		r.memBytes += size
		r.cond.Signal()
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	if err := r.spoolBatch(batch); err != nil {
		return fmt.Errorf("persistsrc: spool file: %w", err)
	}
	r.mu.Lock()
	r.spoolN++
	r.spooled = true
	r.cond.Signal()
	r.mu.Unlock()
	return nil
}

// spoolBatch appends a batch to the spool file (a count, then records)
// and flushes it, so that Next may read it at once. Producer only.
func (r *cutReader) spoolBatch(b entryBatch) error {
	if r.spoolW == nil {
		w, err := newSpillFile(r.spoolDir)
		if err != nil {
			return err
		}
		rf, err := os.Open(w.f.Name())
		if err != nil {
			w.remove()
			return err
		}
		os.Remove(w.f.Name()) // both descriptors stay valid
		r.mu.Lock()
		r.spoolW, r.spoolRF, r.spoolR = w, rf, bufio.NewReaderSize(rf, 1<<20)
		r.mu.Unlock()
	}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(b.entries)))
	r.spoolW.w.Write(n[:])
	for i := range b.entries {
		e := &b.entries[i]
		r.spoolW.add(e.DB, e.Slot, string(e.Key), e.Expire, spillPayload, e.Value)
	}
	err := r.spoolW.w.Flush()
	for _, c := range b.chunks { // the entries are on disk now
		select {
		case r.free <- c[:0]:
		default:
		}
	}
	return err
}

// readSpooled reads the next batch written by spoolBatch.
func (r *cutReader) readSpooled() ([]backup.Entry, error) {
	var n [4]byte
	if _, err := io.ReadFull(r.spoolR, n[:]); err != nil {
		return nil, fmt.Errorf("persistsrc: read spool file: %w", err)
	}
	out := make([]backup.Entry, 0, binary.LittleEndian.Uint32(n[:]))
	// Keys and payloads go to recycled arena chunks (released with the
	// batch, as for batches from memory): no per-value garbage.
	a := arena{free: r.free}
	defer func() { r.done = append(r.done, a.chunks...) }()
	for range cap(out) {
		e, err := readSpillRecord(r.spoolR, a.alloc)
		if err != nil {
			return nil, fmt.Errorf("persistsrc: read spool file: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// finish records the producer's end.
func (r *cutReader) finish(err error, spilled bool) {
	r.mu.Lock()
	r.produced, r.err, r.spilled = true, err, spilled
	if r.spoolW != nil {
		r.spoolW.f.Close()
	}
	r.cond.Broadcast()
	r.mu.Unlock()
}

func (r *cutReader) Seq() uint64     { return r.seq }
func (r *cutReader) Time() time.Time { return r.at }
func (r *cutReader) DBs() int        { return r.dbs }

func (r *cutReader) Next() (backup.Entry, error) {
	for len(r.cur) == 0 {
		for _, c := range r.done {
			select {
			case r.free <- c[:0]:
			default:
			}
		}
		r.done = r.done[:0]
		r.mu.Lock()
		for len(r.mem) == 0 && r.spoolN == 0 && !r.produced && !r.closed {
			r.cond.Wait()
		}
		switch {
		case r.closed:
			r.mu.Unlock()
			return backup.Entry{}, errClosed
		case len(r.mem) > 0:
			b := r.mem[0]
			r.mem[0] = entryBatch{}
			r.mem = r.mem[1:]
			r.memBytes -= batchBytes(b)
			r.mu.Unlock()
			r.cur, r.done = b.entries, append(r.done, b.chunks...)
		case r.spoolN > 0:
			r.spoolN--
			r.mu.Unlock()
			entries, err := r.readSpooled()
			if err != nil {
				return backup.Entry{}, err
			}
			r.cur = entries
		default:
			err := r.err
			r.mu.Unlock()
			if err != nil {
				return backup.Entry{}, err
			}
			return backup.Entry{}, io.EOF
		}
	}
	e := r.cur[0]
	r.cur = r.cur[1:]
	return e, nil
}

// Close stops the producer (at its next batch) and waits for it, so the
// cut is closed and the spill files are gone when Close returns.
func (r *cutReader) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.cond.Broadcast()
		for !r.produced {
			r.cond.Wait()
		}
		r.mem = nil
		if r.spoolRF != nil {
			r.spoolRF.Close()
		}
		r.mu.Unlock()
	})
	return nil
}

// spillFile holds entries delivered while the held buffer was full:
// db(2) slot(2) expire(8) keylen(4) kind(1) key vallen(4) value, little
// endian; kind says whether value is a string's bytes or a DUMP payload.
// It lives only for one backup and is removed afterwards.
type spillFile struct {
	f *os.File
	w *bufio.Writer
}

func newSpillFile(dir string) (*spillFile, error) {
	f, err := os.CreateTemp(dir, "backup-spill-*.tmp")
	if err != nil {
		return nil, err
	}
	return &spillFile{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// Spilled value kinds.
const (
	spillRawString = 'S'
	spillPayload   = 'P'
)

func (s *spillFile) add(db, slot int, key string, expire int64, kind byte, payload []byte) error {
	var h [17]byte
	h[16] = kind
	binary.LittleEndian.PutUint16(h[0:], uint16(db))
	binary.LittleEndian.PutUint16(h[2:], uint16(slot))
	binary.LittleEndian.PutUint64(h[4:], uint64(expire))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(key)))
	s.w.Write(h[:])
	s.w.WriteString(key)
	var l [4]byte
	binary.LittleEndian.PutUint32(l[:], uint32(len(payload)))
	s.w.Write(l[:])
	_, err := s.w.Write(payload)
	return err
}

// replay reads the spilled entries back in batches.
func (s *spillFile) replay(fn func([]backup.Entry) error) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(s.f, 1<<20)
	var batch []backup.Entry
	for {
		e, err := readSpillRecord(br, func(n int) []byte { return make([]byte, n) })
		if err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("persistsrc: read spill file: %w", err)
		}
		batch = append(batch, e)
		if len(batch) == stepKeys {
			if err := fn(batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// readSpillRecord reads one record written by spillFile.add; io.EOF only
// at a record boundary.
// alloc returns the buffers for the key and the value.
func readSpillRecord(br *bufio.Reader, alloc func(int) []byte) (backup.Entry, error) {
	var h [17]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return backup.Entry{}, err
	}
	key := alloc(int(binary.LittleEndian.Uint32(h[12:])))
	var l [4]byte
	if _, err := io.ReadFull(br, key); err != nil {
		return backup.Entry{}, noEOF(err)
	}
	if _, err := io.ReadFull(br, l[:]); err != nil {
		return backup.Entry{}, noEOF(err)
	}
	val := alloc(int(binary.LittleEndian.Uint32(l[:])))
	if _, err := io.ReadFull(br, val); err != nil {
		return backup.Entry{}, noEOF(err)
	}
	if h[16] == spillRawString {
		val = rdb.AppendStringPayload(alloc(len(val) + 20)[:0], val)
	}
	return backup.Entry{DB: int(binary.LittleEndian.Uint16(h[0:])), Slot: int(binary.LittleEndian.Uint16(h[2:])),
		Expire: int64(binary.LittleEndian.Uint64(h[4:])), Key: key, Value: val}, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (s *spillFile) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}
