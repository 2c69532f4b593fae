package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format identifiers of the manifest.
const (
	ManifestFormat  = "slotvault-backup"
	ManifestVersion = 1
	manifestName    = "manifest.json"
	snapshotName    = "snapshot.svs"
	backupIDLayout  = "20060102T150405.000Z"
)

// Manifest describes one complete backup (see the package doc).
type Manifest struct {
	Format        string       `json:"format"`
	FormatVersion int          `json:"format_version"`
	BackupID      string       `json:"backup_id"`
	NodeID        string       `json:"node_id"`
	ShardID       string       `json:"shard_id,omitempty"`
	Role          string       `json:"role"`
	Slots         [][2]int     `json:"slots"`
	ConfigEpoch   uint64       `json:"config_epoch"`
	CurrentEpoch  uint64       `json:"current_epoch"`
	Replication   Replication  `json:"replication"`
	SnapshotSeq   uint64       `json:"snapshot_seq"`
	TimeRange     TimeRange    `json:"time_range"`
	Keys          int64        `json:"keys"`
	DBs           int          `json:"dbs"`
	Compression   string       `json:"compression"`
	Encryption    *EncryptInfo `json:"encryption,omitempty"`
	Objects       []ObjectRef  `json:"objects"`
}

// Replication is the node's replication position at the snapshot.
type Replication struct {
	ID     string `json:"id"`
	Offset int64  `json:"offset"`
}

// TimeRange is when the backup ran and which moment its snapshot holds.
type TimeRange struct {
	Start    time.Time `json:"start"`
	Snapshot time.Time `json:"snapshot"`
	End      time.Time `json:"end"`
}

// EncryptInfo names the encryption scheme and key of a backup.
type EncryptInfo struct {
	Scheme string `json:"scheme"`
	KeyID  string `json:"key_id"`
}

// Dir is the manifest's directory (object names are relative to it).
func (m *Manifest) Dir() string { return backupDir(m.NodeID, m.BackupID) }

// Size is the total stored size of the backup's objects.
func (m *Manifest) Size() int64 {
	var n int64
	for _, o := range m.Objects {
		n += o.Size
	}
	return n
}

func nodeDir(nodeID string) string       { return "nodes/" + nodeID + "/" }
func backupsDir(nodeID string) string    { return nodeDir(nodeID) + "backups/" }
func backupDir(nodeID, id string) string { return backupsDir(nodeID) + id + "/" }
func logDir(nodeID string) string        { return nodeDir(nodeID) + "log/" }
func newBackupID(t time.Time, nodeID string) string {
	short := nodeID
	if len(short) > 8 {
		short = short[:8]
	}
	return t.UTC().Format(backupIDLayout) + "-" + short
}

// BackupTime returns the start time encoded in a backup ID.
func BackupTime(id string) (time.Time, bool) {
	i := strings.IndexByte(id, '-')
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(backupIDLayout, id[:i])
	return t, err == nil
}

func encodeManifest(m *Manifest, key *Key) ([]byte, error) {
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	js = append(js, '\n')
	if key == nil {
		return js, nil
	}
	var buf bytes.Buffer
	ew, err := newEncryptWriter(&buf, key)
	if err != nil {
		return nil, err
	}
	ew.Write(js)
	if err := ew.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeManifest(b []byte, key *Key) (*Manifest, error) {
	if isEncrypted(b) {
		dr, err := newDecryptReader(bytes.NewReader(b), key)
		if err != nil {
			return nil, err
		}
		if b, err = io.ReadAll(dr); err != nil {
			return nil, err
		}
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest is not valid JSON: %v", ErrCorrupt, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%w: not a slotvault manifest (format %q)", ErrCorrupt, m.Format)
	}
	if m.FormatVersion != ManifestVersion {
		return nil, fmt.Errorf("%w: unsupported manifest version %d", ErrCorrupt, m.FormatVersion)
	}
	return &m, nil
}

// maxManifest bounds a manifest read into memory.
const maxManifest = 16 << 20

// ReadManifest loads one manifest by its object name.
func ReadManifest(ctx context.Context, st ObjectStore, name string, key *Key) (*Manifest, error) {
	rc, err := st.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	if err != nil {
		return nil, err
	}
	return decodeManifest(b, key)
}

// LogObject is one shipped log object, parsed from its name.
type LogObject struct {
	Name     string
	NodeID   string
	FirstSeq uint64
	LastSeq  uint64
	SHA256   string
	Size     int64
	ModTime  time.Time
}

func logObjectName(nodeID string, first, last uint64, sum string) string {
	return fmt.Sprintf("%s%020d-%020d-%s.svl", logDir(nodeID), first, last, sum)
}

func parseLogObject(o ObjectInfo) (LogObject, bool) {
	dir, base := path.Split(o.Key)
	if !strings.HasSuffix(dir, "/log/") || !strings.HasPrefix(dir, "nodes/") || !strings.HasSuffix(base, ".svl") {
		return LogObject{}, false
	}
	parts := strings.Split(strings.TrimSuffix(base, ".svl"), "-")
	if len(parts) != 3 || len(parts[2]) != 64 {
		return LogObject{}, false
	}
	first, err1 := strconv.ParseUint(parts[0], 10, 64)
	last, err2 := strconv.ParseUint(parts[1], 10, 64)
	if err1 != nil || err2 != nil || last < first {
		return LogObject{}, false
	}
	node := strings.TrimSuffix(strings.TrimPrefix(dir, "nodes/"), "/log/")
	return LogObject{Name: o.Key, NodeID: node, FirstSeq: first, LastSeq: last, SHA256: parts[2], Size: o.Size, ModTime: o.ModTime}, true
}

// ListLog returns a node's shipped log objects in sequence order.
func ListLog(ctx context.Context, st ObjectStore, nodeID string) ([]LogObject, error) {
	objs, err := st.List(ctx, logDir(nodeID))
	if err != nil {
		return nil, err
	}
	var out []LogObject
	for _, o := range objs {
		if lo, ok := parseLogObject(o); ok {
			out = append(out, lo)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FirstSeq < out[j].FirstSeq })
	return out, nil
}

// BackupEntry is one backup found in a store: complete (with its manifest)
// or not (data objects without a manifest).
type BackupEntry struct {
	NodeID   string
	BackupID string
	Complete bool
	Manifest *Manifest // nil when incomplete or unreadable
	Err      error     // why the manifest could not be read
	Objects  []ObjectInfo
}

// Catalog is everything a store holds, per node.
type Catalog struct {
	Backups  []BackupEntry // sorted by node, then backup ID (time)
	Log      map[string][]LogObject
	Topology []ObjectInfo
}

// ReadCatalog lists every backup, log object and topology record. Manifests
// are read (and decrypted with key when given; without it an encrypted
// manifest's entry carries ErrEncrypted).
func ReadCatalog(ctx context.Context, st ObjectStore, key *Key) (*Catalog, error) {
	return readCatalogPrefix(ctx, st, "", key)
}

func readCatalogPrefix(ctx context.Context, st ObjectStore, prefix string, key *Key) (*Catalog, error) {
	objs, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	c := &Catalog{Log: map[string][]LogObject{}}
	byID := map[string]*BackupEntry{}
	var order []string
	for _, o := range objs {
		if strings.HasPrefix(o.Key, "topology/") {
			c.Topology = append(c.Topology, o)
			continue
		}
		if lo, ok := parseLogObject(o); ok {
			c.Log[lo.NodeID] = append(c.Log[lo.NodeID], lo)
			continue
		}
		// nodes/<node>/backups/<id>/<name>
		parts := strings.Split(o.Key, "/")
		if len(parts) != 5 || parts[0] != "nodes" || parts[2] != "backups" {
			continue
		}
		k := parts[1] + "/" + parts[3]
		e := byID[k]
		if e == nil {
			e = &BackupEntry{NodeID: parts[1], BackupID: parts[3]}
			byID[k] = e
			order = append(order, k)
		}
		e.Objects = append(e.Objects, o)
		if parts[4] == manifestName {
			e.Complete = true
		}
	}
	sort.Strings(order)
	for _, k := range order {
		e := byID[k]
		if e.Complete {
			e.Manifest, e.Err = ReadManifest(ctx, st, backupDir(e.NodeID, e.BackupID)+manifestName, key)
		}
		c.Backups = append(c.Backups, *e)
	}
	for n := range c.Log {
		l := c.Log[n]
		sort.Slice(l, func(i, j int) bool { return l[i].FirstSeq < l[j].FirstSeq })
	}
	return c, nil
}
