package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	cmdtable "github.com/slotvault/slotvault/node"
)

// Options are the proxy's collaborators.
type Options struct {
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
}

// Proxy is a running cluster proxy.
type Proxy struct {
	cfg     Config
	log     *slog.Logger
	cmds    *cmdtable.CommandLookup
	topo    *topology
	metrics *metrics

	ln      net.Listener
	httpSrv *http.Server
	mln     net.Listener

	mu       sync.Mutex
	sessions map[*session]struct{}
	closed   bool
	wg       sync.WaitGroup
	nclients atomic.Int64
	// stopping is set by Close: sessions stop opening node connections
	// and retrying.
	stopping atomic.Bool
	stopc    chan struct{}
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("proxy: closed")

// New validates cfg and learns the slot map from the seed nodes. It does
// not listen yet.
func New(cfg Config, opts Options) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Proxy{cfg: cfg, log: log, cmds: cmdtable.NewCommandLookup(), metrics: newMetrics(),
		sessions: map[*session]struct{}{}, stopc: make(chan struct{})}
	p.topo = &topology{p: p}
	if err := p.topo.refresh(time.Time{}); err != nil {
		return nil, err
	}
	return p, nil
}

// Start listens on the configured address (and metrics port) and serves
// clients in the background.
func (p *Proxy) Start() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(p.cfg.Bind, strconv.Itoa(p.cfg.Port)))
	if err != nil {
		return err
	}
	p.ln = ln
	if p.cfg.MetricsPort != 0 {
		mln, err := net.Listen("tcp", net.JoinHostPort(p.cfg.Bind, strconv.Itoa(p.cfg.MetricsPort)))
		if err != nil {
			ln.Close()
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(p.metrics.reg, promhttp.HandlerOpts{}))
		p.mln = mln
		p.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go p.httpSrv.Serve(mln)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.serve()
	}()
	if iv := p.cfg.RefreshInterval; iv > 0 {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			t := time.NewTicker(iv)
			defer t.Stop()
			for {
				select {
				case <-p.stopc:
					return
				case <-t.C:
					if err := p.topo.refresh(time.Now().Add(-iv / 2)); err != nil {
						p.log.Warn("slot map refresh failed", "err", err)
					}
				}
			}
		}()
	}
	p.log.Info("proxy listening", "addr", ln.Addr().String(), "masters", len(p.topo.cur.Load().masters))
	return nil
}

// Addr is the client listener's address.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

func (p *Proxy) serve() {
	var delay time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			// Temporary failure (EMFILE...): back off as net/http does.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			p.log.Warn("accept failed", "err", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		if max := p.cfg.MaxClients; max > 0 && p.nclients.Load() >= int64(max) {
			c.Write([]byte("-ERR max number of clients reached\r\n"))
			c.Close()
			continue
		}
		s := newSession(p, c)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.sessions[s] = struct{}{}
		p.mu.Unlock()
		p.nclients.Add(1)
		p.metrics.clients.Inc()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			s.run()
			p.mu.Lock()
			delete(p.sessions, s)
			p.mu.Unlock()
			p.nclients.Add(-1)
			p.metrics.clients.Dec()
		}()
	}
}

// Close stops listening, closes every client and node connection and
// waits for the session goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.stopping.Store(true)
	close(p.stopc)
	for s := range p.sessions {
		s.abort()
	}
	p.mu.Unlock()
	// Sessions waiting on shared connections wake up with an error.
	p.topo.nodes.Range(func(_, v any) bool {
		n := v.(*node)
		n.mu.Lock()
		shared := n.sharedConns
		n.mu.Unlock()
		for _, sc := range shared {
			if sc != nil {
				sc.close()
			}
		}
		return true
	})
	if p.ln != nil {
		p.ln.Close()
	}
	if p.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		p.httpSrv.Shutdown(ctx)
		cancel()
	}
	p.wg.Wait()
	p.topo.nodes.Range(func(_, v any) bool {
		v.(*node).closeIdle()
		return true
	})
	return nil
}

// replyDeadline is the read deadline for a reply requested now: zero
// (none) for commands that may block on purpose or without a node timeout.
func (p *Proxy) replyDeadline(blocking bool) time.Time {
	if p.cfg.NodeTimeout <= 0 || blocking {
		return time.Time{}
	}
	return time.Now().Add(p.cfg.NodeTimeout)
}
