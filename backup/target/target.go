// Package target opens a backup.ObjectStore from a target URL:
// s3://BUCKET[/PREFIX] (backup/s3) or file:///PATH (backup/file).
//
// S3 credentials come from backup-s3-credentials-file when set, else from
// the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment. The file holds
// either KEY=VALUE lines (AWS_ACCESS_KEY_ID=..., AWS_SECRET_ACCESS_KEY=...)
// or the AWS shared-credentials form ([default] aws_access_key_id = ...).
// Credentials are never part of a target URL, never logged and never
// shown by INFO or CONFIG GET.
package target

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/backup/file"
	"github.com/slotvault/slotvault/backup/s3"
)

// Options open a target.
type Options struct {
	S3Endpoint      string
	CredentialsFile string
	// Getenv reads the environment (nil means os.Getenv).
	Getenv func(string) string
}

// ErrBadTarget is wrapped by every target URL error.
var ErrBadTarget = errors.New("backup: bad target")

// Validate checks a target URL's form without opening it.
func Validate(target string) error {
	_, _, _, err := parse(target)
	return err
}

func parse(target string) (scheme, bucket, path string, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", "", "", fmt.Errorf("%w: %q: %v", ErrBadTarget, target, err)
	}
	if u.User != nil {
		return "", "", "", fmt.Errorf("%w: credentials do not belong in the target URL (use the environment or backup-s3-credentials-file)", ErrBadTarget)
	}
	switch u.Scheme {
	case "s3":
		if u.Host == "" {
			return "", "", "", fmt.Errorf("%w: %q: want s3://BUCKET/PREFIX", ErrBadTarget, target)
		}
		return "s3", u.Host, strings.TrimPrefix(u.Path, "/"), nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "", "", "", fmt.Errorf("%w: %q: want file:///ABSOLUTE/PATH", ErrBadTarget, target)
		}
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return "", "", "", fmt.Errorf("%w: %q: want file:///ABSOLUTE/PATH", ErrBadTarget, target)
		}
		return "file", "", u.Path, nil
	}
	return "", "", "", fmt.Errorf("%w: %q: the scheme must be s3:// or file://", ErrBadTarget, target)
}

// Open returns the store a target URL names.
func Open(target string, o Options) (backup.ObjectStore, error) {
	scheme, bucket, path, err := parse(target)
	if err != nil {
		return nil, err
	}
	if scheme == "file" {
		return file.New(path)
	}
	id, secret, err := Credentials(o)
	if err != nil {
		return nil, err
	}
	return s3.New(s3.Options{Endpoint: o.S3Endpoint, Bucket: bucket, Prefix: path, AccessKey: id, SecretKey: secret})
}

// Credentials returns the S3 access key and secret.
func Credentials(o Options) (id, secret string, err error) {
	if o.CredentialsFile != "" {
		return readCredentialsFile(o.CredentialsFile)
	}
	get := o.Getenv
	if get == nil {
		get = os.Getenv
	}
	id, secret = get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return "", "", errors.New("backup: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or backup-s3-credentials-file")
	}
	return id, secret, nil
}

func readCredentialsFile(path string) (string, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("backup: reading S3 credentials file: %w", err)
	}
	defer f.Close()
	var id, secret string
	section := "default"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != "default" {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch k {
		case "aws_access_key_id":
			id = v
		case "aws_secret_access_key":
			secret = v
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", fmt.Errorf("backup: reading S3 credentials file: %w", err)
	}
	if id == "" || secret == "" {
		// The file's content is deliberately not quoted in the error.
		return "", "", fmt.Errorf("backup: S3 credentials file %s has no aws_access_key_id / aws_secret_access_key", path)
	}
	return id, secret, nil
}
