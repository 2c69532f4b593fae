package cli

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/node"
)

// metricsServer serves the Prometheus endpoint (metrics-port).
type metricsServer struct {
	srv  *http.Server
	done chan struct{}
}

// metricsAddr is where the endpoint listens: the port given by
// metrics-port on the node's first bind address ("*" and the default bind
// mean every interface).
func metricsAddr(cfg *config.Config) string {
	host := ""
	if len(cfg.Bind) > 0 {
		b := strings.TrimPrefix(cfg.Bind[0], "-")
		if b != "*" && b != "::*" {
			host = b
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(cfg.Obs.MetricsPort))
}

// startMetrics starts the endpoint when metrics-port is set; nil when off.
func startMetrics(n *node.Node, cfg *config.Config, log *slog.Logger) (*metricsServer, error) {
	if cfg.Obs.MetricsPort == 0 {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.MetricsCollector(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", requireNodeAuth(n, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	addr := metricsAddr(cfg)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	m := &metricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics endpoint stopped", "err", err)
		}
	}()
	log.Info("metrics endpoint listening", "addr", ln.Addr().String(), "path", "/metrics")
	return m, nil
}

// requireNodeAuth lets a request through only when a client connection
// would be let in: with no password on the default user, or with HTTP
// Basic credentials of an enabled ACL user (user "default" and the
// requirepass password work). Refusals get 401 and a log-free reply.
func requireNodeAuth(n *node.Node, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, given := r.BasicAuth()
		if !n.AllowSideChannel(user, pass, given) {
			w.Header().Set("WWW-Authenticate", `Basic realm="slotvault"`)
			http.Error(w, "NOAUTH Authentication required.", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// stop shuts the endpoint down, letting a scrape in progress finish.
func (m *metricsServer) stop() {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
	<-m.done
}
