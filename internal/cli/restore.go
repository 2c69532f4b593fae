package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/glob"
	"github.com/slotvault/slotvault/node"
	"github.com/slotvault/slotvault/persistence"
	"github.com/slotvault/slotvault/restore"
	"github.com/slotvault/slotvault/slots"
	"github.com/slotvault/slotvault/store"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, restoreCmd) }

type restoreOptions struct {
	target, endpoint, credFile, keyFile string
	at                                  string
	out                                 string
	nodeID                              string
	newIDs, plan                        bool
	ports                               string
	into                                string
	slotRange, match                    string
	replace                             bool
	rdbFile                             string
	password                            string
}

func restoreCmd() *cobra.Command {
	var o restoreOptions
	root := &cobra.Command{
		Use:   "restore",
		Short: "Rebuild nodes or a cluster from backups, to any point in time",
		Long: `restore reads the backups written by slotvault backup (see docs/restore.md).

  restore list     restorable time range per node and for the cluster
  restore cluster  write one folder per node (data, nodes.conf, redis.conf) as of --at
  restore node     the same for one node (--node ID)
  restore load     stream the dataset as of --at (or an RDB file) into a running
                   cluster or node of any shape`,
	}
	common := func(c *cobra.Command) {
		c.Flags().StringVar(&o.target, "target", "", "backup target: s3://BUCKET/PREFIX or file:///PATH (required)")
		c.Flags().StringVar(&o.endpoint, "s3-endpoint", "", "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default AWS)")
		c.Flags().StringVar(&o.credFile, "s3-credentials-file", "", "S3 credentials file (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
		c.Flags().StringVar(&o.keyFile, "encryption-key-file", "", "key file (64 hex characters) for encrypted backups")
	}
	withAt := func(c *cobra.Command) {
		c.Flags().StringVar(&o.at, "at", "", "time to restore to, RFC 3339 (default: the latest reachable)")
	}
	list := &cobra.Command{
		Use: "list", Short: "Show the restorable time range, full backups, log coverage and gaps",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := o.source()
			if err != nil {
				return err
			}
			return runRestoreList(ctx(cmd), src, cmd.OutOrStdout())
		},
	}
	common(list)
	mkOut := func(single bool) *cobra.Command {
		use := "cluster"
		short := "Write every node of the cluster as of --at into --out DIR"
		if single {
			use, short = "node", "Write one node (--node ID) as of --at into --out DIR"
		}
		c := &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if single && o.nodeID == "" {
					return errors.New("restore node: --node ID is required")
				}
				src, err := o.source()
				if err != nil {
					return err
				}
				at, err := parseAt(o.at)
				if err != nil {
					return err
				}
				return runRestoreOut(ctx(cmd), src, at, o, cmd.OutOrStdout())
			},
		}
		common(c)
		withAt(c)
		c.Flags().StringVar(&o.out, "out", "", "output folder (must be empty or missing; required)")
		c.Flags().BoolVar(&o.newIDs, "new-ids", false, "give the restored nodes fresh node IDs")
		c.Flags().BoolVar(&o.plan, "plan", false, "dry run: print what would be restored where")
		c.Flags().StringVar(&o.ports, "ports", "", "comma-separated ports for the restored nodes, in the order printed (default: the original ports)")
		if single {
			c.Flags().StringVar(&o.nodeID, "node", "", "node ID to restore (required)")
		}
		return c
	}
	load := &cobra.Command{
		Use: "load", Short: "Stream a dataset (backups as of --at, or --rdb FILE) into a running cluster or node",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.into == "" {
				return errors.New("restore load: --into HOST:PORT is required")
			}
			var f keyFilter
			if o.slotRange != "" {
				s, err := parseSlotRange(o.slotRange)
				if err != nil {
					return err
				}
				f.slots = s
			}
			f.match = o.match
			if o.rdbFile != "" {
				return runLoadRDB(ctx(cmd), o, f, cmd.OutOrStdout())
			}
			src, err := o.source()
			if err != nil {
				return err
			}
			at, err := parseAt(o.at)
			if err != nil {
				return err
			}
			return runLoadBackup(ctx(cmd), src, at, o, f, cmd.OutOrStdout())
		},
	}
	common(load)
	withAt(load)
	load.Flags().StringVar(&o.into, "into", "", "HOST:PORT of a node of the destination cluster (or a single node)")
	load.Flags().StringVar(&o.slotRange, "slots", "", "only keys of slots A-B")
	load.Flags().StringVar(&o.match, "match", "", "only keys matching this glob pattern")
	load.Flags().BoolVar(&o.replace, "replace", false, "overwrite existing keys (default: refuse if any exists)")
	load.Flags().StringVar(&o.rdbFile, "rdb", "", "import this RDB file (written by redis-server) instead of backups")
	load.Flags().StringVar(&o.password, "pass", "", "password of the destination (default $REDISCLI_AUTH)")
	load.Flags().BoolVar(&o.plan, "plan", false, "dry run: count what would be loaded")
	root.AddCommand(list, mkOut(false), mkOut(true), load)
	return root
}

func ctx(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}

func (o *restoreOptions) source() (restore.Source, error) {
	if o.target == "" {
		return restore.Source{}, errors.New("restore: --target is required")
	}
	st, key, err := openCLITarget(o.target, o.endpoint, o.credFile, o.keyFile)
	if err != nil {
		return restore.Source{}, err
	}
	return restore.Source{Store: st, Key: key}, nil
}

func parseAt(s string) (time.Time, error) {
	if s == "" || s == "latest" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("restore: --at %q: want RFC 3339, e.g. 2026-11-26T09:41:07Z", s)
	}
	return t, nil
}

func parseSlotRange(s string) (*restore.SlotSet, error) {
	var ranges [][2]int
	for _, part := range strings.Split(s, ",") {
		a, b, found := strings.Cut(part, "-")
		lo, err1 := strconv.Atoi(a)
		hi := lo
		var err2 error
		if found {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || lo < 0 || hi >= slots.Count || lo > hi {
			return nil, fmt.Errorf("restore: --slots %q: want A-B with 0 <= A <= B <= 16383", s)
		}
		ranges = append(ranges, [2]int{lo, hi})
	}
	return restore.NewSlotSet(ranges), nil
}

func runRestoreList(c context.Context, src restore.Source, w io.Writer) error {
	inv, err := restore.Discover(c, src)
	if err != nil {
		return err
	}
	if len(inv.Nodes) == 0 {
		fmt.Fprintln(w, "no backups in this target")
		return nil
	}
	var clEarliest, clLatest time.Time
	first := true
	for _, n := range inv.Nodes {
		fmt.Fprintf(w, "node %s\n", n.NodeID)
		for _, m := range n.Backups {
			fmt.Fprintf(w, "  full backup %s  snapshot %s  seq %d  %d keys  %d bytes  %s slots %s\n", m.BackupID,
				restore.FormatTime(m.TimeRange.Snapshot), m.SnapshotSeq, m.Keys, m.Size(), m.Role, backup.FormatSlots(m.Slots))
		}
		for _, b := range n.Broken {
			fmt.Fprintf(w, "  unusable backup %s: %v\n", b.BackupID, b.Err)
		}
		if len(n.Log) > 0 {
			fmt.Fprintf(w, "  log: %d objects, records %d..%d\n", len(n.Log), n.Log[0].FirstSeq, n.Log[len(n.Log)-1].LastSeq)
		} else {
			fmt.Fprintln(w, "  log: none")
		}
		for _, g := range n.Gaps() {
			fmt.Fprintf(w, "  gap: log records %d..%d missing\n", g.First, g.Last)
		}
		e, l, why, err := restore.Reach(c, src, n)
		switch {
		case err != nil:
			fmt.Fprintf(w, "  restorable: error: %v\n", err)
		case l.IsZero():
			fmt.Fprintf(w, "  restorable: nothing (%s)\n", why)
		default:
			fmt.Fprintf(w, "  restorable: %s .. %s\n", restore.FormatTime(e), restore.FormatTime(l))
			if why != "" {
				fmt.Fprintf(w, "  chain stops: %s\n", why)
			}
		}
		if err == nil && !l.IsZero() && isMasterNow(inv, n.NodeID) {
			if first || e.After(clEarliest) {
				clEarliest = e
			}
			if first || l.Before(clLatest) {
				clLatest = l
			}
			first = false
		}
	}
	sm := inv.ClusterAt(time.Time{})
	fmt.Fprintf(w, "cluster: %d masters, %d nodes (current epoch %d, standalone %v)\n", len(sm.Masters()), len(sm.Nodes), sm.CurrentEpoch, sm.Standalone)
	if !first {
		fmt.Fprintf(w, "cluster restorable: %s .. %s\n", restore.FormatTime(clEarliest), restore.FormatTime(clLatest))
	}
	return nil
}

func isMasterNow(inv *restore.Inventory, id string) bool {
	for _, m := range inv.ClusterAt(time.Time{}).Masters() {
		if m.ID == id {
			return true
		}
	}
	return false
}

// fetchMasters downloads and verifies the data of every master of the slot
// map at `at`, in parallel. Nothing is written by it.
func fetchMasters(c context.Context, src restore.Source, inv *restore.Inventory, sm *restore.SlotMap, at time.Time, only string, w io.Writer) (map[string]*restore.NodeData, error) {
	masters := sm.Masters()
	out := map[string]*restore.NodeData{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	fp := newFetchProgress(w)
	for _, m := range masters {
		if c := inv.Node(m.ID); c != nil && (only == "" || only == m.ID) {
			fp.expect(c)
		}
	}
	progress := fp.report
	for _, m := range masters {
		if only != "" && m.ID != only {
			continue
		}
		chain := inv.Node(m.ID)
		if chain == nil {
			errs = append(errs, fmt.Errorf("restore: master %s (slots %s) has no backups", m.ID, backup.FormatSlots(m.Slots)))
			continue
		}
		wg.Add(1)
		go func(m backup.TopologyNode) {
			defer wg.Done()
			d, err := restore.Fetch(c, src, chain, at, progress)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[m.ID] = d
		}(m)
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, id := range sortedIDs(out) {
		for _, s := range out[id].Skipped {
			fmt.Fprintf(w, "warning: node %s: skipped %s\n", short(id), s)
		}
		for _, n := range out[id].Notes {
			fmt.Fprintf(w, "note: node %s: %s\n", short(id), n)
		}
	}
	return out, nil
}

func sortedIDs(m map[string]*restore.NodeData) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// scratchNode is a node without listeners that replays a restored
// dataset; dir is its data directory.
func scratchNode(dir string) (*node.Node, *config.Config, error) {
	cfg, err := config.Load("", []string{"--dir", dir, "--appendonly", "yes", "--save", ""})
	if err != nil {
		return nil, nil, err
	}
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		return nil, nil, err
	}
	return n, cfg, nil
}

// applyNodeData replays a fetched dataset into n: every snapshot key with
// RESTORE ... ABSTTL at the snapshot's time, then every log record at its
// own time (transactions all or nothing); then keys outside keep go.
func applyNodeData(n *node.Node, d *restore.NodeData, keep *restore.SlotSet) (int, error) {
	var err error
	n.WithLock(func() {
		rep := n.NewReplayer()
		snapMs := d.Manifest.TimeRange.Snapshot.UnixMilli()
		for _, e := range d.Entries {
			ttl := "0"
			if e.Expire > 0 {
				ttl = strconv.FormatInt(e.Expire, 10)
			}
			argv := [][]byte{[]byte("RESTORE"), e.Key, []byte(ttl), e.Value, []byte("REPLACE"), []byte("ABSTTL")}
			if e2 := rep.ApplyAt(e.DB, argv, snapMs); e2 != nil {
				err = fmt.Errorf("restore: node %s: key %q: %w", d.NodeID, e.Key, e2)
				return
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return applyLog(n, d, keep)
}

// applyLog replays d's log records into n at their own times
// (transactions all or nothing), then drops the keys outside keep.
func applyLog(n *node.Node, d *restore.NodeData, keep *restore.SlotSet) (int, error) {
	var err error
	skippedErrs := 0
	n.WithLock(func() {
		rep := n.NewReplayer()
		var tx []backup.LogRecord
		inTx := false
		apply := func(r backup.LogRecord) bool {
			if e2 := rep.ApplyAt(r.DB, r.Argv, r.Time); e2 != nil {
				if errors.Is(e2, node.ErrReplayCommand) {
					err = fmt.Errorf("restore: node %s: log record %d: %w", d.NodeID, r.Seq, e2)
					return false
				}
				skippedErrs++
			}
			return true
		}
		for _, r := range d.Log {
			switch strings.ToUpper(string(r.Argv[0])) {
			case "MULTI":
				inTx, tx = true, nil
				continue
			case "EXEC":
				for _, t := range tx {
					if !apply(t) {
						return
					}
				}
				inTx, tx = false, nil
				continue
			}
			if inTx {
				tx = append(tx, r)
				continue
			}
			if !apply(r) {
				return
			}
		}
		if keep != nil {
			for i := 0; i < n.Config().Databases; i++ {
				db := n.DB(i)
				for s := db.NextNonEmptySlot(0); s >= 0; s = db.NextNonEmptySlot(s + 1) {
					if keep.Has(s) {
						continue
					}
					var keys []string
					db.KeysInSlot(s, func(k string, _ *store.Entry) bool { keys = append(keys, k); return true })
					for _, k := range keys {
						db.Delete(k)
					}
				}
			}
		}
	})
	return skippedErrs, err
}

func isServing(sm *restore.SlotMap, n backup.TopologyNode) bool {
	return n.Role == "master" && (len(n.Slots) > 0 || sm.Standalone)
}

// keepSlots is the slots a master's restored data keeps (nil: all, for a
// standalone node).
func keepSlots(sm *restore.SlotMap, n backup.TopologyNode) *restore.SlotSet {
	if sm.Standalone {
		return nil
	}
	return restore.NewSlotSet(n.Slots)
}

type plannedNode struct {
	id, newID string
	tn        backup.TopologyNode
	port      int
	host      string
	data      *restore.NodeData
}

func runRestoreOut(c context.Context, src restore.Source, at time.Time, o restoreOptions, w io.Writer) error {
	if o.out == "" {
		return errors.New("restore: --out DIR is required")
	}
	// The fetched datasets stay in memory until written, so collections
	// while they download find almost nothing to free: a higher target
	// spares marking them again and again.
	if old := debug.SetGCPercent(400); old < 0 || old > 400 {
		debug.SetGCPercent(old)
	} else {
		defer debug.SetGCPercent(old)
	}
	if !o.plan {
		if ents, err := os.ReadDir(o.out); err == nil && len(ents) > 0 {
			return fmt.Errorf("restore: output folder %s is not empty; refusing to write into it", o.out)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	inv, err := restore.Discover(c, src)
	if err != nil {
		return err
	}
	if len(inv.Nodes) == 0 {
		return errors.New("restore: no backups in this target")
	}
	var datas map[string]*restore.NodeData
	if at.IsZero() {
		// latest: the latest time every master reaches.
		sm := inv.ClusterAt(time.Time{})
		datas, err = fetchMasters(c, src, inv, sm, time.Time{}, o.nodeID, io.Discard)
		if err != nil {
			return err
		}
		for _, d := range datas {
			if at.IsZero() || d.Latest.Before(at) {
				at = d.Latest
			}
		}
	}
	sm := inv.ClusterAt(at)
	fmt.Fprintf(w, "restoring to %s: %d masters, %d nodes (slot map of %s, current epoch %d)\n",
		restore.FormatTime(at), len(sm.Masters()), len(sm.Nodes), restore.FormatTime(sm.Time), sm.CurrentEpoch)
	if o.nodeID != "" {
		found := false
		for _, n := range sm.Nodes {
			found = found || n.ID == o.nodeID
		}
		if !found {
			return fmt.Errorf("restore: node %s is not part of the cluster at %s", o.nodeID, restore.FormatTime(at))
		}
	}
	datas, err = fetchMasters(c, src, inv, sm, at, o.nodeID, w)
	if err != nil {
		return fmt.Errorf("%w\nnothing was written", err)
	}
	// Plan: masters first, then replicas, each sorted by ID.
	var plan []*plannedNode
	for _, n := range sm.Nodes {
		if isServing(sm, n) {
			plan = append(plan, &plannedNode{id: n.ID, tn: n})
		}
	}
	for _, n := range sm.Nodes {
		if !isServing(sm, n) {
			plan = append(plan, &plannedNode{id: n.ID, tn: n})
		}
	}
	var ports []int
	if o.ports != "" {
		for _, p := range strings.Split(o.ports, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || v <= 0 || v > 55535 {
				return fmt.Errorf("restore: --ports: bad port %q", p)
			}
			ports = append(ports, v)
		}
		if len(ports) != len(plan) {
			return fmt.Errorf("restore: --ports lists %d ports for %d nodes", len(ports), len(plan))
		}
	}
	ids := map[string]string{}
	for i, p := range plan {
		p.newID = p.id
		if o.newIDs {
			var b [20]byte
			rand.Read(b[:])
			p.newID = hex.EncodeToString(b[:])
		}
		ids[p.id] = p.newID
		p.host, p.port = "127.0.0.1", 6379
		if h, ps, ok := strings.Cut(p.tn.Addr, ":"); ok {
			p.host = h
			if v, err := strconv.Atoi(strings.SplitN(ps, "@", 2)[0]); err == nil {
				p.port = v
			}
		}
		if ports != nil {
			p.port = ports[i]
		}
		p.data = datas[p.id]
	}
	for _, p := range plan {
		if o.nodeID != "" && p.id != o.nodeID {
			continue
		}
		what := "replica of " + short(p.tn.MasterID) + " (resyncs from its master)"
		if p.data != nil {
			what = fmt.Sprintf("master slots %s from backup %s + %d log records (%d snapshot keys)",
				backup.FormatSlots(p.tn.Slots), p.data.Manifest.BackupID, len(p.data.Log), len(p.data.Entries))
		}
		fmt.Fprintf(w, "%s -> %s (port %d): %s\n", p.id, filepath.Join(o.out, p.newID), p.port, what)
	}
	if o.plan {
		fmt.Fprintln(w, "plan only: nothing written")
		return nil
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	// The nodes are written in parallel; their lines print in plan order.
	outs := make([]bytes.Buffer, len(plan))
	werrs := make([]error, len(plan))
	var wg sync.WaitGroup
	for i, p := range plan {
		if o.nodeID != "" && p.id != o.nodeID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			werrs[i] = writeRestoredNode(o.out, p, plan, ids, sm, &outs[i])
		}()
	}
	wg.Wait()
	for i := range plan {
		w.Write(outs[i].Bytes())
	}
	if err := errors.Join(werrs...); err != nil {
		return fmt.Errorf("%w\nthe output folder %s is incomplete: remove it before retrying", err, o.out)
	}
	fmt.Fprintf(w, "restore complete: start each node with `slotvault server %s/<node>/redis.conf`\n", o.out)
	return nil
}

// writeNodeData writes a master's verified data into its data directory:
// the snapshot keys of its slots are copied straight into the snapshot
// store the server loads at start (no value is decoded). When log records
// follow the snapshot (a time past it), a scratch node loads that
// snapshot, replays them, drops the keys outside keep and saves a new
// snapshot in its place.
func writeNodeData(dir string, d *restore.NodeData, keep *restore.SlotSet) (int, error) {
	if !d.NeedsReplay() {
		n, err := restore.WriteDataDir(dir, d, keep)
		return int(n), err
	}
	if _, err := restore.WriteDataDir(dir, d, nil); err != nil {
		return 0, err
	}
	n, cfg, err := scratchNode(dir)
	if err != nil {
		return 0, err
	}
	defer n.Close()
	mgr, err := persistence.New(newNodeHost(n), persistence.Options{Dir: dir, Config: cfg, Codec: loadCodec(cfg)})
	if err != nil {
		return 0, err
	}
	if _, err := mgr.Recover(); err != nil {
		mgr.Close()
		return 0, err
	}
	if _, err := applyLog(n, d, keep); err != nil {
		mgr.Close()
		return 0, err
	}
	keys := 0
	n.WithLock(func() {
		for i := 0; i < n.Config().Databases; i++ {
			keys += n.DB(i).Size()
		}
		if err = mgr.SaveLocked(); err == nil {
			// Only the snapshot just saved stays.
			err = mgr.Store().Prune(1)
		}
	})
	if cerr := mgr.Close(); err == nil {
		err = cerr
	}
	return keys, err
}

func writeRestoredNode(out string, p *plannedNode, plan []*plannedNode, ids map[string]string, sm *restore.SlotMap, w io.Writer) error {
	dir, err := filepath.Abs(filepath.Join(out, p.newID))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keys := 0
	if p.data != nil {
		if keys, err = writeNodeData(dir, p.data, keepSlots(sm, p.tn)); err != nil {
			return err
		}
	}
	if sm.Standalone {
		conf := fmt.Sprintf("# restored by slotvault restore\nport %d\nbind %s\ndir %s\nappendonly yes\nlogfile %s\n",
			p.port, p.host, dir, filepath.Join(dir, "slotvault.log"))
		if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "wrote %s: %d keys (standalone node)\n", dir, keys)
		return nil
	}
	// nodes.conf in the format nodes write it.
	var b strings.Builder
	for _, q := range plan {
		flags := "master"
		if !(q.tn.Role == "master" && len(q.tn.Slots) > 0) {
			flags = "slave"
		}
		if q == p {
			flags = "myself," + flags
		}
		master := "-"
		if flags == "slave" || flags == "myself,slave" {
			master = ids[q.tn.MasterID]
			if master == "" {
				master = "-"
			}
		}
		fmt.Fprintf(&b, "%s %s:%d@%d %s %s 0 0 %d connected", q.newID, q.host, q.port, q.port+10000, flags, master, q.tn.ConfigEpoch)
		if master == "-" {
			for _, r := range q.tn.Slots {
				if r[0] == r[1] {
					fmt.Fprintf(&b, " %d", r[0])
				} else {
					fmt.Fprintf(&b, " %d-%d", r[0], r[1])
				}
			}
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "vars currentEpoch %d lastVoteEpoch 0\n", sm.CurrentEpoch)
	if err := os.WriteFile(filepath.Join(dir, "nodes.conf"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	conf := fmt.Sprintf("# restored by slotvault restore\nport %d\nbind %s\ndir %s\ncluster-enabled yes\ncluster-config-file nodes.conf\nappendonly yes\nlogfile %s\n",
		p.port, p.host, dir, filepath.Join(dir, "slotvault.log"))
	if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: %d keys\n", dir, keys)
	return nil
}

// keyFilter selects keys for restore load.
type keyFilter struct {
	slots *restore.SlotSet
	match string
}

func (f keyFilter) ok(key []byte) bool {
	if f.slots != nil && !f.slots.Has(slots.KeySlot(key)) {
		return false
	}
	return f.match == "" || glob.Match([]byte(f.match), key, false)
}

// loadKey is one key to send with RESTORE.
type loadKey struct {
	db      int
	key     []byte
	expire  int64
	payload []byte
}

func runLoadBackup(c context.Context, src restore.Source, at time.Time, o restoreOptions, f keyFilter, w io.Writer) error {
	inv, err := restore.Discover(c, src)
	if err != nil {
		return err
	}
	if at.IsZero() {
		datas, err := fetchMasters(c, src, inv, inv.ClusterAt(time.Time{}), time.Time{}, "", io.Discard)
		if err != nil {
			return err
		}
		for _, d := range datas {
			if at.IsZero() || d.Latest.Before(at) {
				at = d.Latest
			}
		}
	}
	sm := inv.ClusterAt(at)
	fmt.Fprintf(w, "loading the dataset as of %s (%d masters in the backups)\n", restore.FormatTime(at), len(sm.Masters()))
	datas, err := fetchMasters(c, src, inv, sm, at, "", w)
	if err != nil {
		return fmt.Errorf("%w\nnothing was written", err)
	}
	var keys []loadKey
	for _, m := range sm.Masters() {
		d := datas[m.ID]
		tmp, err := os.MkdirTemp("", "slotvault-restore-")
		if err != nil {
			return err
		}
		n, _, err := scratchNode(tmp)
		if err != nil {
			os.RemoveAll(tmp)
			return err
		}
		if _, err := applyNodeData(n, d, keepSlots(sm, m)); err != nil {
			n.Close()
			os.RemoveAll(tmp)
			return err
		}
		n.WithLock(func() {
			for i := 0; i < n.Config().Databases; i++ {
				db := n.DB(i)
				for s := db.NextNonEmptySlot(0); s >= 0; s = db.NextNonEmptySlot(s + 1) {
					db.KeysInSlot(s, func(k string, e *store.Entry) bool {
						if !f.ok([]byte(k)) {
							return true
						}
						p, perr := node.DumpPayload(e.Value)
						if perr != nil {
							err = perr
							return false
						}
						keys = append(keys, loadKey{db: i, key: []byte(k), expire: e.Expire, payload: p})
						return true
					})
				}
			}
		})
		n.Close()
		os.RemoveAll(tmp)
		if err != nil {
			return err
		}
	}
	return sendKeys(c, o, keys, w)
}

func sortKeys(keys []loadKey) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].db != keys[j].db {
			return keys[i].db < keys[j].db
		}
		return string(keys[i].key) < string(keys[j].key)
	})
}
