package proxy

import (
	"context"
	"crypto/tls"
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
	"github.com/slotvault/slotvault/internal/tlsconf"
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
	// tls is the loaded certificates (nil without TLS): tls.Server serves
	// the TLS port, tls.Client dials the nodes under tls-cluster.
	tls *tlsconf.Material

	ln      net.Listener // plaintext clients (nil with port 0)
	tln     net.Listener // TLS clients (nil without tls-port)
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
	m, err := cfg.loadTLS()
	if err != nil {
		return nil, err
	}
	p.tls = m
	p.topo = &topology{p: p}
	if err := p.topo.refresh(time.Time{}); err != nil {
		return nil, err
	}
	return p, nil
}

// Start listens on the configured addresses (plaintext and TLS ports,
// metrics port) and serves clients in the background.
func (p *Proxy) Start() error {
	closeAll := func() {
		for _, l := range []net.Listener{p.ln, p.tln} {
			if l != nil {
				l.Close()
			}
		}
	}
	if p.cfg.Port != 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(p.cfg.Bind, strconv.Itoa(p.cfg.Port)))
		if err != nil {
			return err
		}
		p.ln = ln
	}
	if p.cfg.TLS.Port != 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(p.cfg.Bind, strconv.Itoa(p.cfg.TLS.Port)))
		if err != nil {
			closeAll()
			return err
		}
		p.tln = ln
	}
	if p.cfg.MetricsPort != 0 {
		mln, err := net.Listen("tcp", net.JoinHostPort(p.cfg.Bind, strconv.Itoa(p.cfg.MetricsPort)))
		if err != nil {
			closeAll()
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(p.metrics.reg, promhttp.HandlerOpts{}))
		p.mln = mln
		p.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go p.httpSrv.Serve(mln)
	}
	for _, l := range []struct {
		ln  net.Listener
		tls *tls.Config
	}{{p.ln, nil}, {p.tln, p.serverTLS()}} {
		if l.ln == nil {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(l.ln, l.tls)
		}()
	}
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
	masters := len(p.topo.cur.Load().masters)
	if p.ln != nil {
		p.log.Info("proxy listening", "addr", p.ln.Addr().String(), "masters", masters)
	}
	if p.tln != nil {
		p.log.Info("proxy listening for TLS clients", "addr", p.tln.Addr().String(), "masters", masters,
			"tls-auth-clients", p.cfg.TLS.AuthClients.String(), "tls-nodes", p.cfg.TLS.Cluster)
	}
	return nil
}

// Addr is the plaintext client listener's address (nil with port 0).
func (p *Proxy) Addr() net.Addr {
	if p.ln == nil {
		return nil
	}
	return p.ln.Addr()
}

// TLSAddr is the TLS client listener's address (nil without tls-port).
func (p *Proxy) TLSAddr() net.Addr {
	if p.tln == nil {
		return nil
	}
	return p.tln.Addr()
}

func (p *Proxy) serverTLS() *tls.Config {
	if p.tls == nil {
		return nil
	}
	return p.tls.Server
}

// serve accepts clients on ln; with tlsCfg they are TLS clients (the
// handshake runs in the session's goroutine, on its first read).
func (p *Proxy) serve(ln net.Listener, tlsCfg *tls.Config) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
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
		if tlsCfg != nil {
			c = tls.Server(c, tlsCfg)
		}
		if max := p.cfg.MaxClients; max > 0 && p.nclients.Load() >= int64(max) {
			// Off the accept loop: over TLS the write runs the handshake.
			go func() {
				c.SetDeadline(time.Now().Add(time.Second))
				c.Write([]byte("-ERR max number of clients reached\r\n"))
				c.Close()
			}()
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
	for _, l := range []net.Listener{p.ln, p.tln} {
		if l != nil {
			l.Close()
		}
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
