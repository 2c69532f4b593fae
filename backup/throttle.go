package backup

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// throttledStore paces the Put of full-backup snapshots to at most rate
// stored bytes per second. The upload pulls the whole pipeline (a cut's
// encoders, zstd, encryption, SHA-256 all block on a bounded pipe), so
// pacing the upload caps the CPU a backup takes from the node as well as
// its network use. Log shipping is never paced: its lag is what point in
// time recovery loses.
type throttledStore struct {
	ObjectStore
	rate *atomic.Int64 // bytes per second; 0 = unlimited
}

var _ IncompleteCleaner = throttledStore{}

func (s throttledStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if s.rate.Load() <= 0 {
		return s.ObjectStore.Put(ctx, key, r)
	}
	return s.ObjectStore.Put(ctx, key, &pacedReader{ctx: ctx, r: r, rate: s.rate, start: time.Now()})
}

// CleanIncomplete forwards to the store when it has incomplete uploads.
func (s throttledStore) CleanIncomplete(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	if c, ok := s.ObjectStore.(IncompleteCleaner); ok {
		return c.CleanIncomplete(ctx, prefix, olderThan)
	}
	return 0, nil
}

// pacedReader sleeps so that the bytes read since start never run more
// than a few milliseconds ahead of rate. A rate changed mid-backup
// (CONFIG SET) applies from the next read on.
type pacedReader struct {
	ctx   context.Context
	r     io.Reader
	rate  *atomic.Int64
	start time.Time
	n     int64
}

func (p *pacedReader) Read(b []byte) (int, error) {
	rate := p.rate.Load()
	if rate > 0 {
		if max := int(min(rate/20, 1<<20)) + 1; len(b) > max {
			b = b[:max]
		}
		due := p.start.Add(time.Duration(float64(p.n) / float64(rate) * float64(time.Second)))
		if wait := time.Until(due); wait > time.Millisecond {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-p.ctx.Done():
				t.Stop()
				return 0, p.ctx.Err()
			}
		}
	} else {
		// Unlimited now: restart the clock so a later limit does not
		// start with a burst of credit.
		p.start, p.n = time.Now(), 0
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}
