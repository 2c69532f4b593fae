// Package s3 is a backup.ObjectStore over any S3-compatible service
// (MinIO, AWS S3 ...). It is the only package of slotvault that imports
// minio-go. Objects of unknown length are uploaded with multipart upload,
// streaming: at most NumThreads parts of PartSize bytes are buffered, never
// the whole object; a failed upload is aborted (minio-go aborts on error),
// and CleanIncomplete aborts uploads left by a process that died.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/slotvault/slotvault/backup"
)

// Options open a store.
type Options struct {
	// Endpoint is the service URL, e.g. "http://127.0.0.1:9000"; the
	// scheme decides TLS. Empty means AWS S3 ("https://s3.amazonaws.com").
	Endpoint string
	Bucket   string
	// Prefix is prepended to every object name ("" or ending in "/").
	Prefix    string
	AccessKey string
	SecretKey string
	Region    string
	// PartSize and Threads bound upload memory to PartSize*Threads.
	PartSize uint64
	Threads  uint
	// MaxRetries per request (default 3): the callers retry themselves.
	MaxRetries int
}

// Store is an S3 bucket (and prefix).
type Store struct {
	c      *minio.Client
	bucket string
	prefix string
	part   uint64
	thr    uint
}

var (
	_ backup.ObjectStore       = (*Store)(nil)
	_ backup.IncompleteCleaner = (*Store)(nil)
	_ backup.Checker           = (*Store)(nil)
)

// New opens a store; it does no network I/O (Check does).
func New(o Options) (*Store, error) {
	ep := o.Endpoint
	if ep == "" {
		ep = "https://s3.amazonaws.com"
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("backup/s3: bad endpoint %q: want http://HOST:PORT or https://HOST", ep)
	}
	if o.Bucket == "" {
		return nil, errors.New("backup/s3: no bucket")
	}
	retries := o.MaxRetries
	if retries <= 0 {
		retries = 3
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:      credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:     u.Scheme == "https",
		Region:     o.Region,
		MaxRetries: retries,
	})
	if err != nil {
		return nil, fmt.Errorf("backup/s3: %w", err)
	}
	p := o.Prefix
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	s := &Store{c: c, bucket: o.Bucket, prefix: strings.TrimPrefix(p, "/"), part: o.PartSize, thr: o.Threads}
	if s.part == 0 {
		s.part = 16 << 20
	}
	if s.thr == 0 {
		s.thr = 2
	}
	return s, nil
}

// classify maps service errors to the backup package's sentinels, keeping
// the original text.
func classify(err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey":
		return fmt.Errorf("%w: %v", backup.ErrNotFound, err)
	case "NoSuchBucket":
		return fmt.Errorf("%w: %v", backup.ErrNoBucket, err)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return fmt.Errorf("%w: %v", backup.ErrAccessDenied, err)
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) || resp.StatusCode >= 500 {
		return fmt.Errorf("%w: %v", backup.ErrUnavailable, err)
	}
	return err
}

// Check implements backup.Checker: one request that tells a missing bucket
// from bad credentials from an unreachable service.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return classify(err)
	}
	if !ok {
		return fmt.Errorf("%w: %s", backup.ErrNoBucket, s.bucket)
	}
	// Listing needs the credentials to be accepted.
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, MaxKeys: 1}) {
		if o.Err != nil {
			return classify(o.Err)
		}
		break
	}
	return nil
}

// Put implements backup.ObjectStore with a streaming multipart upload.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	info, err := s.c.PutObject(ctx, s.bucket, s.prefix+key, r, -1, minio.PutObjectOptions{
		ContentType:           "application/octet-stream",
		PartSize:              s.part,
		NumThreads:            s.thr,
		ConcurrentStreamParts: s.thr > 1,
		// No SHA-256 of every part for the request signature (minio-go
		// computes it over plain http): the backup pipeline already hashes
		// the stored bytes for the manifest, and minio-go sends a CRC32C
		// trailer instead, so the transfer is still checked.
		DisableContentSha256: true,
	})
	if err != nil {
		return 0, classify(err)
	}
	return info.Size, nil
}

// Get implements backup.ObjectStore.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, classify(err)
	}
	// GetObject is lazy; Stat makes the request so a missing object is
	// reported here.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, classify(err)
	}
	return obj, nil
}

// List implements backup.ObjectStore.
func (s *Store) List(ctx context.Context, prefix string) ([]backup.ObjectInfo, error) {
	var out []backup.ObjectInfo
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, classify(o.Err)
		}
		out = append(out, backup.ObjectInfo{Key: strings.TrimPrefix(o.Key, s.prefix), Size: o.Size, ModTime: o.LastModified})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete implements backup.ObjectStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	return classify(s.c.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}))
}

// CleanIncomplete implements backup.IncompleteCleaner.
func (s *Store) CleanIncomplete(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	n := 0
	for u := range s.c.ListIncompleteUploads(ctx, s.bucket, s.prefix+prefix, true) {
		if u.Err != nil {
			return n, classify(u.Err)
		}
		if u.Initiated.Before(olderThan) {
			if err := s.c.RemoveIncompleteUpload(ctx, s.bucket, u.Key); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// CreateBucket makes the store's bucket if it does not exist (tests and
// first-time setup).
func (s *Store) CreateBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return classify(err)
	}
	if ok {
		return nil
	}
	return classify(s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}))
}
