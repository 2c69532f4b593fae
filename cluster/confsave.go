package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Saving nodes.conf off the cluster lock.
//
// Redis never writes nodes.conf where a change happens: the change asks
// for a save (clusterDoBeforeSleep(CLUSTER_TODO_SAVE_CONFIG), plus
// CLUSTER_TODO_FSYNC_CONFIG when it must reach stable storage) and
// clusterBeforeSleep writes the file once per event-loop iteration, for
// every change of the iteration, before any reply of the iteration is
// sent. slotvault does the same with generations:
//
//   - a change calls requestSaveLocked (cluster lock held), which numbers
//     it (confGen) and wakes the saver goroutine;
//   - the saver renders the latest configuration under the read lock and
//     writes it with no cluster lock held, covering every generation
//     requested meanwhile in one write (and one fsync when any of them
//     asked for one);
//   - a caller that must not answer before its change is in the file
//     (CLUSTER SETSLOT) holds the returned ConfigTicket and waits for it
//     (WaitConfig) once the locks are released; the node waits once per
//     pipelined batch, as Redis's beforeSleep does. A waiter that finds no
//     save running saves itself (group commit: no hand-off to the saver
//     goroutine when uncontended, one write for all waiters otherwise).
//
// Rare changes whose effect must be on disk before the next step (the
// failover vote, CLUSTER SAVECONFIG, the admin commands, start and close)
// still save synchronously (saveConfigNowLocked), through the same writer
// so that an older rendering never overwrites a newer one.
//
// Lock order: cluster lock, then confWriter.mu. The saver never holds
// both.

// ConfigTicket identifies a configuration change waiting to be saved. The
// zero ticket is already satisfied.
type ConfigTicket struct {
	gen  uint64
	sync bool
}

// Max returns the later of two tickets (fsync if either needs it).
func (t ConfigTicket) Max(o ConfigTicket) ConfigTicket {
	if o.gen > t.gen {
		t.gen = o.gen
	}
	t.sync = t.sync || o.sync
	return t
}

// IsZero reports whether t waits for nothing.
func (t ConfigTicket) IsZero() bool { return t.gen == 0 }

// confWriter serialises the writes of nodes.conf and records which
// generation the file (and stable storage) holds.
type confWriter struct {
	path string

	mu       sync.Mutex
	lastText string // content of the file after the last write
	written  uint64 // generation in the file (or a newer one)
	synced   uint64 // generation on stable storage (or a newer one)
	failGen  uint64 // generation whose write failed, with err
	err      error
	notify   chan struct{} // closed and replaced after each write attempt
	// busy: a saveLatest is rendering or writing; others wait for it
	// rather than render the same state again.
	busy bool
	// f is nodes.conf open for in-place writes (nil until the first one,
	// and after each rename).
	f *os.File
}

func newConfWriter(path string) *confWriter {
	return &confWriter{path: path, notify: make(chan struct{})}
}

// write puts text, the rendering of generation gen, in the file: through
// a temp file, fsync, rename and fsync of the directory when fsync, in
// place otherwise (overwriteLocked: a killed process still finds the
// whole new content; the kernel flushes it later). A rendering older than what the
// file holds is not written; when it asked for fsync, the newer content is
// synced instead. force rewrites identical content (CLUSTER SAVECONFIG).
func (w *confWriter) write(text string, gen uint64, fsync, force bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.wakeLocked()
	if gen <= w.written && !force {
		if !fsync || w.synced >= w.written {
			return nil
		}
		if err := syncFileAndDir(w.path); err != nil {
			return w.failLocked(gen, err)
		}
		w.synced = w.written
		return nil
	}
	wasSynced := w.synced == w.written
	var err error
	switch {
	case text == w.lastText && !force && (!fsync || wasSynced):
		// Nothing new to write or flush.
	case text == w.lastText && !force:
		err = syncFileAndDir(w.path)
	case fsync:
		w.closeFileLocked() // the rename replaces the file's inode
		err = writeFileAtomic(w.path, []byte(text))
	default:
		err = w.overwriteLocked(text)
	}
	if err != nil {
		return w.failLocked(gen, err)
	}
	same := text == w.lastText && !force
	w.lastText = text
	if gen > w.written {
		w.written = gen
	}
	if fsync || (same && wasSynced) {
		w.synced = w.written
	}
	if w.failGen <= gen {
		w.err, w.failGen = nil, 0
	}
	return nil
}

func (w *confWriter) failLocked(gen uint64, err error) error {
	err = fmt.Errorf("cluster: saving %s: %w", w.path, err)
	w.err, w.failGen = err, gen
	return err
}

func (w *confWriter) wakeLocked() {
	close(w.notify)
	w.notify = make(chan struct{})
}

// writtenGen is the generation the file holds.
func (w *confWriter) writtenGen() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written
}

// forget makes the next write rewrite the file whatever its content
// (after loading: the file on disk may be a Redis one).
func (w *confWriter) forget() {
	w.mu.Lock()
	w.lastText = ""
	w.mu.Unlock()
}

// requestSaveLocked numbers a configuration change and wakes the saver.
// fsync asks for the change to reach stable storage.
func (c *Cluster) requestSaveLocked(fsync bool) ConfigTicket {
	t := c.requestSaveWaitedLocked(fsync)
	select {
	case c.saveKick <- struct{}{}:
	default: // a save is already pending: it will cover this change
	}
	return t
}

// requestSaveWaitedLocked is requestSaveLocked for a change whose caller
// waits for the ticket (WaitConfig saves it): the saver is not woken, so
// the state is not rendered twice. Should nobody wait, the cron's
// retrySaveLocked saves it within a tick.
func (c *Cluster) requestSaveWaitedLocked(fsync bool) ConfigTicket {
	c.confGen++
	if fsync {
		c.confSyncGen = c.confGen
	}
	return ConfigTicket{gen: c.confGen, sync: fsync}
}

// flushDirtyLocked turns the changes marked with confDirty (gossip, cron,
// failover) into a save request with fsync, as Redis asks for
// CLUSTER_TODO_SAVE_CONFIG|CLUSTER_TODO_FSYNC_CONFIG for them.
func (c *Cluster) flushDirtyLocked() {
	if c.confDirty {
		c.confDirty = false
		c.requestSaveLocked(true)
	}
}

// saveConfigNowLocked writes nodes.conf before returning, with fsync.
// force rewrites it even when unchanged.
func (c *Cluster) saveConfigNowLocked(force bool) error {
	c.confDirty = false
	c.confGen++
	c.confSyncGen = c.confGen
	return c.conf.write(c.configTextLocked(), c.confGen, true, force)
}

// saver is the goroutine that writes nodes.conf for requestSaveLocked.
func (c *Cluster) saver() {
	defer c.wg.Done()
	for {
		select {
		case <-c.closed:
			return
		case <-c.saveKick:
		}
		c.saveLatest()
	}
}

// saveLatest renders the configuration under the read lock and writes it
// without the lock. One runs at a time: a caller arriving during a save
// waits for it, then saves whatever changed meanwhile (group commit).
func (c *Cluster) saveLatest() {
	w := c.conf
	w.mu.Lock()
	for w.busy {
		ch := w.notify
		w.mu.Unlock()
		<-ch
		w.mu.Lock()
	}
	w.busy = true
	w.mu.Unlock()
	c.mu.RLock()
	gen, syncGen := c.confGen, c.confSyncGen
	text := c.configTextLocked()
	c.mu.RUnlock()
	w.mu.Lock()
	fsync := syncGen > w.synced
	w.mu.Unlock()
	err := w.write(text, gen, fsync, false)
	w.mu.Lock()
	w.busy = false
	w.wakeLocked()
	w.mu.Unlock()
	if err != nil {
		c.log.Error("can't update cluster config file", "err", err)
	}
}

// WaitConfig blocks until the change t stands for is in nodes.conf (and on
// stable storage when it asked for fsync). It must be called without the
// cluster lock; the node calls it without its own lock. It returns the
// write's error when saving failed.
func (c *Cluster) WaitConfig(t ConfigTicket) error {
	w := c.conf
	for {
		w.mu.Lock()
		if w.written >= t.gen && (!t.sync || w.synced >= t.gen) {
			w.mu.Unlock()
			return nil
		}
		if w.err != nil && w.failGen >= t.gen {
			err := w.err
			w.mu.Unlock()
			return err
		}
		if !w.busy {
			// Nobody is saving: save here rather than wake the saver
			// goroutine and wait for it (one hand-off less per SETSLOT).
			w.mu.Unlock()
			select {
			case <-c.closed:
				return ErrClusterClose
			default:
			}
			c.saveLatest()
			continue
		}
		ch := w.notify
		w.mu.Unlock()
		select {
		case <-ch:
		case <-c.closed:
			w.mu.Lock()
			done := w.written >= t.gen && (!t.sync || w.synced >= t.gen)
			w.mu.Unlock()
			if done {
				return nil
			}
			return ErrClusterClose
		}
	}
}

// retrySaveLocked wakes the saver when nodes.conf is behind: the last
// write failed (retried each cron tick) or a waited-for change had no
// waiter.
func (c *Cluster) retrySaveLocked() {
	c.conf.mu.Lock()
	behind := c.conf.written < c.confGen && !c.conf.busy
	c.conf.mu.Unlock()
	if behind {
		select {
		case c.saveKick <- struct{}{}:
		default:
		}
	}
}

// overwriteLocked writes text over the file in place, without fsync, as
// Redis 7.0's clusterSaveConfig does: the content is padded with newlines
// to the old size so that one write(2) replaces all of it (a killed
// process never leaves a mix of old and new lines; blank lines are
// ignored on load), then the file is truncated to the new size. Replacing
// the file through a temp file and a rename costs an inode and a
// directory update each time (measured 0.9 ms against 5 µs here), which
// redis-cli --cluster reshard pays five times per slot. A power failure
// may lose or tear what was written this way, as with Redis; the changes
// that must survive one (epoch bumps, votes, gossip) take the fsync path.
func (w *confWriter) overwriteLocked(text string) error {
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		w.f = f
	}
	fail := func(err error) error {
		w.closeFileLocked()
		return err
	}
	st, err := w.f.Stat()
	if err != nil {
		return fail(err)
	}
	buf := []byte(text)
	if size := st.Size(); size > int64(len(buf)) {
		pad := make([]byte, size)
		copy(pad, buf)
		for i := len(buf); i < len(pad); i++ {
			pad[i] = '\n'
		}
		buf = pad
	}
	if _, err := w.f.WriteAt(buf, 0); err != nil {
		return fail(err)
	}
	if len(buf) > len(text) {
		if err := w.f.Truncate(int64(len(text))); err != nil {
			return fail(err)
		}
	}
	return nil
}

// close releases the open file (Cluster.Close, after the last save).
func (w *confWriter) close() {
	w.mu.Lock()
	w.closeFileLocked()
	w.mu.Unlock()
}

func (w *confWriter) closeFileLocked() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// syncFileAndDir flushes path and its directory to stable storage.
func syncFileAndDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
