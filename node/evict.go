package node

import (
	"math"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"time"

	"github.com/slotvault/slotvault/store"
)

// Eviction under maxmemory, as Redis 7.0's evict.c.
//
// Memory. Redis counts every byte it allocates and sees a deletion's
// effect at once. A Go heap shrinks only when the collector runs, so the
// node measures "used" as the bytes in heap objects (live data plus
// garbage not yet collected) minus an estimate of what it evicted since the
// last completed collection; each evicted key is estimated at the average
// heap bytes per key. When used memory is over maxmemory and no collection
// ran for a second, the node starts one in the background, which turns the
// estimate back into a measurement (and removes garbage a write burst left,
// so noeviction does not answer -OOM for memory that is not in use).
//
// Policies. allkeys-/volatile- lru, lfu and ttl keep Redis's eviction pool:
// each round samples maxmemory-samples keys per database (from all keys or
// from those with an expiry), scores them (idle time, 255 minus the LFU
// counter, or the time left to live inverted) into a pool of the 16 best
// candidates, and evicts the best one that still exists. The random
// policies take a random key, databases in turn. noeviction evicts nothing:
// commands that may grow memory get -OOM.
//
// Evictions are deletions: the node propagates DEL to the write log and
// the replicas, invalidates WATCH, and counts evicted_keys. A replica does
// not evict on its own while replica-ignore-maxmemory is yes (the default):
// its master's DELs keep it in step. A round stops after a short time
// budget; the cron continues it, as Redis's eviction timer does.

const (
	evictPoolSize = 16 // EVPOOL_SIZE
	// evictMinKeyBytes is the least an evicted key is assumed to free.
	evictMinKeyBytes = 64
	// evictForcedGCEvery limits collections started by the eviction path.
	evictForcedGCEvery = time.Second
)

type evictResult uint8

const (
	evictOK      evictResult = iota // under maxmemory (or nothing to do)
	evictRunning                    // still over, but keys were evicted; continue later
	evictFail                       // over and nothing can be evicted
)

// evictCand is one eviction pool entry; a higher score is evicted first.
type evictCand struct {
	score uint64
	db    int
	key   string
}

// evictState is guarded by the node lock.
type evictState struct {
	keys     int64 // evicted_keys
	samples  []metrics.Sample
	gcCycles uint64
	// freed estimates the heap bytes evicted keys held, since the
	// collection numbered gcCycles.
	freed    int64
	baseline int64 // heap bytes before any data (the node's start)
	lastGC   time.Time
	nextDB   int
	pool     []evictCand
}

func (s *evictState) init() {
	s.samples = []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s.samples)
	s.baseline = int64(s.samples[0].Value.Uint64())
	s.gcCycles = s.samples[1].Value.Uint64()
}

// memoryForEvictLocked is the used memory eviction and -OOM compare with
// maxmemory (see the file comment).
func (n *Node) memoryForEvictLocked() int64 {
	s := &n.evict
	if s.samples == nil {
		s.init()
	}
	metrics.Read(s.samples)
	heap := int64(s.samples[0].Value.Uint64())
	if c := s.samples[1].Value.Uint64(); c != s.gcCycles {
		s.gcCycles, s.freed = c, 0
	}
	used := heap - s.freed
	if used < 0 {
		used = 0
	}
	return used
}

// maybeCollectLocked starts a background collection when none was started
// for a while, so garbage does not count as used memory for long.
func (n *Node) maybeCollectLocked() {
	now := time.Now()
	if now.Sub(n.evict.lastGC) < evictForcedGCEvery {
		return
	}
	n.evict.lastGC = now
	go runtime.GC()
}

// evictionTimeLimit is Redis's evictionTimeLimitUs for
// maxmemory-eviction-tenacity.
func (n *Node) evictionTimeLimit() time.Duration {
	t := n.cfgInt("maxmemory-eviction-tenacity", 10)
	if t <= 10 {
		return time.Duration(50*max(t, 1)) * time.Microsecond
	}
	if t < 100 {
		return time.Duration(float64(500)*math.Pow(1.15, float64(t-10))) * time.Microsecond
	}
	return time.Duration(math.MaxInt64)
}

// performEvictionsLocked evicts keys until used memory is under maxmemory,
// as Redis's performEvictions.
func (n *Node) performEvictionsLocked() evictResult {
	max := n.cfg.MaxMemory
	if max <= 0 || n.loading.Load() {
		return evictOK
	}
	if n.isReplicaLocked() && n.cfgBool("replica-ignore-maxmemory", true) {
		return evictOK
	}
	used := n.memoryForEvictLocked()
	if used <= max {
		return evictOK
	}
	n.maybeCollectLocked()
	policy := n.cfg.MaxMemoryPolicy
	if policy == "noeviction" {
		return evictFail
	}
	var keys int64
	for _, db := range n.dbs {
		keys += int64(db.Size())
	}
	if keys == 0 {
		return evictFail
	}
	per := (used - n.evict.baseline) / keys
	if per < evictMinKeyBytes {
		per = evictMinKeyBytes
	}
	tofree := used - max
	limit := n.evictionTimeLimit()
	start := time.Now()
	var freed int64
	for count := 1; freed < tofree; count++ {
		dbi, key, ok := n.evictCandidateLocked(policy)
		if !ok {
			return evictFail
		}
		n.evictKeyLocked(dbi, key)
		freed += per
		n.evict.freed += per
		if count%16 == 0 && time.Since(start) > limit {
			return evictRunning
		}
	}
	return evictOK
}

// evictKeyLocked deletes key as an eviction.
func (n *Node) evictKeyLocked(dbi int, key string) {
	if n.dbs[dbi].Delete(key) == nil {
		return // it had expired: expiry removed and propagated it
	}
	n.evict.keys++
	n.propagate(dbi, [][]byte{[]byte("DEL"), []byte(key)})
	n.touchKey(dbi, key)
}

// evictCandidateLocked picks the next key to evict under policy.
func (n *Node) evictCandidateLocked(policy string) (int, string, bool) {
	volatile := strings.HasPrefix(policy, "volatile-")
	switch policy {
	case "allkeys-random", "volatile-random":
		for i := 0; i < len(n.dbs); i++ {
			dbi := n.evict.nextDB % len(n.dbs)
			n.evict.nextDB++
			db := n.dbs[dbi]
			var key string
			var ok bool
			if volatile {
				key, ok = db.RandomVolatileKey()
			} else {
				key, ok = db.RandomKey()
			}
			if ok {
				return dbi, key, true
			}
		}
		return 0, "", false
	}
	samples := int(n.cfgInt("maxmemory-samples", 5))
	for {
		total := 0
		for dbi, db := range n.dbs {
			total += db.SampleKeys(samples, volatile, func(key string, e *store.Entry) {
				n.evictPoolAdd(evictCand{score: evictScore(db, policy, e), db: dbi, key: key})
			})
		}
		if total == 0 {
			return 0, "", false
		}
		// The best candidate that still exists (the pool may hold keys
		// deleted since they were sampled).
		for len(n.evict.pool) > 0 {
			c := n.evict.pool[len(n.evict.pool)-1]
			n.evict.pool = n.evict.pool[:len(n.evict.pool)-1]
			if e := n.dbs[c.db].Peek(c.key); e != nil && (!volatile || e.Expire != 0) {
				return c.db, c.key, true
			}
		}
	}
}

// evictScore is Redis's "idle" of a candidate: higher is evicted first.
func evictScore(db *store.DB, policy string, e *store.Entry) uint64 {
	switch policy {
	case "allkeys-lfu", "volatile-lfu":
		return 255 - uint64(db.LFUCounter(e))
	case "volatile-ttl":
		return math.MaxUint64 - uint64(e.Expire)
	}
	return uint64(db.IdleSeconds(e)) * 1000
}

// evictPoolAdd inserts c into the pool, kept sorted by ascending score and
// at most evictPoolSize long (the lowest score drops out).
func (n *Node) evictPoolAdd(c evictCand) {
	p := n.evict.pool
	for _, x := range p {
		if x.db == c.db && x.key == c.key {
			return
		}
	}
	if len(p) == evictPoolSize {
		if c.score <= p[0].score {
			return
		}
		p = append(p[:0], p[1:]...)
	}
	i := sort.Search(len(p), func(i int) bool { return p[i].score >= c.score })
	// The pool keeps its own copy of the key, not the keyspace's.
	c.key = strings.Clone(c.key)
	p = append(p, evictCand{})
	copy(p[i+1:], p[i:])
	p[i] = c
	n.evict.pool = p
}

// EvictedKeys returns INFO's evicted_keys (node lock held).
func (n *Node) EvictedKeys() int64 { return n.evict.keys }

// cronLimits is the periodic part of maxmemory and the output buffer
// limits: it continues an eviction round that ran out of time.
func (n *Node) cronLimits() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cfg.MaxMemory > 0 {
		n.performEvictionsLocked()
	}
	if len(n.repl.replicas) > 0 || len(n.outbuf.replicaSoft) > 0 {
		n.checkReplicaLimitsLocked(time.Now())
	}
}

// execDeniesOOM reports whether cmd is an EXEC whose transaction queued a
// denyoom command: Redis then applies the -OOM check to the EXEC.
func execDeniesOOM(cl *Client, cmd *Command) bool {
	if cmd.Name != "exec" || !cl.inMulti {
		return false
	}
	for _, q := range cl.queued {
		if q.cmd.Flags&FlagDenyOOM != 0 {
			return true
		}
	}
	return false
}
