package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/zstd"
)

// ObjectRef is an object as a manifest lists it.
type ObjectRef struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	RawSize int64  `json:"raw_size"`
	Records uint64 `json:"records"`
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

// uploadStream streams what produce writes through zstd, optional
// encryption and SHA-256 into store under name, with no full copy of the
// object anywhere. produce receives the plaintext writer.
func uploadStream(ctx context.Context, st ObjectStore, name string, key *Key, compress bool, produce func(w io.Writer) error) (ObjectRef, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	type putResult struct {
		n   int64
		err error
	}
	done := make(chan putResult, 1)
	go func() {
		n, err := st.Put(ctx, name, pr)
		// Unblock the producer if Put gave up early.
		pr.CloseWithError(errPutEnded(err))
		done <- putResult{n, err}
	}()

	ref := ObjectRef{Name: name}
	hw := &hashWriter{w: pw, h: sha256.New()}
	err := func() error {
		var sink io.Writer = hw
		var enc *encryptWriter
		if key != nil {
			var err error
			if enc, err = newEncryptWriter(hw, key); err != nil {
				return err
			}
			sink = enc
		}
		var zw *zstd.Encoder
		raw := &countWriter{w: sink}
		if compress {
			var err error
			zw, err = zstd.NewWriter(sink, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(2))
			if err != nil {
				return err
			}
			raw.w = zw
		}
		if err := produce(raw); err != nil {
			if zw != nil {
				zw.Close()
			}
			return err
		}
		ref.RawSize = raw.n
		if zw != nil {
			if err := zw.Close(); err != nil {
				return err
			}
		}
		if enc != nil {
			if err := enc.Close(); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		cancel()
		pw.CloseWithError(err)
		<-done
		return ObjectRef{}, err
	}
	pw.Close()
	res := <-done
	if res.err != nil {
		return ObjectRef{}, res.err
	}
	if res.n != hw.n {
		return ObjectRef{}, fmt.Errorf("backup: store took %d bytes of %d for %s", res.n, hw.n, name)
	}
	ref.Size = hw.n
	ref.SHA256 = hex.EncodeToString(hw.h.Sum(nil))
	return ref, nil
}

func errPutEnded(err error) error {
	if err == nil {
		return errors.New("backup: upload ended")
	}
	return err
}

// objectReader reads a stored object back: it hashes the stored bytes,
// decrypts when the object is encrypted, and decompresses.
type objectReader struct {
	rc    io.ReadCloser
	hw    *hashReader
	zr    *zstd.Decoder
	plain io.Reader
}

type hashReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error // the store's read error, if any
}

func (hr *hashReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	if err != nil && err != io.EOF {
		hr.err = err
	}
	return n, err
}

func openObject(ctx context.Context, st ObjectStore, name string, key *Key, compressed bool) (*objectReader, error) {
	rc, err := st.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	or := &objectReader{rc: rc, hw: &hashReader{r: rc, h: sha256.New()}}
	br := bufio.NewReaderSize(or.hw, 64<<10)
	head, _ := br.Peek(4)
	var src io.Reader = br
	if isEncrypted(head) {
		dr, err := newDecryptReader(br, key)
		if err != nil {
			rc.Close()
			return nil, err
		}
		src = dr
	}
	if compressed {
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, err
		}
		or.zr = zr
		src = zr
	}
	or.plain = src
	return or, nil
}

func (o *objectReader) Read(p []byte) (int, error) { return o.plain.Read(p) }

// finish drains the stored bytes and returns their size and SHA-256.
func (o *objectReader) finish() (int64, string, error) {
	if _, err := io.Copy(io.Discard, o.hw); err != nil {
		return 0, "", err
	}
	return o.hw.n, hex.EncodeToString(o.hw.h.Sum(nil)), nil
}

func (o *objectReader) Close() error {
	if o.zr != nil {
		o.zr.Close()
	}
	return o.rc.Close()
}

// classify turns an error met while decoding an object into ErrCorrupt
// unless it came from reading the store (a transport failure) or is
// already classified.
func (o *objectReader) classify(err error) error {
	if err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongKey) || errors.Is(err, ErrEncrypted) {
		return err
	}
	if o.hw.err != nil {
		return o.hw.err
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}
