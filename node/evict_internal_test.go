package node

import (
	"strconv"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
)

func TestEvictPoolKeepsBestCandidates(t *testing.T) {
	n := &Node{}
	for i := 0; i < 40; i++ {
		score := uint64((i * 7) % 40) // 0..39 in a scrambled order
		n.evictPoolAdd(evictCand{score: score, key: "k" + strconv.FormatUint(score, 10)})
	}
	n.evictPoolAdd(evictCand{score: 39, key: "k39"}) // duplicate: ignored
	p := n.evict.pool
	if len(p) != evictPoolSize {
		t.Fatalf("pool size %d", len(p))
	}
	for i, c := range p {
		if want := uint64(40 - evictPoolSize + i); c.score != want || c.key != "k"+strconv.FormatUint(want, 10) {
			t.Fatalf("pool[%d] = %+v, want score %d", i, c, want)
		}
	}
}

func TestLimitReached(t *testing.T) {
	// Exercised through time-free cases: hard, under soft, soft clock.
	l := outputLimitForTest(100, 50, 0)
	var since = zeroTime
	if !limitReached(l, 100, &since, nowForTest) {
		t.Fatal("hard limit not reached at 100")
	}
	if limitReached(l, 49, &since, nowForTest) || !since.IsZero() {
		t.Fatal("under soft limit")
	}
	if limitReached(l, 60, &since, nowForTest) || since.IsZero() {
		t.Fatal("first time over soft starts the clock only")
	}
	if !limitReached(l, 60, &since, nowForTest.Add(1)) {
		t.Fatal("over soft for longer than 0s")
	}
}

var (
	zeroTime   = time.Time{}
	nowForTest = time.Unix(1700000000, 0)
)

func outputLimitForTest(hard, soft int64, secs time.Duration) config.OutputBufferLimit {
	return config.OutputBufferLimit{Hard: hard, Soft: soft, SoftSeconds: secs}
}
