package proxy

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"
)

// slotCount is the number of hash slots.
const slotCount = 16384

// slotMap is one immutable snapshot of the cluster's slot assignment, as
// CLUSTER SLOTS reported it. Replaced whole on refresh.
type slotMap struct {
	owner    [slotCount]*node
	masters  []*node // ordered by lowest slot served: SCAN's node index
	replicas map[*node][]*node
	// at is when the map was fetched.
	at time.Time
}

// topology holds the current slot map and refreshes it.
type topology struct {
	p     *Proxy
	mu    sync.Mutex // serializes refreshes
	cur   atomicMap
	last  time.Time
	nodes sync.Map // addr -> *node
}

// node returns the node for addr, creating it on first sight.
func (t *topology) node(addr string) *node {
	if v, ok := t.nodes.Load(addr); ok {
		return v.(*node)
	}
	v, _ := t.nodes.LoadOrStore(addr, &node{addr: addr, p: t.p})
	return v.(*node)
}

// minRefreshInterval bounds slot-map refreshes triggered by redirects.
const minRefreshInterval = 50 * time.Millisecond

var errNoMap = errors.New("proxy: no cluster node answered CLUSTER SLOTS")

// refresh fetches a new slot map unless one was fetched less than
// minRefreshInterval ago (or after since). Concurrent callers wait for
// one fetch.
func (t *topology) refresh(since time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.cur.Load(); m != nil && (m.at.After(since) || time.Since(t.last) < minRefreshInterval) {
		return nil
	}
	t.last = time.Now()
	var candidates []string
	if m := t.cur.Load(); m != nil {
		for _, n := range m.masters {
			candidates = append(candidates, n.addr)
			for _, r := range m.replicas[n] {
				candidates = append(candidates, r.addr)
			}
		}
	}
	candidates = append(candidates, t.p.cfg.Cluster...)
	var lastErr error = errNoMap
	seen := map[string]bool{}
	for _, addr := range candidates {
		if seen[addr] {
			continue
		}
		seen[addr] = true
		m, err := t.fetch(addr)
		if err != nil {
			lastErr = err
			continue
		}
		t.cur.Store(m)
		t.p.metrics.refreshes.Inc()
		return nil
	}
	return lastErr
}

// refreshAsync refreshes in the background (after a MOVED).
func (t *topology) refreshAsync() {
	go t.refresh(time.Now())
}

// fetch asks one node for CLUSTER SLOTS.
func (t *topology) fetch(addr string) (*slotMap, error) {
	n := t.node(addr)
	bc, err := n.dial(false)
	if err != nil {
		return nil, err
	}
	defer bc.close()
	bc.c.SetDeadline(time.Now().Add(2 * time.Second))
	reply, err := bc.roundTrip([]byte("CLUSTER"), []byte("SLOTS"))
	if err != nil {
		return nil, err
	}
	if isErrorReply(reply) {
		return nil, fmt.Errorf("proxy: %s: CLUSTER SLOTS: %s", addr, trimReply(reply))
	}
	host, _, _ := net.SplitHostPort(addr)
	m := &slotMap{replicas: map[*node][]*node{}, at: time.Now()}
	first := map[*node]int{}
	ranges, ok := aggregate(reply, nil)
	if !ok {
		return nil, fmt.Errorf("proxy: %s: bad CLUSTER SLOTS reply", addr)
	}
	covered := 0
	for _, r := range ranges {
		f, ok := aggregate(r, nil)
		if !ok || len(f) < 3 {
			return nil, fmt.Errorf("proxy: %s: bad CLUSTER SLOTS entry", addr)
		}
		lo, ok1 := replyInt(f[0])
		hi, ok2 := replyInt(f[1])
		if !ok1 || !ok2 || lo < 0 || hi >= slotCount || lo > hi {
			return nil, fmt.Errorf("proxy: %s: bad CLUSTER SLOTS range", addr)
		}
		var shard []*node
		for _, nf := range f[2:] {
			a, ok := aggregate(nf, nil)
			if !ok || len(a) < 2 {
				continue
			}
			ip, _ := replyBulk(a[0])
			port, ok := replyInt(a[1])
			if !ok {
				continue
			}
			h := string(ip)
			if h == "" || h == "?" {
				h = host
			}
			shard = append(shard, t.node(net.JoinHostPort(h, strconv.FormatInt(port, 10))))
		}
		if len(shard) == 0 {
			continue
		}
		master := shard[0]
		if _, ok := first[master]; !ok {
			first[master] = int(lo)
			m.masters = append(m.masters, master)
			m.replicas[master] = shard[1:]
		} else if int(lo) < first[master] {
			first[master] = int(lo)
		}
		for s := lo; s <= hi; s++ {
			m.owner[s] = master
		}
		covered += int(hi - lo + 1)
	}
	if covered == 0 {
		return nil, fmt.Errorf("proxy: %s: serves no slots yet", addr)
	}
	sort.Slice(m.masters, func(i, j int) bool { return first[m.masters[i]] < first[m.masters[j]] })
	return m, nil
}
