package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/rdb"
)

// runLoadRDB imports an RDB file written by redis-server.
func runLoadRDB(c context.Context, o restoreOptions, f keyFilter, w io.Writer) error {
	b, err := os.ReadFile(o.rdbFile)
	if err != nil {
		return err
	}
	var keys []loadKey
	now := time.Now().UnixMilli()
	expired := 0
	err = rdb.ReadFile(b, func(k rdb.FileKey) error {
		if !f.ok(k.Key) {
			return nil
		}
		if k.Expire > 0 && k.Expire <= now {
			expired++
			return nil
		}
		p, err := rdb.EncodePayload(&k.Value)
		if err != nil {
			return fmt.Errorf("key %q: %w", k.Key, err)
		}
		keys = append(keys, loadKey{db: k.DB, key: k.Key, expire: k.Expire, payload: p})
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore: %s: %w\nnothing was written", o.rdbFile, err)
	}
	fmt.Fprintf(w, "read %s: %d keys (%d already expired, skipped)\n", o.rdbFile, len(keys), expired)
	return sendKeys(c, o, keys, w)
}

// destination is a running cluster or a single node.
type destination struct {
	cluster *redis.ClusterClient
	single  map[int]*redis.Client
	opts    *redis.Options
}

func openDestination(c context.Context, o restoreOptions) (*destination, error) {
	pass := o.password
	if pass == "" {
		pass = os.Getenv("REDISCLI_AUTH")
	}
	probe := redis.NewClient(&redis.Options{Addr: o.into, Password: pass})
	defer probe.Close()
	info, err := probe.Do(c, "CLUSTER", "INFO").Text()
	if err != nil && !strings.Contains(err.Error(), "cluster support disabled") {
		if perr := probe.Ping(c).Err(); perr != nil {
			return nil, fmt.Errorf("restore: cannot reach %s: %w", o.into, perr)
		}
	}
	if err == nil && strings.Contains(info, "cluster_enabled:1") || err == nil && strings.Contains(info, "cluster_state") {
		return &destination{cluster: redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{o.into}, Password: pass})}, nil
	}
	return &destination{single: map[int]*redis.Client{}, opts: &redis.Options{Addr: o.into, Password: pass}}, nil
}

// restoreClient is what sendKeys needs of a go-redis client.
type restoreClient interface {
	Do(ctx context.Context, args ...any) *redis.Cmd
	Exists(ctx context.Context, keys ...string) *redis.IntCmd
}

func (d *destination) cmdable(db int) (restoreClient, error) {
	if d.cluster != nil {
		if db != 0 {
			return nil, fmt.Errorf("restore: database %d keys cannot go into a cluster (database 0 only); use --match or load into a single node", db)
		}
		return d.cluster, nil
	}
	if d.single[db] == nil {
		o := *d.opts
		o.DB = db
		d.single[db] = redis.NewClient(&o)
	}
	return d.single[db], nil
}

func (d *destination) Close() {
	if d.cluster != nil {
		d.cluster.Close()
	}
	for _, c := range d.single {
		c.Close()
	}
}

const loadBatch = 500

// sendKeys checks for existing keys (unless --replace) and then sends every
// key with RESTORE key ttl payload [REPLACE] ABSTTL, in pipelined batches
// routed by slot.
func sendKeys(c context.Context, o restoreOptions, keys []loadKey, w io.Writer) error {
	sortKeys(keys)
	if o.plan {
		fmt.Fprintf(w, "plan: %d keys would be loaded into %s\n", len(keys), o.into)
		return nil
	}
	dst, err := openDestination(c, o)
	if err != nil {
		return err
	}
	defer dst.Close()
	if !o.replace {
		var existing []string
		for i := 0; i < len(keys); i += loadBatch {
			batch := keys[i:min(i+loadBatch, len(keys))]
			for _, k := range batch {
				cl, err := dst.cmdable(k.db)
				if err != nil {
					return err
				}
				n, err := cl.Exists(c, string(k.key)).Result()
				if err != nil {
					return fmt.Errorf("restore: checking %q: %w\nnothing was written", k.key, err)
				}
				if n > 0 {
					existing = append(existing, string(k.key))
				}
			}
		}
		if len(existing) > 0 {
			shown := existing
			if len(shown) > 10 {
				shown = shown[:10]
			}
			return fmt.Errorf("restore: %d key(s) already exist in %s (e.g. %s); nothing was written (use --replace to overwrite)", len(existing), o.into, strings.Join(shown, ", "))
		}
	}
	start := time.Now()
	var bytes int64
	last := time.Now()
	for i, k := range keys {
		cl, err := dst.cmdable(k.db)
		if err != nil {
			return err
		}
		args := []any{"RESTORE", string(k.key), strconv.FormatInt(k.expire, 10), string(k.payload)}
		if o.replace {
			args = append(args, "REPLACE")
		}
		args = append(args, "ABSTTL")
		if err := cl.Do(c, args...).Err(); err != nil {
			return fmt.Errorf("restore: RESTORE %q: %w\nthe destination is PARTLY restored: %d of %d keys were written", k.key, err, i, len(keys))
		}
		bytes += int64(len(k.payload))
		if time.Since(last) > time.Second {
			last = time.Now()
			el := time.Since(start)
			eta := time.Duration(float64(el) / float64(i+1) * float64(len(keys)-i-1))
			fmt.Fprintf(w, "loaded %d/%d keys, %d bytes, eta %s\n", i+1, len(keys), bytes, eta.Round(time.Second))
		}
	}
	fmt.Fprintf(w, "loaded %d keys (%d bytes) into %s in %s\n", len(keys), bytes, o.into, time.Since(start).Round(time.Millisecond))
	return nil
}
