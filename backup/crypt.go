package backup

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const (
	encMagic     = "SVBE"
	encVersion   = 1
	encChunkLog2 = 16
	encChunk     = 1 << encChunkLog2
	encHeaderLen = 48
	encTag       = 16
	encScheme    = "aes-256-gcm-chunked-v1"
	hkdfInfo     = "slotvault backup object v1"
)

// Key is a 256-bit master key for client-side encryption.
type Key struct {
	k  [32]byte
	id [8]byte
}

// ParseKey reads a key written as 64 hexadecimal characters (surrounding
// white space ignored).
func ParseKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errors.New("backup: encryption key must be 64 hexadecimal characters (256 bits)")
	}
	k := &Key{}
	copy(k.k[:], b)
	m := hmac.New(sha256.New, k.k[:])
	m.Write([]byte("slotvault key id"))
	copy(k.id[:], m.Sum(nil))
	return k, nil
}

// LoadKeyFile reads a key file (64 hex characters).
func LoadKeyFile(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("backup: reading encryption key file: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// ID returns the key's public identifier (hex), stored in object headers.
func (k *Key) ID() string { return hex.EncodeToString(k.id[:]) }

func (k *Key) objectAEAD(salt []byte) (cipher.AEAD, error) {
	ok, err := hkdf.Key(sha256.New, k.k[:], salt, hkdfInfo, 32)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(ok)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

func chunkNonce(n []byte, idx uint64, final bool) {
	binary.BigEndian.PutUint64(n[0:8], idx)
	n[8], n[9], n[10] = 0, 0, 0
	n[11] = 0
	if final {
		n[11] = 1
	}
}

// encryptWriter seals what is written to it in chunks (see the package
// doc). Close seals the final chunk; it does not close the underlying
// writer.
type encryptWriter struct {
	w      io.Writer
	aead   cipher.AEAD
	header []byte
	buf    []byte // plaintext of the chunk being filled
	out    []byte
	nonce  [12]byte
	idx    uint64
	err    error
}

func newEncryptWriter(w io.Writer, k *Key) (*encryptWriter, error) {
	h := make([]byte, encHeaderLen)
	copy(h, encMagic)
	h[4] = encVersion
	h[5] = encChunkLog2
	copy(h[8:16], k.id[:])
	if _, err := rand.Read(h[16:48]); err != nil {
		return nil, err
	}
	aead, err := k.objectAEAD(h[16:48])
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &encryptWriter{w: w, aead: aead, header: h, buf: make([]byte, 0, encChunk), out: make([]byte, 0, encChunk+encTag)}, nil
}

func (e *encryptWriter) seal(final bool) error {
	chunkNonce(e.nonce[:], e.idx, final)
	e.out = e.aead.Seal(e.out[:0], e.nonce[:], e.buf, e.header)
	e.idx++
	e.buf = e.buf[:0]
	_, err := e.w.Write(e.out)
	return err
}

func (e *encryptWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n := 0
	for len(p) > 0 {
		if len(e.buf) == encChunk {
			// A full chunk is sealed as non-final only once more data
			// follows, so the final chunk is never empty unless the whole
			// stream is.
			if e.err = e.seal(false); e.err != nil {
				return n, e.err
			}
		}
		c := copy(e.buf[len(e.buf):encChunk], p)
		e.buf = e.buf[:len(e.buf)+c]
		p = p[c:]
		n += c
	}
	return n, nil
}

func (e *encryptWriter) Close() error {
	if e.err != nil {
		return e.err
	}
	e.err = e.seal(true)
	if e.err == nil {
		e.err = errors.New("backup: encrypt writer closed")
		return nil
	}
	return e.err
}

// isEncrypted reports whether b starts like an encrypted object.
func isEncrypted(b []byte) bool { return len(b) >= 4 && string(b[:4]) == encMagic }

// decryptReader opens chunks sealed by encryptWriter.
type decryptReader struct {
	r      io.Reader
	aead   cipher.AEAD
	header []byte
	in     []byte
	plain  []byte
	pos    int
	nonce  [12]byte
	idx    uint64
	done   bool
	err    error
	peek   []byte // one byte read ahead to detect the end
}

func newDecryptReader(r io.Reader, k *Key) (*decryptReader, error) {
	h := make([]byte, encHeaderLen)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, fmt.Errorf("%w: short encryption header", ErrCorrupt)
	}
	if string(h[:4]) != encMagic {
		return nil, fmt.Errorf("%w: not an encrypted object", ErrCorrupt)
	}
	if h[4] != encVersion || h[5] != encChunkLog2 {
		return nil, fmt.Errorf("%w: unsupported encryption version %d/%d", ErrCorrupt, h[4], h[5])
	}
	if k == nil {
		return nil, ErrEncrypted
	}
	if !hmac.Equal(h[8:16], k.id[:]) {
		return nil, fmt.Errorf("%w (object key id %x, given key id %s)", ErrWrongKey, h[8:16], k.ID())
	}
	aead, err := k.objectAEAD(h[16:48])
	if err != nil {
		return nil, err
	}
	return &decryptReader{r: r, aead: aead, header: h, in: make([]byte, encChunk+encTag+1)}, nil
}

func (d *decryptReader) fill() error {
	// Read a whole sealed chunk plus one byte to learn whether it is the
	// last one.
	buf := d.in[:0]
	buf = append(buf, d.peek...)
	d.peek = nil
	n, err := io.ReadFull(d.r, d.in[len(buf):encChunk+encTag+1])
	buf = d.in[:len(buf)+n]
	final := false
	switch {
	case err == nil:
		d.peek = []byte{buf[len(buf)-1]}
		buf = buf[:len(buf)-1]
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		final = true
	default:
		return err
	}
	if len(buf) < encTag {
		return fmt.Errorf("%w: encrypted object truncated", ErrCorrupt)
	}
	chunkNonce(d.nonce[:], d.idx, final)
	plain, err := d.aead.Open(d.plain[:0], d.nonce[:], buf, d.header)
	if err != nil {
		return fmt.Errorf("%w: chunk %d fails authentication (tampered or truncated)", ErrCorrupt, d.idx)
	}
	d.idx++
	d.plain, d.pos, d.done = plain, 0, final
	return nil
}

func (d *decryptReader) Read(p []byte) (int, error) {
	for d.pos == len(d.plain) {
		if d.err != nil {
			return 0, d.err
		}
		if d.done {
			return 0, io.EOF
		}
		if err := d.fill(); err != nil {
			d.err = err
			return 0, err
		}
	}
	n := copy(p, d.plain[d.pos:])
	d.pos += n
	return n, nil
}
