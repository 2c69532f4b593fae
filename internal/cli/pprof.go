package cli

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// pprofEnv names an address on which the node serves net/http/pprof. It is
// a benchmarking aid (internal/e2e/backup_bench_test.go profiles the node
// through it), deliberately not a directive: profiles expose internals and
// must never be reachable by accident in production.
const pprofEnv = "SLOTVAULT_PPROF_ADDR"

// startPprof serves /debug/pprof/ on $SLOTVAULT_PPROF_ADDR when it is set.
// The listener lives as long as the process.
func startPprof(log *slog.Logger) {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("pprof endpoint not started", "addr", addr, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Warn("pprof endpoint listening (benchmarking aid)", "addr", ln.Addr().String())
}
