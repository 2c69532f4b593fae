package cli

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/node"
	"github.com/slotvault/slotvault/persistence"
	"github.com/slotvault/slotvault/store"
)

// nodeHost adapts a node to persistence.Host.
type nodeHost struct {
	n   *node.Node
	rep *node.Replayer
}

var _ persistence.Host = (*nodeHost)(nil)

func newNodeHost(n *node.Node) *nodeHost { return &nodeHost{n: n, rep: n.NewReplayer()} }

func (h *nodeHost) WithLock(fn func())         { h.n.WithLock(fn) }
func (h *nodeHost) NumDBs() int                { return h.n.Config().Databases }
func (h *nodeHost) DB(i int) *store.DB         { return h.n.DB(i) }
func (h *nodeHost) SetLoading(v bool)          { h.n.SetLoading(v) }
func (h *nodeHost) Config() *config.Config     { return h.n.Config() }
func (h *nodeHost) Dirty() int64               { return h.n.Dirty() }
func (h *nodeHost) LastSave() int64            { return h.n.LastSave() }
func (h *nodeHost) MarkSaved(before, at int64) { h.n.MarkSaved(before, at) }

func (h *nodeHost) Apply(db int, argv [][]byte, nowMs int64) error {
	err := h.rep.ApplyAt(db, argv, nowMs)
	if errors.Is(err, node.ErrReplayCommand) {
		return fmt.Errorf("%w: %w", persistence.ErrReplayFatal, err)
	}
	return err
}

// limitsOf returns the encoding thresholds of a config.
func limitsOf(cfg *config.Config) store.Limits {
	return store.Limits{
		HashMaxListpackEntries: cfg.HashMaxListpackEntries,
		HashMaxListpackValue:   cfg.HashMaxListpackValue,
		SetMaxIntsetEntries:    cfg.SetMaxIntsetEntries,
		ZsetMaxListpackEntries: cfg.ZsetMaxListpackEntries,
		ZsetMaxListpackValue:   cfg.ZsetMaxListpackValue,
		ListMaxListpackSize:    cfg.ListMaxListpackSize,
	}
}

// dumpCodec stores snapshot values in the DUMP format.
func dumpCodec(cfg *config.Config) persistence.Codec {
	return persistence.Codec{
		Encode: node.DumpPayload,
		Decode: func(p []byte) (store.Value, error) { return node.RestorePayload(p, limitsOf(cfg)) },
	}
}

// loadCodec is dumpCodec for loading a node's own snapshot store at start:
// Pebble checksums every block and the manifest sums every entry, so the
// payloads' CRC64 is not computed a second time (persistence check, which
// looks for corruption, keeps dumpCodec).
func loadCodec(cfg *config.Config) persistence.Codec {
	return persistence.Codec{
		Encode: node.DumpPayload,
		Decode: func(p []byte) (store.Value, error) { return node.LoadPayload(p, limitsOf(cfg)) },
	}
}

// startPersistence opens the data directory, starts the node's listener
// (clients get -LOADING meanwhile), loads the dataset and installs the
// write log. It returns the manager, to be closed after the node.
// fs nil means the real file system; dir is the data directory.
func startPersistence(n *node.Node, cfg *config.Config, log *slog.Logger, fs persistence.FS, dir string) (*persistence.Manager, error) {
	host := newNodeHost(n)
	mgr, err := persistence.New(host, persistence.Options{
		FS: fs, Dir: dir, Config: cfg, Codec: loadCodec(cfg), Logger: log,
	})
	if err != nil {
		return nil, err
	}
	n.SetPersistence(mgr)
	n.SetLoading(true)
	if err := n.Start(); err != nil {
		mgr.Close()
		return nil, err
	}
	if _, err := mgr.Recover(); err != nil {
		n.Close()
		mgr.Close()
		return nil, err
	}
	n.WithLock(func() { n.SetWriteLog(mgr.Log()) })
	n.SetLoading(false)
	mgr.Start()
	return mgr, nil
}

// stopPersistence takes the shutdown snapshot when save rules are set (as
// Redis saves on shutdown) and closes the log.
func stopPersistence(n *node.Node, cfg *config.Config, mgr *persistence.Manager, log *slog.Logger) {
	var err error
	n.WithLock(func() {
		// After SHUTDOWN (or a signal, which runs the same path) the node
		// has taken the final snapshot, or skipped it on purpose (NOSAVE).
		if len(n.Config().Save) > 0 && n.Dirty() > 0 && !n.ShutdownHandledLocked() {
			log.Info("saving the final snapshot before exiting")
			err = mgr.SaveLocked()
		}
	})
	if err != nil {
		log.Error("error saving the final snapshot on shutdown", "err", err)
	}
	if err := mgr.Close(); err != nil {
		log.Error("closing persistence", "err", err)
	}
}
