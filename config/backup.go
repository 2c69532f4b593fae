package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// BackupConfig holds the backup-* directives (see package backup).
type BackupConfig struct {
	// Target is s3://BUCKET/PREFIX or file:///PATH; "" means
	// file://<dir>/backups (DefaultTarget).
	Target string
	// S3Endpoint is the S3 service URL (http://HOST:PORT); the scheme
	// decides TLS. "" means AWS.
	S3Endpoint string
	// S3CredentialsFile holds the access key and secret; "" means the
	// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment. The path is
	// shown by CONFIG GET; the credentials themselves never are.
	S3CredentialsFile string
	// Schedule is a cron spec for full backups ("" = none).
	Schedule string
	// LogShipInterval is how often the log is shipped.
	LogShipInterval time.Duration
	// KeepLast and MaxAge are the retention policy (0 = no limit).
	KeepLast int
	MaxAge   time.Duration
	// EncryptionKeyFile holds a 256-bit key as 64 hex characters ("" =
	// no encryption).
	EncryptionKeyFile string
	// MaxBandwidth caps a full backup's upload in bytes per second (0 =
	// unlimited); it also caps the CPU a backup takes from the node.
	MaxBandwidth int64
}

// DefaultTarget is where backups go when backup-target is not set.
func (c *Config) DefaultTarget() string {
	if c.Backup.Target != "" {
		return c.Backup.Target
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		dir = c.Dir
	}
	return "file://" + filepath.ToSlash(filepath.Join(dir, "backups"))
}

// parseBackupDuration takes a Go duration ("90s", "36h"), a number of days
// ("7d") or plain seconds ("30").
func parseBackupDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.ParseInt(strings.TrimSuffix(s, "d"), 10, 64); err == nil && n >= 0 && n < 1e5 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("argument must be a duration (e.g. 1s, 500ms, 36h, 7d)")
	}
	return d, nil
}

func fmtBackupDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func validateBackupTarget(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("backup-target must be s3://BUCKET/PREFIX or file:///PATH: %v", err)
	}
	if u.User != nil {
		return errors.New("backup-target must not hold credentials")
	}
	switch {
	case u.Scheme == "s3" && u.Host != "":
	case u.Scheme == "file" && (u.Host == "" || u.Host == "localhost") && filepath.IsAbs(u.Path):
	default:
		return errors.New("backup-target must be s3://BUCKET/PREFIX or file:///ABSOLUTE/PATH")
	}
	return nil
}

func init() {
	bstr := func(name string, f func(c *Config) *string, validate func(string) error) {
		register(&directive{name: name, active: true, kind: kindString,
			set: func(c *Config, a []string) error {
				if validate != nil {
					if err := validate(a[0]); err != nil {
						return err
					}
				}
				*f(c) = a[0]
				return nil
			},
			get: func(c *Config) string { return *f(c) }})
	}
	bdur := func(name string, f func(c *Config) *time.Duration, min time.Duration) {
		register(&directive{name: name, active: true,
			set: func(c *Config, a []string) error {
				d, err := parseBackupDuration(a[0])
				if err != nil {
					return err
				}
				if d < min {
					return fmt.Errorf("argument must be at least %s", min)
				}
				*f(c) = d
				return nil
			},
			get: func(c *Config) string { return fmtBackupDuration(*f(c)) }})
	}
	bstr("backup-target", func(c *Config) *string { return &c.Backup.Target }, validateBackupTarget)
	bstr("backup-s3-endpoint", func(c *Config) *string { return &c.Backup.S3Endpoint }, func(s string) error {
		if s == "" {
			return nil
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return errors.New("backup-s3-endpoint must be http://HOST:PORT or https://HOST[:PORT]")
		}
		return nil
	})
	bstr("backup-s3-credentials-file", func(c *Config) *string { return &c.Backup.S3CredentialsFile }, nil)
	bstr("backup-schedule", func(c *Config) *string { return &c.Backup.Schedule }, func(s string) error {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		if _, err := cron.ParseStandard(s); err != nil {
			return fmt.Errorf("backup-schedule must be a cron spec (\"0 3 * * *\", \"@every 1h\"): %v", err)
		}
		return nil
	})
	bdur("backup-log-ship-interval", func(c *Config) *time.Duration { return &c.Backup.LogShipInterval }, time.Millisecond)
	intDir("backup-keep-last", true, false, 0, maxInt, func(c *Config) *int { return &c.Backup.KeepLast })
	bdur("backup-max-age", func(c *Config) *time.Duration { return &c.Backup.MaxAge }, 0)
	bstr("backup-encryption-key-file", func(c *Config) *string { return &c.Backup.EncryptionKeyFile }, nil)
	memDir("backup-max-bandwidth", true, 0, maxLong, func(c *Config) *int64 { return &c.Backup.MaxBandwidth })
}
