package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/backup/persistsrc"
	"github.com/slotvault/slotvault/backup/target"
	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/node"
	"github.com/slotvault/slotvault/persistence"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, backupCmd) }

// backupRuntime runs a node's backup agent and rebuilds it when CONFIG SET
// changes where or how backups are written.
type backupRuntime struct {
	n   *node.Node
	mgr *persistence.Manager
	log *slog.Logger
	dir string // absolute data directory

	mu    sync.Mutex
	agent *backup.Agent
	err   error // why the agent could not be built (shown in INFO)
}

var _ node.BackupControl = (*backupRuntime)(nil)

// startBackup builds and starts the backup agent for a node whose
// persistence is running. A bad backup configuration is reported in INFO
// and the log, and does not stop the node.
func startBackup(n *node.Node, cfg *config.Config, mgr *persistence.Manager, log *slog.Logger) *backupRuntime {
	dir, err := filepath.Abs(".")
	if err != nil {
		dir = cfg.Dir
	}
	rt := &backupRuntime{n: n, mgr: mgr, log: log, dir: dir}
	rt.rebuild(cfg.Clone())
	n.WithLock(func() { n.SetBackupControl(rt) })
	n.AddInfoSection(node.InfoSection{Name: "backup", Render: rt.renderInfo})
	n.OnConfigSet(func(old, cur *config.Config) error {
		ob, nb := old.Backup, cur.Backup
		if ob == nb {
			return nil
		}
		if ob.Target != nb.Target || ob.S3Endpoint != nb.S3Endpoint || ob.S3CredentialsFile != nb.S3CredentialsFile || ob.EncryptionKeyFile != nb.EncryptionKeyFile {
			// Check before accepting the change, so CONFIG SET reports a bad
			// key file or missing credentials.
			if _, _, err := openBackupTarget(cur); err != nil {
				return err
			}
			c := cur.Clone()
			go rt.rebuild(c) // not under the node lock: closing waits for the agent
			return nil
		}
		rt.mu.Lock()
		a := rt.agent
		rt.mu.Unlock()
		if a == nil {
			return nil
		}
		if ob.Schedule != nb.Schedule {
			if err := a.SetSchedule(nb.Schedule); err != nil {
				return err
			}
		}
		a.SetRetention(backup.RetentionPolicy{KeepLast: nb.KeepLast, MaxAge: nb.MaxAge})
		a.SetShipInterval(nb.LogShipInterval)
		a.SetMaxBandwidth(nb.MaxBandwidth)
		return nil
	})
	return rt
}

func openBackupTarget(cfg *config.Config) (backup.ObjectStore, *backup.Key, error) {
	st, err := target.Open(cfg.DefaultTarget(), target.Options{S3Endpoint: cfg.Backup.S3Endpoint, CredentialsFile: cfg.Backup.S3CredentialsFile})
	if err != nil {
		return nil, nil, err
	}
	var key *backup.Key
	if cfg.Backup.EncryptionKeyFile != "" {
		if key, err = backup.LoadKeyFile(cfg.Backup.EncryptionKeyFile); err != nil {
			return nil, nil, err
		}
	}
	return st, key, nil
}

func (rt *backupRuntime) rebuild(cfg *config.Config) {
	rt.mu.Lock()
	old := rt.agent
	rt.agent = nil
	rt.mu.Unlock()
	if old != nil {
		old.Close()
	}
	a, err := rt.newAgent(cfg)
	rt.mu.Lock()
	rt.agent, rt.err = a, err
	rt.mu.Unlock()
	if err != nil {
		rt.log.Error("backups disabled: bad backup configuration", "err", err)
		return
	}
	a.Start()
	if c, ok := a.Store().(backup.Checker); ok {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.Check(ctx); err != nil {
				rt.log.Error("backup target not usable", "target", cfg.DefaultTarget(), "err", err)
			}
		}()
	}
	rt.log.Info("backups enabled", "target", cfg.DefaultTarget(), "schedule", cfg.Backup.Schedule, "encrypted", cfg.Backup.EncryptionKeyFile != "")
}

func (rt *backupRuntime) newAgent(cfg *config.Config) (*backup.Agent, error) {
	st, key, err := openBackupTarget(cfg)
	if err != nil {
		return nil, err
	}
	n := rt.n
	var logSrc backup.LogSource
	if rt.mgr.Log().Enabled() {
		logSrc = &persistsrc.Log{Log: rt.mgr.Log(), Dir: filepath.Join(rt.dir, cfg.AppendDirname), Prefix: cfg.AppendFilename, FS: persistence.DefaultFS}
	}
	ident := rt.identity(cfg)
	return backup.NewAgent(backup.Options{
		Store: st, Target: cfg.DefaultTarget(), Key: key,
		Snapshots: &persistsrc.Snapshots{Mgr: rt.mgr, WithLock: n.WithLock, SpillDir: rt.dir},
		Log:       logSrc,
		Identity:  ident,
		Topology:  rt.topology(cfg, ident),
		Schedule:  cfg.Backup.Schedule, ShipInterval: cfg.Backup.LogShipInterval,
		Retention:    backup.RetentionPolicy{KeepLast: cfg.Backup.KeepLast, MaxAge: cfg.Backup.MaxAge},
		Logger:       rt.log.With("component", "backup"),
		MaxBandwidth: cfg.Backup.MaxBandwidth,
	})
}

// stop closes the agent (after the node stopped serving).
func (rt *backupRuntime) stop() {
	rt.mu.Lock()
	a := rt.agent
	rt.agent = nil
	rt.mu.Unlock()
	if a != nil {
		// Ship what the last commands wrote before the agent stops.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a.ShipNow(ctx)
		cancel()
		a.Close()
	}
}

// StartBackup implements node.BackupControl.
func (rt *backupRuntime) StartBackup() (string, error) {
	rt.mu.Lock()
	a, err := rt.agent, rt.err
	rt.mu.Unlock()
	if a == nil {
		if err != nil {
			return "", err
		}
		return "", errors.New("backup: the backup agent is restarting")
	}
	// Runs under the node lock: the agent's StartBackup does no I/O and
	// does not call Identity (which takes the node lock).
	return a.StartBackup()
}

// List implements node.BackupControl.
func (rt *backupRuntime) List() []string {
	rt.mu.Lock()
	a := rt.agent
	rt.mu.Unlock()
	if a == nil {
		return nil
	}
	return a.List()
}

// StatusFields implements node.BackupControl.
func (rt *backupRuntime) StatusFields() [][2]string {
	rt.mu.Lock()
	a, err := rt.agent, rt.err
	rt.mu.Unlock()
	if a == nil {
		reason := "restarting"
		if err != nil {
			reason = err.Error()
		}
		return [][2]string{{"backup_status", "disabled"}, {"backup_error", oneLine(reason)}}
	}
	return StatusFields(a.Status())
}

func (rt *backupRuntime) renderInfo(b *strings.Builder) {
	for _, f := range rt.StatusFields() {
		fmt.Fprintf(b, "%s:%s\r\n", f[0], f[1])
	}
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

func unixOr0(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// StatusFields renders an agent status as INFO backup fields.
func StatusFields(s backup.Status) [][2]string {
	st := "ok"
	if !s.LastOK {
		st = "err"
	}
	if s.Attempts == 0 {
		st = "none"
	}
	ship := "ok"
	if !s.ShipOK {
		ship = "err"
	}
	b2i := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	lagRecords := uint64(0)
	if s.LocalSeq > s.ShippedSeq {
		lagRecords = s.LocalSeq - s.ShippedSeq
	}
	return [][2]string{
		{"backup_target", s.Target},
		{"backup_schedule", s.Schedule},
		{"backup_encrypted", b2i(s.Encrypted)},
		{"backup_in_progress", b2i(s.InProgress)},
		{"backup_current_id", s.CurrentID},
		{"backup_last_status", st},
		{"backup_last_success_time", strconv.FormatInt(unixOr0(s.LastSuccessTime), 10)},
		{"backup_last_success_id", s.LastSuccessID},
		{"backup_last_failure_time", strconv.FormatInt(unixOr0(s.LastFailureTime), 10)},
		{"backup_last_failure_reason", oneLine(s.LastFailure)},
		{"backup_last_bytes", strconv.FormatInt(s.LastBytes, 10)},
		{"backup_last_keys", strconv.FormatInt(s.LastKeys, 10)},
		{"backup_last_duration_ms", strconv.FormatInt(s.LastDuration.Milliseconds(), 10)},
		{"backup_ok_count", strconv.FormatInt(s.Successes, 10)},
		{"backup_failed_count", strconv.FormatInt(s.Failures, 10)},
		{"backup_log_shipping", b2i(s.Shipping)},
		{"backup_log_ship_status", ship},
		{"backup_log_ship_last_error", oneLine(s.LastShipError)},
		{"backup_log_ship_failures", strconv.FormatInt(s.ShipFailures, 10)},
		{"backup_log_last_ship_time", strconv.FormatInt(unixOr0(s.LastShipTime), 10)},
		{"backup_log_shipped_seq", strconv.FormatUint(s.ShippedSeq, 10)},
		{"backup_log_local_seq", strconv.FormatUint(s.LocalSeq, 10)},
		{"backup_log_lag_records", strconv.FormatUint(lagRecords, 10)},
		{"backup_log_lag_seconds", strconv.FormatFloat(s.LagSeconds, 'f', 3, 64)},
		{"backup_log_objects", strconv.FormatInt(s.ShippedObjects, 10)},
		{"backup_log_bytes", strconv.FormatInt(s.ShippedBytes, 10)},
		{"backup_log_gaps", strconv.FormatInt(s.LogGaps, 10)},
		{"backup_max_bandwidth", strconv.FormatInt(s.MaxBandwidth, 10)},
	}
}

// identity returns the node's identity: in cluster mode from the cluster
// config file's "myself" line (Redis nodes.conf format), otherwise an ID
// kept in <dir>/backup-node-id.
func (rt *backupRuntime) identity(cfg *config.Config) backup.Identity {
	standaloneID := ""
	return func() backup.NodeInfo {
		info := backup.NodeInfo{Role: "master", Slots: [][2]int{{0, 16383}}}
		if cfg.ClusterEnabled {
			if nodes, epoch, err := readNodesConf(filepath.Join(rt.dir, cfg.ClusterConfigFile)); err == nil {
				for _, nd := range nodes {
					if nd.myself {
						info.NodeID, info.Role, info.Slots, info.ConfigEpoch = nd.ID, nd.Role, nd.Slots, nd.ConfigEpoch
						info.ShardID = nd.ID
						if nd.MasterID != "" {
							info.ShardID = nd.MasterID
						}
					}
				}
				info.CurrentEpoch = epoch
			}
		}
		if info.NodeID == "" {
			if standaloneID == "" {
				standaloneID = loadOrCreateID(filepath.Join(rt.dir, "backup-node-id"))
			}
			info.NodeID, info.ShardID = standaloneID, standaloneID
		}
		info.ReplID, info.ReplOffset = replInfo(rt.n)
		return info
	}
}

func (rt *backupRuntime) topology(cfg *config.Config, ident backup.Identity) backup.TopologySource {
	return func() backup.Topology {
		if cfg.ClusterEnabled {
			if nodes, epoch, err := readNodesConf(filepath.Join(rt.dir, cfg.ClusterConfigFile)); err == nil && len(nodes) > 0 {
				t := backup.Topology{CurrentEpoch: epoch}
				for _, nd := range nodes {
					t.Nodes = append(t.Nodes, nd.TopologyNode)
				}
				return t
			}
		}
		info := ident()
		return backup.Topology{Nodes: []backup.TopologyNode{{ID: info.NodeID, Addr: fmt.Sprintf("127.0.0.1:%d", cfg.Port), Role: "master", Slots: info.Slots}}}
	}
}

func replInfo(n *node.Node) (string, int64) {
	var id string
	var off int64
	for _, line := range strings.Split(n.Info("replication"), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "master_replid:"); ok {
			id = v
		} else if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			off, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return id, off
}

func loadOrCreateID(path string) string {
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); len(id) == 40 {
			return id
		}
	}
	var r [20]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o644); err == nil {
		if f, err := os.Open(tmp); err == nil {
			f.Sync()
			f.Close()
		}
		os.Rename(tmp, path)
	}
	return id
}

type confNode struct {
	backup.TopologyNode
	myself bool
}

// readNodesConf parses a Redis nodes.conf: "<id> <ip:port@cport> <flags>
// <master> <ping> <pong> <config-epoch> <link> <slot> ..." and the
// "vars currentEpoch N ..." line.
func readNodesConf(path string) ([]confNode, uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var out []confNode
	var epoch uint64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 3 && fs[0] == "vars" {
			for i := 1; i+1 < len(fs); i += 2 {
				if fs[i] == "currentEpoch" {
					epoch, _ = strconv.ParseUint(fs[i+1], 10, 64)
				}
			}
			continue
		}
		if len(fs) < 8 || len(fs[0]) != 40 {
			continue
		}
		nd := confNode{}
		nd.ID = fs[0]
		nd.Addr = strings.SplitN(strings.SplitN(fs[1], "@", 2)[0], ",", 2)[0]
		flags := strings.Split(fs[2], ",")
		nd.Role = "master"
		for _, fl := range flags {
			switch fl {
			case "myself":
				nd.myself = true
			case "slave", "replica":
				nd.Role = "replica"
			}
		}
		if fs[3] != "-" {
			nd.MasterID = fs[3]
		}
		nd.ConfigEpoch, _ = strconv.ParseUint(fs[6], 10, 64)
		nd.Slots = [][2]int{}
		for _, s := range fs[8:] {
			if strings.HasPrefix(s, "[") {
				continue // a migrating/importing slot
			}
			a, b, found := strings.Cut(s, "-")
			lo, err1 := strconv.Atoi(a)
			hi := lo
			var err2 error
			if found {
				hi, err2 = strconv.Atoi(b)
			}
			if err1 == nil && err2 == nil {
				nd.Slots = append(nd.Slots, [2]int{lo, hi})
			}
		}
		out = append(out, nd)
	}
	return out, epoch, sc.Err()
}

// --- the "slotvault backup" command line ---

func backupCmd() *cobra.Command {
	root := &cobra.Command{Use: "backup", Short: "Take, list and verify backups"}
	var nodeAddr, password string
	var wait time.Duration
	now := &cobra.Command{
		Use:   "now --node HOST:PORT",
		Short: "Start a full backup on a running node and wait for it",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackupNow(cmd, nodeAddr, password, wait)
		},
	}
	now.Flags().StringVar(&nodeAddr, "node", "127.0.0.1:6379", "node address HOST:PORT")
	now.Flags().StringVar(&password, "pass", "", "password (requirepass) of the node; default $REDISCLI_AUTH")
	now.Flags().DurationVar(&wait, "timeout", time.Hour, "how long to wait for the backup (0 = do not wait)")

	var tgt, endpoint, keyFile, credFile, backupID string
	addTarget := func(c *cobra.Command) {
		c.Flags().StringVar(&tgt, "target", "", "backup target: s3://BUCKET/PREFIX or file:///PATH (required)")
		c.Flags().StringVar(&endpoint, "s3-endpoint", "", "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default AWS)")
		c.Flags().StringVar(&credFile, "s3-credentials-file", "", "S3 credentials file (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
		c.Flags().StringVar(&keyFile, "encryption-key-file", "", "key file (64 hex characters) for encrypted backups")
		c.MarkFlagRequired("target")
	}
	list := &cobra.Command{
		Use:   "list --target URL",
		Short: "List the backups and shipped log in a target",
		RunE: func(cmd *cobra.Command, args []string) error {
			st, key, err := openCLITarget(tgt, endpoint, credFile, keyFile)
			if err != nil {
				return err
			}
			return runBackupList(cmd, st, key)
		},
	}
	addTarget(list)
	verify := &cobra.Command{
		Use:   "verify --target URL [--backup ID]",
		Short: "Download backups, check every checksum and decode every record",
		RunE: func(cmd *cobra.Command, args []string) error {
			st, key, err := openCLITarget(tgt, endpoint, credFile, keyFile)
			if err != nil {
				return err
			}
			rep, err := backup.Verify(cmd.Context(), st, backup.VerifyOptions{BackupID: backupID, Key: key})
			if err != nil {
				return err
			}
			rep.Print(cmd.OutOrStdout())
			if !rep.OK() {
				return exitError{2}
			}
			return nil
		},
	}
	addTarget(verify)
	verify.Flags().StringVar(&backupID, "backup", "", "verify only this backup (and the log that rolls it forward)")
	root.AddCommand(now, list, verify)
	return root
}

func openCLITarget(tgt, endpoint, credFile, keyFile string) (backup.ObjectStore, *backup.Key, error) {
	st, err := target.Open(tgt, target.Options{S3Endpoint: endpoint, CredentialsFile: credFile})
	if err != nil {
		return nil, nil, err
	}
	var key *backup.Key
	if keyFile != "" {
		if key, err = backup.LoadKeyFile(keyFile); err != nil {
			return nil, nil, err
		}
	}
	if c, ok := st.(backup.Checker); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Check(ctx); err != nil {
			return nil, nil, err
		}
	}
	return st, key, nil
}

func runBackupList(cmd *cobra.Command, st backup.ObjectStore, key *backup.Key) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cat, err := backup.ReadCatalog(ctx, st, key)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	complete := 0
	for _, b := range cat.Backups {
		switch {
		case !b.Complete:
			fmt.Fprintf(out, "%s node=%s INCOMPLETE (no manifest; not restorable)\n", b.BackupID, b.NodeID)
		case b.Err != nil:
			fmt.Fprintf(out, "%s node=%s manifest unreadable: %v\n", b.BackupID, b.NodeID, b.Err)
		default:
			complete++
			fmt.Fprintln(out, backup.FormatBackupLine(b.Manifest))
		}
	}
	nodes := make([]string, 0, len(cat.Log))
	for n := range cat.Log {
		nodes = append(nodes, n)
	}
	sortStrings(nodes)
	for _, n := range nodes {
		l := cat.Log[n]
		var bytes int64
		for _, o := range l {
			bytes += o.Size
		}
		fmt.Fprintf(out, "log node=%s objects=%d seq=%d-%d bytes=%d last_shipped=%s\n", n, len(l), l[0].FirstSeq, l[len(l)-1].LastSeq, bytes, l[len(l)-1].ModTime.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(out, "%d complete backup(s), %d topology record(s)\n", complete, len(cat.Topology))
	return nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func runBackupNow(cmd *cobra.Command, addr, password string, wait time.Duration) error {
	c, err := resp.Dial(addr)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer c.Close()
	if password == "" {
		password = os.Getenv("REDISCLI_AUTH")
	}
	if password != "" {
		if v, err := c.Do("AUTH", password); err != nil || v.IsError() {
			return fmt.Errorf("AUTH failed: %v%s", err, v.Str)
		}
	}
	v, err := c.Do("SVBACKUP", "NOW")
	if err != nil {
		return err
	}
	if v.IsError() {
		return errors.New(v.Str)
	}
	id := v.Str
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "backup %s started on %s\n", id, addr)
	if wait == 0 {
		return nil
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		v, err := c.Do("SVBACKUP", "STATUS")
		if err != nil {
			return err
		}
		f := map[string]string{}
		for i := 0; i+1 < len(v.Elems); i += 2 {
			f[v.Elems[i].Str] = v.Elems[i+1].Str
		}
		if f["backup_in_progress"] == "1" && f["backup_current_id"] == id {
			continue
		}
		if f["backup_last_success_id"] == id {
			fmt.Fprintf(out, "backup %s complete: %s keys, %s bytes, %s ms\n", id, f["backup_last_keys"], f["backup_last_bytes"], f["backup_last_duration_ms"])
			return nil
		}
		return fmt.Errorf("backup %s failed: %s", id, f["backup_last_failure_reason"])
	}
	return fmt.Errorf("backup %s still running after %s", id, wait)
}
