package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slotvault/slotvault/restore"
)

// fetchProgress reports verified downloads: on a terminal, one bar per
// node (bytes, objects, ETA) redrawn in place; otherwise one plain line per
// object.
type fetchProgress struct {
	w     io.Writer
	tty   bool
	start time.Time
	mu    sync.Mutex
	nodes map[string]*nodeProgress
	drawn int // lines drawn last time (terminal)
}

type nodeProgress struct {
	objects     int
	bytes, want int64
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newFetchProgress(w io.Writer) *fetchProgress {
	return &fetchProgress{w: w, tty: isTerminal(w), start: time.Now(), nodes: map[string]*nodeProgress{}}
}

// expect sets the bytes a node is expected to download (an estimate: its
// newest backup and the log after it).
func (p *fetchProgress) expect(c *restore.NodeChain) {
	if len(c.Backups) == 0 {
		return
	}
	m := c.Backups[len(c.Backups)-1]
	want := m.Size()
	for _, lo := range c.Log {
		if lo.LastSeq > m.SnapshotSeq {
			want += lo.Size
		}
	}
	p.mu.Lock()
	p.nodes[c.NodeID] = &nodeProgress{want: want}
	p.mu.Unlock()
}

func (p *fetchProgress) report(node, object string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	np := p.nodes[node]
	if np == nil {
		np = &nodeProgress{}
		p.nodes[node] = np
	}
	np.objects++
	np.bytes += n
	if !p.tty {
		fmt.Fprintf(p.w, "fetched %s %s (%d bytes, verified)\n", short(node), object, n)
		return
	}
	p.drawLocked()
}

func (p *fetchProgress) drawLocked() {
	ids := make([]string, 0, len(p.nodes))
	for id := range p.nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	el := time.Since(p.start)
	for _, id := range ids {
		np := p.nodes[id]
		frac := 1.0
		if np.want > 0 && np.bytes < np.want {
			frac = float64(np.bytes) / float64(np.want)
		}
		const width = 30
		fill := int(frac * width)
		eta := "--"
		if frac > 0 && frac < 1 {
			eta = time.Duration(float64(el) * (1 - frac) / frac).Round(time.Second).String()
		} else if frac >= 1 {
			eta = "done"
		}
		fmt.Fprintf(&b, "\r\x1b[K%s [%s%s] %3.0f%% %s / %s, %d objects, eta %s\n", short(id),
			strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100,
			humanBytes(np.bytes), humanBytes(np.want), np.objects, eta)
	}
	p.drawn = len(ids)
	io.WriteString(p.w, b.String())
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
