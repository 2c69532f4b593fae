package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const testNode = "0123456789abcdef0123456789abcdef01234567"

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testIdent() Identity {
	return StaticIdentity(NodeInfo{NodeID: testNode, Role: "master", Slots: [][2]int{{0, 16383}}, ConfigEpoch: 1, ReplID: "r", ReplOffset: 7})
}

func testKey(t *testing.T) *Key {
	k, err := ParseKey(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clock returns increasing times so backup IDs differ.
func clock(start time.Time) func() time.Time {
	t := start
	return func() time.Time { t = t.Add(time.Second); return t }
}

func fill(src *FakeSource, n int, prefix string) {
	for i := 0; i < n; i++ {
		src.Set(fmt.Sprintf("%s:%d", prefix, i), fmt.Sprintf("value-%s-%d", prefix, i), 0)
	}
}

func TestCryptRoundTrip(t *testing.T) {
	k := testKey(t)
	for _, n := range []int{0, 1, 100, encChunk - 1, encChunk, encChunk + 1, 3*encChunk + 5} {
		plain := make([]byte, n)
		rand.Read(plain)
		var buf bytes.Buffer
		w, err := newEncryptWriter(&buf, k)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		enc := buf.Bytes()
		r, err := newDecryptReader(bytes.NewReader(enc), k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("n=%d: round trip failed: %v", n, err)
		}
		// Truncation at a chunk boundary must not pass as complete.
		if n > encChunk {
			cut := enc[:encHeaderLen+encChunk+encTag]
			r, _ := newDecryptReader(bytes.NewReader(cut), k)
			if _, err := io.ReadAll(r); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("n=%d: truncated object read without error: %v", n, err)
			}
		}
		// A flipped bit fails authentication.
		if n > 0 {
			bad := append([]byte(nil), enc...)
			bad[len(bad)-20] ^= 1
			r, _ := newDecryptReader(bytes.NewReader(bad), k)
			if _, err := io.ReadAll(r); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("n=%d: tampered object read without error: %v", n, err)
			}
		}
	}
	other, _ := ParseKey(strings.Repeat("cd", 32))
	var buf bytes.Buffer
	w, _ := newEncryptWriter(&buf, k)
	w.Write([]byte("x"))
	w.Close()
	if _, err := newDecryptReader(bytes.NewReader(buf.Bytes()), other); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := newDecryptReader(bytes.NewReader(buf.Bytes()), nil); !errors.Is(err, ErrEncrypted) {
		t.Fatalf("no key: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31), strings.Repeat("ab", 33)} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := ParseKey(" " + strings.Repeat("AB", 32) + "\n"); err != nil {
		t.Error(err)
	}
}

func TestStreamTruncated(t *testing.T) {
	var buf bytes.Buffer
	sw, _ := newStreamWriter(&buf, magicSnapshot)
	sw.WriteEntry(Entry{Key: []byte("k"), Value: []byte("v")})
	sw.Close(5)
	full := buf.Bytes()
	for _, cut := range []int{len(full) - 1, len(full) - 25, headerLen + 3} {
		sr, err := newStreamReader(bytes.NewReader(full[:cut]))
		if err != nil {
			continue
		}
		for err == nil {
			_, err = sr.NextEntry()
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("cut at %d: %v", cut, err)
		}
	}
	sr, _ := newStreamReader(bytes.NewReader(full))
	e, err := sr.NextEntry()
	if err != nil || string(e.Key) != "k" {
		t.Fatal(e, err)
	}
	if _, err := sr.NextEntry(); err != io.EOF || sr.endSeq != 5 {
		t.Fatal(err, sr.endSeq)
	}
}

func TestFullBackupVerifyAndRead(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypted), func(t *testing.T) {
			ctx := context.Background()
			st := NewMemStore()
			src := NewFakeSource()
			fill(src, 2000, "user")
			src.Set("secret", "PLAINTEXT-CANARY-42", 1893456000000)
			var key *Key
			if encrypted {
				key = testKey(t)
			}
			m, err := FullBackup(ctx, st, key, src, testIdent(), clock(time.Now()), testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if m.Keys != 2001 || m.SnapshotSeq != 2001 || len(m.Objects) != 1 {
				t.Fatalf("manifest: %+v", m)
			}
			rep, err := Verify(ctx, st, VerifyOptions{Key: key})
			if err != nil || !rep.OK() || rep.Keys != 2001 || rep.Backups != 1 {
				var b strings.Builder
				rep.Print(&b)
				t.Fatalf("verify: %v\n%s", err, b.String())
			}
			got := map[string]Entry{}
			cat, _ := ReadCatalog(ctx, st, key)
			if err := ReadSnapshot(ctx, st, cat.Backups[0].Manifest, key, func(e Entry) error { got[string(e.Key)] = e; return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != 2001 || got["secret"].Expire != 1893456000000 {
				t.Fatalf("read back %d keys, %+v", len(got), got["secret"])
			}
			for _, k := range st.Keys() {
				b := st.Bytes(k)
				has := bytes.Contains(b, []byte("PLAINTEXT-CANARY-42")) || bytes.Contains(b, []byte("value-user-1"))
				if encrypted && !strings.HasPrefix(k, "topology/") && (has || !isEncrypted(b)) {
					t.Errorf("%s holds plaintext", k)
				}
			}
			if encrypted {
				rep, err := Verify(ctx, st, VerifyOptions{})
				if err != nil || rep.OK() || !errors.Is(rep.Problems[0].Err, ErrEncrypted) {
					t.Fatalf("verify without key: %v %+v", err, rep)
				}
			}
		})
	}
}

func TestVerifyReportsDamage(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore()
	src := NewFakeSource()
	fill(src, 500, "a")
	m, err := FullBackup(ctx, st, nil, src, testIdent(), clock(time.Now()), nil)
	if err != nil {
		t.Fatal(err)
	}
	fill(src, 50, "b")
	if _, _, err := ShipLog(ctx, st, nil, src, testNode, m.SnapshotSeq, src.LastSeq()); err != nil {
		t.Fatal(err)
	}
	fill(src, 50, "c")
	if _, _, err := ShipLog(ctx, st, nil, src, testNode, m.SnapshotSeq+50, src.LastSeq()); err != nil {
		t.Fatal(err)
	}
	fill(src, 50, "d")
	if _, _, err := ShipLog(ctx, st, nil, src, testNode, m.SnapshotSeq+100, src.LastSeq()); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(ctx, st, VerifyOptions{BackupID: m.BackupID})
	if err != nil || !rep.OK() || rep.LogRecords != 150 {
		t.Fatalf("clean verify: %v %+v", err, rep)
	}
	snap := m.Dir() + snapshotName
	orig := st.Bytes(snap)

	// A flipped byte in the snapshot.
	bad := append([]byte(nil), orig...)
	bad[len(bad)/2] ^= 0x40
	st.SetBytes(snap, bad)
	rep, _ = Verify(ctx, st, VerifyOptions{})
	if rep.OK() || rep.Problems[0].Object != snap || !errors.Is(rep.Problems[0].Err, ErrCorrupt) {
		t.Fatalf("corrupt snapshot not reported: %+v", rep.Problems)
	}
	// The snapshot deleted.
	st.Delete(ctx, snap)
	rep, _ = Verify(ctx, st, VerifyOptions{})
	if rep.OK() || !strings.Contains(rep.Problems[0].Err.Error(), "missing") {
		t.Fatalf("missing snapshot not reported: %+v", rep.Problems)
	}
	st.SetBytes(snap, orig)
	// A log object deleted from the middle of the chain.
	los, _ := ListLog(ctx, st, testNode)
	if len(los) != 3 {
		t.Fatalf("%d log objects", len(los))
	}
	st.Delete(ctx, los[1].Name)
	rep, _ = Verify(ctx, st, VerifyOptions{})
	if rep.OK() || rep.Problems[0].Object != los[2].Name || !strings.Contains(rep.Problems[0].Err.Error(), "missing") {
		t.Fatalf("log gap not reported: %+v", rep.Problems)
	}
	// A corrupt log object.
	st.SetBytes(los[1].Name, []byte("garbage"))
	rep, _ = Verify(ctx, st, VerifyOptions{})
	if rep.OK() || rep.Problems[0].Object != los[1].Name {
		t.Fatalf("corrupt log object not reported: %+v", rep.Problems)
	}
	if _, err := Verify(ctx, st, VerifyOptions{BackupID: "nope"}); !errors.Is(err, ErrBackupNotFound) {
		t.Fatal(err)
	}
}

func TestInterruptedBackupLeavesNothing(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore()
	src := NewFakeSource()
	fill(src, 100, "k")
	st.SetFault(func(op, key string) error {
		if op == "put" && strings.HasSuffix(key, manifestName) {
			return errors.New("connection reset")
		}
		return nil
	})
	if _, err := FullBackup(ctx, st, nil, src, testIdent(), clock(time.Now()), nil); err == nil {
		t.Fatal("backup succeeded without its manifest")
	}
	if keys := st.Keys(); len(keys) != 0 {
		t.Fatalf("left behind: %v", keys)
	}
	st.SetFault(nil)
	// A backup whose data exists without manifest (process died) is not
	// listed as complete and is pruned after the grace period.
	st.SetBytes(backupDir(testNode, "20200101T000000.000Z-01234567")+snapshotName, []byte("partial"))
	st.SetModTime(backupDir(testNode, "20200101T000000.000Z-01234567")+snapshotName, time.Now().Add(-2*time.Hour))
	cat, _ := ReadCatalog(ctx, st, nil)
	if len(cat.Backups) != 1 || cat.Backups[0].Complete {
		t.Fatalf("%+v", cat.Backups)
	}
	res, err := Prune(ctx, st, nil, testNode, RetentionPolicy{}, time.Now(), "")
	if err != nil || len(res.Incomplete) != 1 || len(st.Keys()) != 0 {
		t.Fatalf("%v %+v %v", err, res, st.Keys())
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore()
	src := NewFakeSource()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := clock(base)
	var ms []*Manifest
	shipped := uint64(0)
	for i := 0; i < 5; i++ {
		fill(src, 10, fmt.Sprint("b", i))
		if i > 0 {
			last, _, err := ShipLog(ctx, st, nil, src, testNode, shipped, src.LastSeq())
			if err != nil {
				t.Fatal(err)
			}
			shipped = last
		}
		m, err := FullBackup(ctx, st, nil, src, testIdent(), now, nil)
		if err != nil {
			t.Fatal(err)
		}
		shipped = m.SnapshotSeq
		ms = append(ms, m)
	}
	res, err := Prune(ctx, st, nil, testNode, RetentionPolicy{KeepLast: 2}, base.Add(time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Backups) != 3 || len(res.Kept) != 2 || res.Kept[0] != ms[3].BackupID || res.Kept[1] != ms[4].BackupID {
		t.Fatalf("%+v", res)
	}
	los, _ := ListLog(ctx, st, testNode)
	for _, lo := range los {
		if lo.LastSeq <= ms[3].SnapshotSeq {
			t.Errorf("log object %s kept though no kept backup needs it", lo.Name)
		}
	}
	rep, _ := Verify(ctx, st, VerifyOptions{})
	if !rep.OK() || rep.Backups != 2 {
		t.Fatalf("%+v", rep)
	}
	// Age: everything is a day old, but the newest complete backup stays.
	res, err = Prune(ctx, st, nil, testNode, RetentionPolicy{MaxAge: time.Hour}, base.Add(24*time.Hour), "")
	if err != nil || len(res.Backups) != 1 || len(res.Kept) != 1 || res.Kept[0] != ms[4].BackupID {
		t.Fatalf("%v %+v", err, res)
	}
}

// agentFixture is an agent over a MemStore and a FakeSource.
func newTestAgent(t *testing.T, st ObjectStore, src *FakeSource, key *Key) *Agent {
	a, err := NewAgent(Options{Store: st, Key: key, Snapshots: src, Log: src, Identity: testIdent(),
		Topology: func() Topology {
			return Topology{CurrentEpoch: 1, Nodes: []TopologyNode{{ID: testNode, Role: "master", Slots: [][2]int{{0, 16383}}}}}
		},
		ShipInterval: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestAgentShipsThroughOutage(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore()
	src := NewFakeSource()
	fill(src, 100, "x")
	a := newTestAgent(t, st, src, nil)
	a.Start()
	// The first contact finds no backup and takes one.
	waitFor(t, "first backup", func() bool { return a.Status().Successes == 1 })
	fill(src, 100, "y")
	waitFor(t, "shipping", func() bool { s := a.Status(); return s.ShippedSeq == src.LastSeq() })

	var down atomicBool
	st.SetFault(func(op, key string) error {
		if down.get() {
			return fmt.Errorf("%w: connection refused", ErrUnavailable)
		}
		return nil
	})
	down.set(true)
	fill(src, 300, "z")
	waitFor(t, "failure in status", func() bool { s := a.Status(); return !s.ShipOK && s.ShipFailures >= 2 })
	if s := a.Status(); s.ShippedSeq >= src.LastSeq() || s.LastShipError == "" {
		t.Fatalf("%+v", s)
	}
	// A log rewrite during the outage must keep unshipped records.
	src.DropBefore(src.LastSeq())
	down.set(false)
	waitFor(t, "catch-up", func() bool { return a.Status().ShippedSeq == src.LastSeq() && a.Status().ShipOK })
	rep, err := Verify(ctx, st, VerifyOptions{})
	if err != nil || !rep.OK() || rep.LogRecords != 400 {
		t.Fatalf("%v %+v", err, rep)
	}
	if src.Retained() != src.LastSeq() {
		t.Fatalf("retain mark %d, want %d", src.Retained(), src.LastSeq())
	}
	cat, _ := ReadCatalog(ctx, st, nil)
	if len(cat.Topology) < 1 {
		t.Fatalf("topology records: %d", len(cat.Topology))
	}
}

func TestAgentLogGapTakesFullBackup(t *testing.T) {
	st := NewMemStore()
	src := NewFakeSource()
	fill(src, 10, "x")
	a := newTestAgent(t, st, src, nil)
	a.Start()
	waitFor(t, "first backup", func() bool { return a.Status().Successes == 1 })
	fill(src, 10, "y")
	src.ForceDrop(src.LastSeq()) // the local log lost unshipped records
	fill(src, 1, "z")
	waitFor(t, "gap backup", func() bool { s := a.Status(); return s.LogGaps == 1 && s.Successes == 2 })
	fill(src, 5, "w")
	waitFor(t, "shipping resumes", func() bool { return a.Status().ShippedSeq == src.LastSeq() })
	rep, _ := Verify(context.Background(), st, VerifyOptions{})
	if !rep.OK() {
		t.Fatalf("%+v", rep.Problems)
	}
}

func TestAgentBackupNowAndSchedule(t *testing.T) {
	st := NewMemStore()
	src := NewFakeSource()
	fill(src, 10, "x")
	a := newTestAgent(t, st, src, testKey(t))
	if err := a.SetSchedule("not a cron"); err == nil {
		t.Fatal("bad schedule accepted")
	}
	if err := a.SetSchedule("@every 1s"); err != nil {
		t.Fatal(err)
	}
	a.Start()
	m, err := a.BackupNow(context.Background())
	if err != nil && !errors.Is(err, ErrBackupInProgress) {
		t.Fatal(err)
	}
	if m != nil && m.Encryption == nil {
		t.Fatal("no encryption info")
	}
	waitFor(t, "scheduled backups", func() bool { return a.Status().Successes >= 2 })
	if len(a.List()) < 1 {
		t.Fatal("empty list")
	}
	src.OpenErr = errors.New("disk on fire")
	a.BackupNow(context.Background())
	waitFor(t, "failure", func() bool { return a.Status().Failures >= 1 })
	if s := a.Status(); !strings.Contains(s.LastFailure, "disk on fire") {
		t.Fatalf("%+v", s)
	}
}
