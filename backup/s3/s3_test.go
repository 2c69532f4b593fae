package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/backup/s3"
	"github.com/slotvault/slotvault/internal/miniotest"
)

const nodeID = "fedcba9876543210fedcba9876543210fedcba98"

func ident() backup.Identity {
	return backup.StaticIdentity(backup.NodeInfo{NodeID: nodeID, Role: "master", Slots: [][2]int{{0, 16383}}})
}

type tw struct{ t *testing.T }

func (w tw) Write(p []byte) (int, error) { w.t.Log(strings.TrimSpace(string(p))); return len(p), nil }

func fill(src *backup.FakeSource, n int, prefix string) {
	for i := 0; i < n; i++ {
		src.Set(fmt.Sprintf("%s:%d", prefix, i), fmt.Sprintf("%s-value-%d", prefix, i), 0)
	}
}

func rawBytes(t *testing.T, st backup.ObjectStore, key string) []byte {
	rc, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()

	t.Run("CheckErrors", func(t *testing.T) {
		st := srv.Store(t, "checks", "")
		if err := st.Check(ctx); err != nil {
			t.Fatal(err)
		}
		bad, _ := s3.New(s3.Options{Endpoint: srv.Endpoint, Bucket: "checks", AccessKey: "nobody", SecretKey: "wrong-secret"})
		if err := bad.Check(ctx); !errors.Is(err, backup.ErrAccessDenied) {
			t.Fatalf("bad credentials: %v", err)
		}
		missing, _ := s3.New(s3.Options{Endpoint: srv.Endpoint, Bucket: "no-such-bucket", AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey})
		if err := missing.Check(ctx); !errors.Is(err, backup.ErrNoBucket) {
			t.Fatalf("missing bucket: %v", err)
		}
		if _, err := st.Get(ctx, "nope"); !errors.Is(err, backup.ErrNotFound) {
			t.Fatalf("missing object: %v", err)
		}
	})

	t.Run("UploadListVerifyDamage", func(t *testing.T) {
		st := srv.Store(t, "plain", "cluster-a")
		src := backup.NewFakeSource()
		fill(src, 20000, "k")
		m, err := backup.FullBackup(ctx, st, nil, src, ident(), time.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		fill(src, 100, "after")
		if _, _, err := backup.ShipLog(ctx, st, nil, src, nodeID, m.SnapshotSeq, src.LastSeq()); err != nil {
			t.Fatal(err)
		}
		cat, err := backup.ReadCatalog(ctx, st, nil)
		if err != nil || len(cat.Backups) != 1 || !cat.Backups[0].Complete || len(cat.Log[nodeID]) != 1 {
			t.Fatalf("%v %+v", err, cat)
		}
		rep, err := backup.Verify(ctx, st, backup.VerifyOptions{})
		if err != nil || !rep.OK() || rep.Keys != 20000 || rep.LogRecords != 100 {
			t.Fatalf("%v %+v", err, rep)
		}
		snap := m.Dir() + m.Objects[0].Name
		orig := rawBytes(t, st, snap)
		bad := append([]byte(nil), orig...)
		bad[len(bad)/3] ^= 1
		if _, err := st.Put(ctx, snap, bytes.NewReader(bad)); err != nil {
			t.Fatal(err)
		}
		rep, _ = backup.Verify(ctx, st, backup.VerifyOptions{})
		if rep.OK() || rep.Problems[0].Object != snap || !errors.Is(rep.Problems[0].Err, backup.ErrCorrupt) {
			t.Fatalf("corruption not reported: %+v", rep.Problems)
		}
		st.Delete(ctx, snap)
		rep, _ = backup.Verify(ctx, st, backup.VerifyOptions{})
		if rep.OK() || rep.Problems[0].Object != snap {
			t.Fatalf("deletion not reported: %+v", rep.Problems)
		}
		lo := cat.Log[nodeID][0]
		st.Put(ctx, lo.Name, bytes.NewReader([]byte("not a log object")))
		rep, _ = backup.Verify(ctx, st, backup.VerifyOptions{})
		if len(rep.Problems) != 2 || rep.Problems[1].Object != lo.Name {
			t.Fatalf("log damage not reported: %+v", rep.Problems)
		}
	})

	t.Run("EncryptionNoPlaintext", func(t *testing.T) {
		st := srv.Store(t, "secret", "")
		key, _ := backup.ParseKey(strings.Repeat("5a", 32))
		src := backup.NewFakeSource()
		fill(src, 1000, "k")
		src.Set("canary", "KNOWN-PLAINTEXT-CANARY-VALUE", 0)
		m, err := backup.FullBackup(ctx, st, key, src, ident(), time.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		src.Set("canary2", "KNOWN-PLAINTEXT-CANARY-VALUE-2", 0)
		if _, _, err := backup.ShipLog(ctx, st, key, src, nodeID, m.SnapshotSeq, src.LastSeq()); err != nil {
			t.Fatal(err)
		}
		objs, _ := st.List(ctx, "")
		if len(objs) != 3 {
			t.Fatalf("%+v", objs)
		}
		for _, o := range objs {
			b := rawBytes(t, st, o.Key)
			if bytes.Contains(b, []byte("KNOWN-PLAINTEXT")) || bytes.Contains(b, []byte("canary")) || bytes.Contains(b, []byte(nodeID)) {
				t.Errorf("%s holds plaintext", o.Key)
			}
		}
		rep, err := backup.Verify(ctx, st, backup.VerifyOptions{Key: key})
		if err != nil || !rep.OK() || rep.Keys != 1001 || rep.LogRecords != 1 {
			t.Fatalf("%v %+v", err, rep)
		}
	})

	t.Run("Retention", func(t *testing.T) {
		st := srv.Store(t, "retention", "")
		src := backup.NewFakeSource()
		var ms []*backup.Manifest
		clock := time.Now().Add(-10 * time.Hour)
		now := func() time.Time { clock = clock.Add(time.Second); return clock }
		for i := 0; i < 4; i++ {
			fill(src, 50, fmt.Sprint("r", i))
			m, err := backup.FullBackup(ctx, st, nil, src, ident(), now, nil)
			if err != nil {
				t.Fatal(err)
			}
			fill(src, 5, fmt.Sprint("l", i))
			if _, _, err := backup.ShipLog(ctx, st, nil, src, nodeID, m.SnapshotSeq, src.LastSeq()); err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		res, err := backup.Prune(ctx, st, nil, nodeID, backup.RetentionPolicy{KeepLast: 2}, time.Now(), "")
		if err != nil || len(res.Backups) != 2 || res.LogObjects != 2 {
			t.Fatalf("%v %+v", err, res)
		}
		cat, _ := backup.ReadCatalog(ctx, st, nil)
		if len(cat.Backups) != 2 || cat.Backups[0].BackupID != ms[2].BackupID || cat.Backups[1].BackupID != ms[3].BackupID || len(cat.Log[nodeID]) != 2 {
			t.Fatalf("after prune: %+v", cat)
		}
		rep, _ := backup.Verify(ctx, st, backup.VerifyOptions{})
		if !rep.OK() {
			t.Fatalf("%+v", rep.Problems)
		}
	})

	t.Run("OutageLosesNoLog", func(t *testing.T) {
		st := srv.Store(t, "outage", "")
		src := backup.NewFakeSource()
		fill(src, 100, "before")
		a, err := backup.NewAgent(backup.Options{Store: st, Snapshots: src, Log: src, Identity: ident(),
			ShipInterval: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(tw{t}, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		a.Start()
		waitFor(t, "first backup", func() bool { return a.Status().Successes == 1 })
		fill(src, 100, "up")
		waitFor(t, "shipping", func() bool { return a.Status().ShippedSeq == src.LastSeq() })
		srv.Stop()
		fill(src, 500, "down")
		waitFor(t, "failures", func() bool { s := a.Status(); return !s.ShipOK && s.ShipFailures >= 2 })
		src.DropBefore(src.LastSeq()) // a log rewrite while the store is down
		srv.Restart()
		fill(src, 100, "back")
		waitFor(t, "catch-up", func() bool { s := a.Status(); return s.ShipOK && s.ShippedSeq == src.LastSeq() })
		rep, err := backup.Verify(ctx, st, backup.VerifyOptions{})
		if err != nil || !rep.OK() || rep.LogRecords != 700 {
			t.Fatalf("%v %+v", err, rep)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
