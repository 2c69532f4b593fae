package persistence

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/slotvault/slotvault/config"
)

// snapshotsKept is how many complete snapshots are retained.
const snapshotsKept = 2

// bgsaveRetryDelay is how long after a failed background save the save
// rules wait before trying again (Redis's CONFIG_BGSAVE_RETRY_DELAY).
const bgsaveRetryDelay = 5 * time.Second

// Options configure a Manager.
type Options struct {
	// FS does every file operation; nil means vfs.Default.
	FS vfs.FS
	// Dir is the data directory (config dir); paths below are inside it.
	Dir    string
	Config *config.Config
	Codec  Codec
	Logger *slog.Logger
	// SegmentSize overrides the log segment size (tests).
	SegmentSize int64
}

// Manager runs persistence for one node: it owns the log and the snapshot
// store, recovers at start, serves SAVE / BGSAVE / BGREWRITEAOF, applies
// the save rules and auto-rewrite, retries after write failures, and
// renders INFO persistence.
type Manager struct {
	host   Host
	codec  Codec
	fs     vfs.FS
	dir    string
	log    *slog.Logger
	logDir string
	prefix string
	aofOn  bool

	wal   *Log
	store *SnapshotStore
	prog  LoadProgress

	mu sync.Mutex // guards the fields below; taken under the node lock
	// current background snapshot, nil when none
	job             *snapshotJob
	jobIsRewrite    bool
	jobStart        time.Time
	bgsaveScheduled bool
	rewriteSched    bool
	lastBgsaveOK    bool
	lastBgsaveTry   time.Time
	lastBgsaveSec   int64
	saves           int64
	lastRewriteOK   bool
	lastRewriteSec  int64
	rewrites        int64
	rewriteFails    int64
	baseSize        int64         // aof_base_size: log + snapshot bytes after the last rewrite/load
	snapBytes       int64         // bytes of the newest snapshot
	done            chan struct{} // closed when the running job ends
	segSize         int64

	stop chan struct{}
	wg   sync.WaitGroup
}

// New prepares persistence for host: it creates the directories and opens
// the snapshot store. Call Recover next, then Start.
func New(host Host, opts Options) (*Manager, error) {
	m := &Manager{host: host, codec: opts.Codec, fs: opts.FS, dir: opts.Dir, log: opts.Logger,
		lastBgsaveOK: true, lastRewriteOK: true, lastBgsaveSec: -1, lastRewriteSec: -1, stop: make(chan struct{})}
	if m.fs == nil {
		m.fs = vfs.Default
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := opts.Config
	m.logDir = m.fs.PathJoin(m.dir, cfg.AppendDirname)
	m.prefix = cfg.AppendFilename
	m.aofOn = cfg.AppendOnly
	if err := m.fs.MkdirAll(m.dir, 0o755); err != nil {
		return nil, fmt.Errorf("persistence: create %s: %w", m.dir, err)
	}
	if err := syncDir(m.fs, m.fs.PathDir(m.dir)); err != nil {
		return nil, err
	}
	st, err := OpenSnapshotStore(m.fs, m.fs.PathJoin(m.dir, "snapshots"))
	if err != nil {
		return nil, err
	}
	m.store = st
	// Pebble creates its directory but does not sync the parent.
	if err := syncDir(m.fs, m.dir); err != nil {
		st.Close()
		return nil, err
	}
	m.segSize = opts.SegmentSize
	return m, nil
}

// Progress returns the loading progress (INFO).
func (m *Manager) Progress() *LoadProgress { return &m.prog }

// Log returns the write log (a node.WriteLog); valid after Recover.
func (m *Manager) Log() *Log { return m.wal }

// Store returns the snapshot store.
func (m *Manager) Store() *SnapshotStore { return m.store }

// Recover loads the dataset (the node must be loading, with its listener
// up so clients see -LOADING) and opens the log for appending.
func (m *Manager) Recover() (*RecoverResult, error) {
	var cfg config.Config
	m.host.WithLock(func() { cfg = *m.host.Config() })
	m.prog.Loading.Store(true)
	defer m.prog.Loading.Store(false)
	start := time.Now()
	res, err := Recover(m.host, m.codec, m.store, RecoverOptions{
		FS: m.fs, LogDir: m.logDir, Prefix: m.prefix, UseLog: m.aofOn,
		TrimTorn: cfg.AofLoadTruncated, Logger: m.log, Progress: &m.prog,
	})
	if err != nil {
		return nil, err
	}
	if m.aofOn {
		m.wal, err = OpenLog(LogOptions{FS: m.fs, Dir: m.logDir, Prefix: m.prefix, Policy: cfg.AppendFsync,
			Logger: m.log, SegmentSize: m.segSize}, res.NextSeq)
		if err != nil {
			return nil, err
		}
	} else {
		m.wal = NewOffLog(res.NextSeq)
	}
	if res.Snapshot != nil {
		m.snapBytes = res.Snapshot.Bytes
	}
	m.baseSize = m.snapBytes + m.wal.Size()
	m.log.Info("DB loaded from disk", "seconds", time.Since(start).Seconds(), "keys", res.Keys,
		"replayed", res.Replayed, "next_seq", res.NextSeq)
	return res, nil
}

// Start runs the background loop: everysec fsync, retries after write
// failures, save rules, auto-rewrite and scheduled jobs.
func (m *Manager) Start() {
	m.wg.Add(1)
	go m.loop()
}

// Close stops background work, waits for a running snapshot, and closes
// the log and the store.
func (m *Manager) Close() error {
	close(m.stop)
	m.wg.Wait()
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	if done != nil {
		<-done
	}
	var err error
	if m.wal != nil {
		err = m.wal.Close()
	}
	if cerr := m.store.Close(); err == nil {
		err = cerr
	}
	return err
}

func (m *Manager) loop() {
	defer m.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastSync := time.Now()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		if time.Since(lastSync) >= time.Second {
			lastSync = time.Now()
			m.wal.SyncTick()
		}
		m.host.WithLock(m.cronLocked)
	}
}

// cronLocked applies the save rules and auto-rewrite and starts scheduled
// jobs, as Redis's serverCron. Node lock held.
func (m *Manager) cronLocked() {
	cfg := m.host.Config()
	m.wal.SetPolicy(cfg.AppendFsync)
	m.mu.Lock()
	busy := m.job != nil
	schedSave, schedRewrite := m.bgsaveScheduled, m.rewriteSched
	m.mu.Unlock()
	if busy {
		return
	}
	if schedRewrite {
		m.startBackgroundLocked(true)
		return
	}
	if schedSave {
		m.startBackgroundLocked(false)
		return
	}
	now := time.Now()
	dirty := m.host.Dirty()
	m.mu.Lock()
	lastOK, lastTry := m.lastBgsaveOK, m.lastBgsaveTry
	m.mu.Unlock()
	lastSave := m.host.LastSave()
	for _, r := range cfg.Save {
		if dirty >= int64(r.Changes) && now.Unix()-lastSave > int64(r.Seconds) &&
			(lastOK || now.Sub(lastTry) > bgsaveRetryDelay) {
			m.log.Info("changes in seconds: saving", "changes", r.Changes, "seconds", r.Seconds)
			m.startBackgroundLocked(false)
			return
		}
	}
	if m.aofOn && cfg.AutoAofRewritePercentage > 0 {
		size := m.wal.Size() + m.snapBytesLocked()
		base := m.baseSizeLocked()
		if base <= 0 {
			base = 1
		}
		if size > cfg.AutoAofRewriteMinSize && (size*100/base)-100 >= int64(cfg.AutoAofRewritePercentage) {
			m.log.Info("starting automatic rewriting of the append-only log", "growth_perc", (size*100/base)-100)
			m.startBackgroundLocked(true)
		}
	}
}

func (m *Manager) snapBytesLocked() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snapBytes
}

func (m *Manager) baseSizeLocked() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.baseSize
}

// Save takes a snapshot with the node lock held for its whole duration
// (SAVE). Node lock held.
func (m *Manager) SaveLocked() error {
	m.mu.Lock()
	busy := m.job != nil && !m.jobIsRewrite // SAVE may run beside a rewrite, as in Redis
	m.mu.Unlock()
	if busy {
		return fmt.Errorf("%w", ErrSnapshotInProgress)
	}
	dirty := m.host.Dirty()
	seq := m.wal.LastSeq()
	m.wal.RotateLocked()
	j, err := beginSnapshotLocked(m.host, m.codec, m.store, seq, time.Now().UnixMilli())
	if err != nil {
		m.log.Error("SAVE failed", "err", err)
		return err
	}
	man, err := j.runLocked(func() int64 { return time.Now().UnixMilli() })
	if err != nil {
		m.log.Error("SAVE failed", "err", err)
		return err
	}
	m.finished(man, false, time.Now(), dirty, true)
	m.host.MarkSaved(dirty, time.Now().Unix())
	m.log.Info("DB saved on disk", "keys", man.Keys, "seq", man.Seq)
	return nil
}

// BGSaveLocked starts a background snapshot (BGSAVE [SCHEDULE]) and returns
// the status reply text, or an error reply text. Node lock held.
func (m *Manager) BGSaveLocked(schedule bool) (string, error) {
	m.mu.Lock()
	job, isRewrite := m.job, m.jobIsRewrite
	m.mu.Unlock()
	if job != nil && !isRewrite {
		return "", fmt.Errorf("ERR Background save already in progress")
	}
	if job != nil {
		if !schedule {
			return "", fmt.Errorf("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
		}
		m.mu.Lock()
		m.bgsaveScheduled = true
		m.mu.Unlock()
		return "Background saving scheduled", nil
	}
	if err := m.startBackgroundLocked(false); err != nil {
		return "", fmt.Errorf("ERR %v", err)
	}
	return "Background saving started", nil
}

// BGRewriteLocked starts BGREWRITEAOF: a snapshot, after which the log
// segments before it are deleted. Node lock held.
func (m *Manager) BGRewriteLocked() (string, error) {
	m.mu.Lock()
	job, isRewrite := m.job, m.jobIsRewrite
	m.mu.Unlock()
	if job != nil && isRewrite {
		return "", fmt.Errorf("ERR Background append only file rewriting already in progress")
	}
	if job != nil {
		m.mu.Lock()
		m.rewriteSched = true
		m.mu.Unlock()
		return "Background append only file rewriting scheduled", nil
	}
	if err := m.startBackgroundLocked(true); err != nil {
		return "", fmt.Errorf("ERR %v", err)
	}
	return "Background append only file rewriting started", nil
}

// startBackgroundLocked starts a background snapshot. Node lock held.
func (m *Manager) startBackgroundLocked(rewrite bool) error {
	dirty := m.host.Dirty()
	seq := m.wal.LastSeq()
	m.wal.RotateLocked()
	start := time.Now()
	j, err := beginSnapshotLocked(m.host, m.codec, m.store, seq, start.UnixMilli())
	m.mu.Lock()
	if rewrite {
		m.rewriteSched = false
	} else {
		m.bgsaveScheduled = false
		m.lastBgsaveTry = start
	}
	if err != nil {
		if rewrite {
			m.lastRewriteOK = false
			m.rewriteFails++
		} else {
			m.lastBgsaveOK = false
		}
		m.mu.Unlock()
		m.log.Error("cannot start a background snapshot", "err", err)
		return err
	}
	m.job, m.jobIsRewrite, m.jobStart = j, rewrite, start
	done := make(chan struct{})
	m.done = done
	m.mu.Unlock()
	m.log.Info("background snapshot started", "seq", seq, "rewrite", rewrite, "keys", j.cut.Total)
	go func() {
		defer close(done)
		man, err := j.runBackground(m.host, 256, func() int64 { return time.Now().UnixMilli() })
		if err != nil {
			m.log.Error("background snapshot failed", "err", err)
			m.mu.Lock()
			m.job = nil
			if rewrite {
				m.lastRewriteOK = false
				m.rewriteFails++
				m.lastRewriteSec = int64(time.Since(start).Seconds())
			} else {
				m.lastBgsaveOK = false
				m.lastBgsaveSec = int64(time.Since(start).Seconds())
			}
			m.mu.Unlock()
			return
		}
		m.host.WithLock(func() {
			m.host.MarkSaved(dirty, time.Now().Unix())
			m.finished(man, rewrite, start, dirty, false)
		})
		m.log.Info("background snapshot done", "keys", man.Keys, "seq", man.Seq, "seconds", time.Since(start).Seconds())
	}()
	return nil
}

// finished records a completed snapshot; for a rewrite it drops the log
// before it. Node lock held.
func (m *Manager) finished(man Manifest, rewrite bool, start time.Time, dirty int64, foreground bool) {
	if err := m.store.Prune(snapshotsKept); err != nil {
		m.log.Warn("pruning old snapshots", "err", err)
	}
	m.mu.Lock()
	if !foreground {
		m.job = nil
	}
	m.snapBytes = man.Bytes
	secs := int64(time.Since(start).Seconds())
	if rewrite {
		m.lastRewriteOK = true
		m.rewrites++
		m.rewriteFails = 0
		m.lastRewriteSec = secs
	} else {
		m.lastBgsaveOK = true
		m.saves++
		if !foreground {
			m.lastBgsaveSec = secs
		}
	}
	m.mu.Unlock()
	if rewrite {
		// The log up to man.Seq is redundant now. Segments were rotated
		// when the snapshot started, so whole segments go.
		if err := m.wal.Sync(); err == nil {
			if n, err := m.wal.DropBefore(man.Seq); err != nil {
				m.log.Warn("dropping old log segments", "err", err)
			} else if n > 0 {
				m.log.Info("dropped log segments covered by the snapshot", "segments", n, "seq", man.Seq)
			}
		}
		m.mu.Lock()
		m.baseSize = m.snapBytes + m.wal.Size()
		m.mu.Unlock()
	}
}

// InfoLocked renders the INFO persistence fields after "loading" and the
// fields the node renders itself (see node/persist_info.go for the order).
// Node lock held.
func (m *Manager) InfoLocked(b *strings.Builder) {
	dirty, lastSave := m.host.Dirty(), m.host.LastSave()
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	job := m.job
	var processed, total int64
	if job != nil {
		processed, total = job.cut.Delivered(), job.cut.Total
	}
	fmt.Fprintf(b, "async_loading:0\r\n")
	fmt.Fprintf(b, "current_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\n")
	fmt.Fprintf(b, "current_save_keys_processed:%d\r\ncurrent_save_keys_total:%d\r\n", processed, total)
	fmt.Fprintf(b, "rdb_changes_since_last_save:%d\r\n", dirty)
	fmt.Fprintf(b, "rdb_bgsave_in_progress:%d\r\n", b2i(job != nil && !m.jobIsRewrite))
	fmt.Fprintf(b, "rdb_last_save_time:%d\r\n", lastSave)
	fmt.Fprintf(b, "rdb_last_bgsave_status:%s\r\n", okErr(m.lastBgsaveOK))
	fmt.Fprintf(b, "rdb_last_bgsave_time_sec:%d\r\n", m.lastBgsaveSec)
	cur := int64(-1)
	if job != nil && !m.jobIsRewrite {
		cur = int64(now.Sub(m.jobStart).Seconds())
	}
	fmt.Fprintf(b, "rdb_current_bgsave_time_sec:%d\r\n", cur)
	fmt.Fprintf(b, "rdb_saves:%d\r\n", m.saves)
	fmt.Fprintf(b, "rdb_last_cow_size:0\r\n")
	fmt.Fprintf(b, "rdb_last_load_keys_expired:%d\r\n", m.prog.KeysExpired.Load())
	fmt.Fprintf(b, "rdb_last_load_keys_loaded:%d\r\n", m.prog.KeysLoaded.Load())
	fmt.Fprintf(b, "aof_enabled:%d\r\n", b2i(m.aofOn))
	fmt.Fprintf(b, "aof_rewrite_in_progress:%d\r\n", b2i(job != nil && m.jobIsRewrite))
	fmt.Fprintf(b, "aof_rewrite_scheduled:%d\r\n", b2i(m.rewriteSched))
	fmt.Fprintf(b, "aof_last_rewrite_time_sec:%d\r\n", m.lastRewriteSec)
	cur = -1
	if job != nil && m.jobIsRewrite {
		cur = int64(now.Sub(m.jobStart).Seconds())
	}
	fmt.Fprintf(b, "aof_current_rewrite_time_sec:%d\r\n", cur)
	fmt.Fprintf(b, "aof_last_bgrewrite_status:%s\r\n", okErr(m.lastRewriteOK))
	fmt.Fprintf(b, "aof_rewrites:%d\r\n", m.rewrites)
	fmt.Fprintf(b, "aof_rewrites_consecutive_failures:%d\r\n", m.rewriteFails)
	werr := m.wal != nil && m.wal.Err() != nil
	fmt.Fprintf(b, "aof_last_write_status:%s\r\n", okErr(!werr))
	fmt.Fprintf(b, "aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n")
	if m.aofOn && m.wal != nil {
		fmt.Fprintf(b, "aof_current_size:%d\r\n", m.wal.Size()+m.snapBytes)
		fmt.Fprintf(b, "aof_base_size:%d\r\n", m.baseSize)
		fmt.Fprintf(b, "aof_pending_rewrite:%d\r\n", b2i(m.rewriteSched))
		fmt.Fprintf(b, "aof_buffer_length:%d\r\n", m.wal.BufferLen())
		fmt.Fprintf(b, "aof_pending_bio_fsync:0\r\n")
		fmt.Fprintf(b, "aof_delayed_fsync:0\r\n")
	}
	if m.prog.Loading.Load() {
		writeLoadingInfo(b, &m.prog, now)
	}
}

// writeLoadingInfo renders the loading_* fields.
func writeLoadingInfo(b *strings.Builder, p *LoadProgress, now time.Time) {
	start := p.StartUnix.Load()
	total, loaded := p.TotalBytes.Load(), p.Loaded.Load()
	perc := 0.0
	if total > 0 {
		perc = float64(loaded) * 100 / float64(total)
	}
	elapsed := now.Unix() - start
	eta := int64(1)
	if elapsed > 0 && loaded > 0 {
		eta = int64(float64(total-loaded) / (float64(loaded) / float64(elapsed)))
	}
	fmt.Fprintf(b, "loading_start_time:%d\r\n", start)
	fmt.Fprintf(b, "loading_total_bytes:%d\r\n", total)
	fmt.Fprintf(b, "loading_rdb_used_mem:0\r\n")
	fmt.Fprintf(b, "loading_loaded_bytes:%d\r\n", loaded)
	fmt.Fprintf(b, "loading_loaded_perc:%.2f\r\n", perc)
	fmt.Fprintf(b, "loading_eta_seconds:%d\r\n", eta)
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

func okErr(ok bool) string {
	if ok {
		return "ok"
	}
	return "err"
}
