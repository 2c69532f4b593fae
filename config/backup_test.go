package config

import (
	"strings"
	"testing"
	"time"
)

func TestBackupDirectives(t *testing.T) {
	c, err := Load("", []string{"--backup-target", "s3://bk/prod/a", "--backup-s3-endpoint", "http://127.0.0.1:9000",
		"--backup-schedule", "@every 10s", "--backup-log-ship-interval", "500ms", "--backup-keep-last", "3",
		"--backup-max-age", "7d", "--backup-encryption-key-file", "/etc/k"})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Backup
	if b.Target != "s3://bk/prod/a" || b.Schedule != "@every 10s" || b.LogShipInterval != 500*time.Millisecond ||
		b.KeepLast != 3 || b.MaxAge != 7*24*time.Hour || b.EncryptionKeyFile != "/etc/k" {
		t.Fatalf("%+v", b)
	}
	got := map[string]string{}
	for _, kv := range c.Get("backup-*", func(p, n string) bool { return strings.HasPrefix(n, "backup-") }) {
		got[kv[0]] = kv[1]
	}
	if got["backup-max-age"] != "7d" || got["backup-log-ship-interval"] != "500ms" || got["backup-keep-last"] != "3" {
		t.Fatalf("%v", got)
	}
	if Default().Backup.LogShipInterval != time.Second {
		t.Fatal("default ship interval")
	}
	for _, bad := range [][]string{
		{"--backup-target", "ftp://x"}, {"--backup-target", "file://relative"}, {"--backup-target", "s3://user:pw@bucket/x"},
		{"--backup-schedule", "every day"}, {"--backup-log-ship-interval", "soon"}, {"--backup-keep-last", "-1"},
		{"--backup-s3-endpoint", "127.0.0.1:9000"},
	} {
		if _, err := Load("", bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	d := Default()
	d.Dir = "/data/n1"
	if d.DefaultTarget() != "file:///data/n1/backups" {
		t.Fatal(d.DefaultTarget())
	}
	if err := d.Set("backup-schedule", "0 3 * * *"); err != nil || d.Backup.Schedule != "0 3 * * *" {
		t.Fatal(err)
	}
}
