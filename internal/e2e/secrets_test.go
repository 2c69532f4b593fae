package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/miniotest"
	"github.com/slotvault/slotvault/internal/testutil"
)

// TestS3CredentialsNeverShown runs the binary backing up to MinIO with
// credentials from the environment and from backup-s3-credentials-file
// (and once with a wrong secret, so the error paths log too), at log level
// debug, drives backups, and requires that neither the access key nor the
// secret appear in the log, INFO everything, CONFIG GET *, CLIENT LIST,
// SLOWLOG or SVBACKUP STATUS.
func TestS3CredentialsNeverShown(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	srv := miniotest.Start(t)
	srv.Store(t, "sec", "")
	const wrongSecret = "wrong-secret-d41d8cd98f00b204"
	secrets := []string{miniotest.AccessKey, miniotest.SecretKey, wrongSecret}
	base := []string{"--appendonly", "yes", "--save", "", "--loglevel", "debug",
		"--backup-s3-endpoint", srv.Endpoint, "--backup-log-ship-interval", "100ms",
		"--slowlog-log-slower-than", "0"}

	credFile := func(secret string) string {
		p := filepath.Join(t.TempDir(), "s3.credentials")
		body := "# test credentials\nAWS_ACCESS_KEY_ID=" + miniotest.AccessKey + "\nAWS_SECRET_ACCESS_KEY=" + secret + "\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name  string
		env   bool
		extra []string
		ok    bool
	}{
		{"env", true, []string{"--backup-target", "s3://sec/env"}, true},
		{"file", false, []string{"--backup-target", "s3://sec/file", "--backup-s3-credentials-file", credFile(miniotest.SecretKey)}, true},
		{"wrong-secret", false, []string{"--backup-target", "s3://sec/wrong", "--backup-s3-credentials-file", credFile(wrongSecret)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env {
				t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
				t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
			} else {
				t.Setenv("AWS_ACCESS_KEY_ID", "")
				t.Setenv("AWS_SECRET_ACCESS_KEY", "")
			}
			p := testutil.StartSlotvault(t, append(append([]string{}, base...), tc.extra...)...)
			waitLoaded(t, p.Addr())
			c := testutil.Dial(t, p.Addr())
			c.Timeout = 30 * time.Second
			for i := 0; i < 50; i++ {
				c.Do("SET", "k"+string(rune('a'+i%26)), "v")
			}
			t0 := time.Now()
			c.Do("SVBACKUP", "NOW")
			defer func() { t.Logf("backup phase %v", time.Since(t0)) }()
			if tc.ok {
				svWait(t, c, "backup", func(f map[string]string) bool { return f["backup_ok_count"] != "0" && f["backup_ok_count"] != "" })
				t.Logf("backup ok after %v", time.Since(t0))
				waitShipped(t, c)
				t.Logf("shipped after %v", time.Since(t0))
			} else {
				waitFor(t, "a failed backup", 30*time.Second, func() bool {
					f := svStatus(t, c)
					return f["backup_last_status"] != "" && f["backup_last_status"] != "ok" || strings.Contains(p.Output(), "backup failed")
				})
			}
			var shown []string
			for _, args := range [][]string{
				{"INFO", "everything"}, {"CONFIG", "GET", "*"}, {"CLIENT", "LIST"},
				{"SLOWLOG", "GET", "1000"}, {"SVBACKUP", "STATUS"}, {"SVBACKUP", "LIST"},
			} {
				v, err := c.Do(args...)
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				shown = append(shown, strings.Join(args, " ")+": "+v.String())
			}
			// Stop the node so the shutdown path logs too.
			c.Do("SHUTDOWN", "NOSAVE")
			p.Wait()
			shown = append(shown, "log: "+p.Output())
			for _, s := range shown {
				for _, secret := range secrets {
					if strings.Contains(s, secret) {
						t.Errorf("credential %q shown in %.200s", secret, s)
					}
				}
			}
			if !strings.Contains(shown[1], "backup-s3-endpoint") {
				t.Errorf("CONFIG GET * lacks the backup directives: %.300s", shown[1])
			}
		})
	}
}
