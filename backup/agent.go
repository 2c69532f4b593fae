package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// Options configure an Agent.
type Options struct {
	Store ObjectStore
	// Target is the target URL, shown in INFO (never holds credentials).
	Target    string
	Key       *Key
	Snapshots SnapshotSource
	// Log, when set, is shipped every ShipInterval.
	Log      LogSource
	Identity Identity
	// Topology, when set, is recorded at each backup and when it changes.
	Topology TopologySource
	// Schedule is a cron spec (robfig/cron: five fields or a descriptor
	// such as "@every 1h"); "" schedules nothing.
	Schedule     string
	ShipInterval time.Duration
	Retention    RetentionPolicy
	Logger       *slog.Logger
	Now          func() time.Time
	// MaxBackoff caps the delay between shipping retries (default 1 min).
	MaxBackoff time.Duration
	// MaxBandwidth caps a full backup's upload, in stored bytes per second
	// (0 = unlimited); log shipping is never capped. See throttledStore.
	MaxBandwidth int64
}

// ParseSchedule checks a cron spec as the agent reads it.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("backup: bad schedule %q: %v", spec, err)
	}
	return s, nil
}

// Agent runs a node's backups: scheduled and on-demand full backups, log
// shipping, topology history and retention. See the package doc.
type Agent struct {
	o   Options
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	rate   atomic.Int64 // MaxBandwidth, changed by SetMaxBandwidth
	wg     sync.WaitGroup
	kick   chan struct{} // wakes the shipper

	mu sync.Mutex // guards the fields below; never held during I/O
	st Status
	// running is the ID of the backup in progress ("" when none).
	running  string
	done     chan struct{} // closed when the running backup ends
	cron     *cron.Cron
	cronID   cron.EntryID
	topoHash string
	list     []string // cached SVBACKUP LIST lines
	// shipped is the last log sequence known to be in the store; valid
	// when shippedKnown.
	shipped      uint64
	shippedKnown bool
	needFull     bool // a log gap needs a full backup
	pendingSince time.Time
	lastResult   map[string]error
	lastManifest *Manifest
	// nodeID is the node ID read when the agent was built, so StartBackup
	// never calls Identity (it may run under the node lock).
	nodeID string
}

// Status is what INFO backup shows.
type Status struct {
	Target          string
	Schedule        string
	Encrypted       bool
	InProgress      bool
	CurrentID       string
	LastOK          bool
	Attempts        int64
	Successes       int64
	Failures        int64
	LastSuccessTime time.Time
	LastSuccessID   string
	LastFailureTime time.Time
	LastFailure     string
	LastBytes       int64
	LastKeys        int64
	LastDuration    time.Duration
	Shipping        bool
	ShippedSeq      uint64
	LocalSeq        uint64
	ShipOK          bool
	ShipFailures    int64
	LastShipError   string
	LastShipTime    time.Time
	ShippedObjects  int64
	ShippedBytes    int64
	LogGaps         int64
	LagSeconds      float64
	MaxBandwidth    int64
}

// NewAgent checks the options and builds an agent; Start runs it. It
// calls o.Identity once (so not under the node lock).
func NewAgent(o Options) (*Agent, error) {
	if o.Store == nil || o.Snapshots == nil || o.Identity == nil {
		return nil, errors.New("backup: agent needs a store, a snapshot source and an identity")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ShipInterval <= 0 {
		o.ShipInterval = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &Agent{o: o, log: log, kick: make(chan struct{}, 1), lastResult: map[string]error{}}
	a.st.Target = o.Target
	a.st.Encrypted = o.Key != nil
	a.st.LastOK = true
	a.st.ShipOK = true
	a.st.Shipping = o.Log != nil
	a.nodeID = o.Identity().NodeID
	a.rate.Store(o.MaxBandwidth)
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if err := a.SetSchedule(o.Schedule); err != nil {
		return nil, err
	}
	return a, nil
}

// Start begins shipping and scheduling. It does no I/O itself: the first
// contact with the store happens in the background, so an unreachable
// store never delays the node.
func (a *Agent) Start() {
	a.mu.Lock()
	if a.cron != nil {
		a.cron.Start()
	}
	a.mu.Unlock()
	a.wg.Add(1)
	go a.shipLoop()
}

// Close stops the agent, waiting for a running backup to end (it is
// cancelled).
func (a *Agent) Close() {
	a.mu.Lock()
	c := a.cron
	a.mu.Unlock()
	if c != nil {
		<-c.Stop().Done()
	}
	a.cancel()
	a.wg.Wait()
}

// SetSchedule replaces the cron schedule ("" = none).
func (a *Agent) SetSchedule(spec string) error {
	spec = strings.TrimSpace(spec)
	var sched cron.Schedule
	if spec != "" {
		var err error
		if sched, err = ParseSchedule(spec); err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cron == nil {
		a.cron = cron.New()
	}
	if a.cronID != 0 {
		a.cron.Remove(a.cronID)
		a.cronID = 0
	}
	if sched != nil {
		a.cronID = a.cron.Schedule(sched, cron.FuncJob(func() {
			if _, err := a.StartBackup(); err != nil && !errors.Is(err, ErrBackupInProgress) {
				a.log.Warn("scheduled backup not started", "err", err)
			}
		}))
	}
	a.o.Schedule = spec
	a.st.Schedule = spec
	return nil
}

// SetRetention replaces the retention policy.
func (a *Agent) SetRetention(p RetentionPolicy) {
	a.mu.Lock()
	a.o.Retention = p
	a.mu.Unlock()
}

// SetMaxBandwidth changes the full-backup upload cap (bytes per second, 0
// = unlimited); a running backup follows it from its next read.
func (a *Agent) SetMaxBandwidth(n int64) { a.rate.Store(max(n, 0)) }

// SetShipInterval changes how often the log is shipped.
func (a *Agent) SetShipInterval(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	a.mu.Lock()
	a.o.ShipInterval = d
	a.mu.Unlock()
	a.Kick()
}

// Kick makes the shipper run now.
func (a *Agent) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// StartBackup starts a full backup in the background and returns its ID;
// ErrBackupInProgress if one runs. It does no I/O and does not call the
// Identity or sources, so it may be called under the node lock.
func (a *Agent) StartBackup() (string, error) {
	a.mu.Lock()
	if a.running != "" {
		a.mu.Unlock()
		return "", ErrBackupInProgress
	}
	if a.ctx.Err() != nil {
		a.mu.Unlock()
		return "", errors.New("backup: agent closed")
	}
	id := newBackupID(a.o.Now(), a.nodeID)
	a.running = id
	a.done = make(chan struct{})
	a.st.InProgress = true
	a.st.CurrentID = id
	a.st.Attempts++
	done := a.done
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.runBackup(id)
		close(done)
	}()
	return id, nil
}

// BackupNow runs a full backup and waits for it.
func (a *Agent) BackupNow(ctx context.Context) (*Manifest, error) {
	id, err := a.StartBackup()
	if err != nil {
		return nil, err
	}
	return a.Wait(ctx, id)
}

// Wait waits for the backup started as id and returns its manifest.
func (a *Agent) Wait(ctx context.Context, id string) (*Manifest, error) {
	a.mu.Lock()
	done := a.done
	running := a.running
	a.mu.Unlock()
	if running == id && done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err, ok := a.lastResult[id]; ok && err != nil {
		return nil, err
	}
	if m := a.lastManifest; m != nil && m.BackupID == id {
		return m, nil
	}
	return nil, fmt.Errorf("backup: unknown backup %s", id)
}

func (a *Agent) runBackup(id string) {
	start := time.Now()
	now := func() time.Time { return a.o.Now() }
	// The ID was fixed when the request came in; FullBackup derives its
	// own from the same clock, so pass a clock pinned at that instant for
	// the start.
	t0, _ := BackupTime(id)
	first := true
	pinned := func() time.Time {
		if first {
			first = false
			return t0
		}
		return now()
	}
	m, err := FullBackup(a.ctx, throttledStore{a.o.Store, &a.rate}, a.o.Key, a.o.Snapshots, a.o.Identity, pinned, a.log)
	var pruneErr error
	if err == nil {
		a.writeTopology(true)
		a.mu.Lock()
		pol := a.o.Retention
		a.mu.Unlock()
		res, perr := Prune(a.ctx, a.o.Store, a.o.Key, m.NodeID, pol, a.o.Now(), "")
		pruneErr = perr
		if perr == nil && (len(res.Backups) > 0 || res.LogObjects > 0 || len(res.Incomplete) > 0) {
			a.log.Info("backup retention", "removed_backups", len(res.Backups), "removed_log_objects", res.LogObjects, "removed_incomplete", len(res.Incomplete))
		}
		a.refreshList()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.running = ""
	a.st.InProgress = false
	a.st.CurrentID = ""
	a.lastResult = map[string]error{id: err}
	if err != nil {
		a.st.LastOK = false
		a.st.Failures++
		a.st.LastFailureTime = a.o.Now()
		a.st.LastFailure = err.Error()
		a.log.Warn("backup failed", "id", id, "err", err)
		return
	}
	a.lastManifest = m
	a.st.LastOK = true
	a.st.Successes++
	a.st.LastSuccessTime = a.o.Now()
	a.st.LastSuccessID = m.BackupID
	a.st.LastBytes = m.Size()
	a.st.LastKeys = m.Keys
	a.st.LastDuration = time.Since(start)
	if pruneErr != nil {
		a.st.LastFailure = "retention: " + pruneErr.Error()
		a.log.Warn("backup retention failed", "err", pruneErr)
	}
	if a.needFull && m.SnapshotSeq >= a.shipped {
		a.needFull = false
	}
	if !a.shippedKnown || m.SnapshotSeq > a.shipped {
		a.shipped, a.shippedKnown = m.SnapshotSeq, true
		a.st.ShippedSeq = m.SnapshotSeq
	}
	if a.o.Log != nil {
		a.o.Log.Retain(a.shipped)
	}
	a.log.Info("backup complete", "id", m.BackupID, "keys", m.Keys, "bytes", m.Size(), "seq", m.SnapshotSeq, "duration", time.Since(start))
}

// refreshList rebuilds the cached list of this node's backups.
func (a *Agent) refreshList() {
	ident := a.o.Identity()
	cat, err := readCatalogPrefix(a.ctx, a.o.Store, nodeDir(ident.NodeID), a.o.Key)
	if err != nil {
		return
	}
	var lines []string
	for _, b := range cat.Backups {
		if !b.Complete || b.Manifest == nil {
			continue
		}
		lines = append(lines, FormatBackupLine(b.Manifest))
	}
	a.mu.Lock()
	a.list = lines
	a.mu.Unlock()
}

// FormatBackupLine renders one backup as SVBACKUP LIST and the CLI show it.
func FormatBackupLine(m *Manifest) string {
	enc := "plain"
	if m.Encryption != nil {
		enc = "encrypted"
	}
	return fmt.Sprintf("%s node=%s role=%s slots=%s seq=%d keys=%d bytes=%d time=%s %s",
		m.BackupID, m.NodeID, m.Role, FormatSlots(m.Slots), m.SnapshotSeq, m.Keys, m.Size(),
		m.TimeRange.Snapshot.Format(time.RFC3339), enc)
}

// FormatSlots renders slot ranges as "0-5460,10923".
func FormatSlots(rs [][2]int) string {
	if len(rs) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		if r[0] == r[1] {
			fmt.Fprintf(&b, "%d", r[0])
		} else {
			fmt.Fprintf(&b, "%d-%d", r[0], r[1])
		}
	}
	return b.String()
}

// List returns the cached list of this node's complete backups, oldest
// first (refreshed at start and after each backup). No I/O.
func (a *Agent) List() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.list...)
}

// Status returns a copy of the agent's status. No I/O; it reads the log
// source's LastSeq only.
func (a *Agent) Status() Status {
	a.mu.Lock()
	st := a.st
	pending := a.pendingSince
	a.mu.Unlock()
	st.MaxBandwidth = a.rate.Load()
	if a.o.Log != nil {
		st.LocalSeq = a.o.Log.LastSeq()
		if !pending.IsZero() && st.LocalSeq > st.ShippedSeq {
			st.LagSeconds = a.o.Now().Sub(pending).Seconds()
		}
	}
	return st
}

// shipLoop ships the log every interval, retrying with backoff.
func (a *Agent) shipLoop() {
	defer a.wg.Done()
	a.refreshList()
	failures := 0
	for {
		a.mu.Lock()
		interval := a.o.ShipInterval
		a.mu.Unlock()
		delay := interval
		if failures > 0 {
			delay = interval << min(failures, 10)
			if delay > a.o.MaxBackoff || delay <= 0 {
				delay = a.o.MaxBackoff
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-a.ctx.Done():
			t.Stop()
			return
		case <-a.kick:
			t.Stop()
		case <-t.C:
		}
		a.writeTopology(false)
		if a.o.Log == nil {
			continue
		}
		if err := a.shipOnce(); err != nil {
			failures++
			a.mu.Lock()
			a.st.ShipOK = false
			a.st.ShipFailures++
			a.st.LastShipError = err.Error()
			a.mu.Unlock()
			if failures == 1 || failures%10 == 0 {
				a.log.Warn("log shipping failed; retrying with backoff (local log kept until shipped)", "err", err, "failures", failures)
			}
			continue
		}
		if failures > 0 {
			a.log.Info("log shipping recovered", "after_failures", failures)
		}
		failures = 0
	}
}

// ShipNow ships everything written so far (tests and shutdown).
func (a *Agent) ShipNow(ctx context.Context) error { return a.shipOnce() }

func (a *Agent) shipOnce() error {
	ident := a.o.Identity()
	a.mu.Lock()
	known, shipped, needFull := a.shippedKnown, a.shipped, a.needFull
	a.mu.Unlock()
	if !known {
		// Learn where shipping stands from the store: the newest log object
		// or, failing that, the newest backup's snapshot.
		los, err := ListLog(a.ctx, a.o.Store, ident.NodeID)
		if err != nil {
			return err
		}
		cat, err := readCatalogPrefix(a.ctx, a.o.Store, backupsDir(ident.NodeID), a.o.Key)
		if err != nil {
			return err
		}
		var newest *Manifest
		for i := range cat.Backups {
			if cat.Backups[i].Manifest != nil {
				newest = cat.Backups[i].Manifest
			}
		}
		if newest == nil {
			// Nothing to roll forward from yet: the first full backup
			// starts the chain.
			if _, err := a.StartBackup(); err != nil && !errors.Is(err, ErrBackupInProgress) {
				return err
			}
			return nil
		}
		shipped = newest.SnapshotSeq
		if n := len(los); n > 0 && los[n-1].LastSeq > shipped {
			shipped = los[n-1].LastSeq
		}
		a.mu.Lock()
		if !a.shippedKnown || shipped > a.shipped {
			a.shipped, a.shippedKnown = shipped, true
			a.st.ShippedSeq = shipped
		}
		shipped = a.shipped
		a.mu.Unlock()
		a.o.Log.Retain(shipped)
	}
	if needFull {
		if _, err := a.StartBackup(); err != nil && !errors.Is(err, ErrBackupInProgress) {
			return err
		}
	}
	upTo := a.o.Log.LastSeq()
	a.mu.Lock()
	if upTo > shipped && a.pendingSince.IsZero() {
		a.pendingSince = a.o.Now()
	}
	a.mu.Unlock()
	if upTo <= shipped {
		a.markShipped(shipped, 0, 0)
		return nil
	}
	last, n, err := ShipLog(a.ctx, a.o.Store, a.o.Key, a.o.Log, ident.NodeID, shipped, upTo)
	if last > shipped {
		a.markShipped(last, n, upTo)
	}
	if errors.Is(err, ErrLogGap) {
		a.mu.Lock()
		if a.shipped > shipped {
			// A full backup finished meanwhile and moved the chain on.
			a.mu.Unlock()
			return nil
		}
		if !a.needFull {
			a.st.LogGaps++
			a.needFull = true
			a.log.Warn("log records after the last shipped one are gone locally; taking a full backup", "shipped", shipped, "err", err)
		}
		a.mu.Unlock()
		if _, err := a.StartBackup(); err != nil && !errors.Is(err, ErrBackupInProgress) {
			return err
		}
		return nil
	}
	return err
}

func (a *Agent) markShipped(last uint64, n int64, upTo uint64) {
	a.mu.Lock()
	if last > a.shipped {
		a.shipped = last
		a.st.ShippedSeq = last
		a.st.ShippedObjects++
		a.st.ShippedBytes += n
	}
	if a.shipped >= upTo || upTo == 0 {
		a.pendingSince = time.Time{}
	}
	a.st.ShipOK = true
	a.st.LastShipError = ""
	a.st.LastShipTime = a.o.Now()
	shipped := a.shipped
	a.mu.Unlock()
	a.o.Log.Retain(shipped)
}

// writeTopology records the topology when it changed (or always when
// force).
func (a *Agent) writeTopology(force bool) {
	if a.o.Topology == nil {
		return
	}
	t := a.o.Topology()
	b, _ := json.Marshal(t)
	h := string(b)
	a.mu.Lock()
	same := h == a.topoHash
	a.mu.Unlock()
	if same && !force {
		return
	}
	ident := a.o.Identity()
	if err := WriteTopology(a.ctx, a.o.Store, ident.NodeID, t, a.o.Now()); err != nil {
		return
	}
	a.mu.Lock()
	a.topoHash = h
	a.mu.Unlock()
}

// Store returns the agent's object store.
func (a *Agent) Store() ObjectStore { return a.o.Store }
