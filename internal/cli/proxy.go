package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/slotvault/slotvault/proxy"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { extraCommands = append(extraCommands, proxyCmd) }

func proxyCmd() *cobra.Command {
	var configFile string
	def := proxy.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "proxy [--config FILE] --port PORT --cluster HOST:PORT[,HOST:PORT...]",
		Short: "Serve any Redis client in front of a cluster (no cluster support needed)",
		Long: `Run a cluster proxy: plain (non-cluster) Redis clients connect to it and it
routes every command to the node serving its keys' slot, following MOVED/ASK,
splitting multi-key commands and fanning out whole-cluster ones. See
docs/proxy.md. Flags override the config file's directives (same names).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := proxy.DefaultConfig()
			var bad []error
			if configFile != "" {
				if err := cfg.LoadFile(configFile); err != nil {
					bad = append(bad, err)
				}
			}
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if f.Name == "config" {
					return
				}
				if f.Name == "cluster" {
					cfg.Cluster = nil
				}
				if err := cfg.Set(f.Name, f.Value.String()); err != nil {
					bad = append(bad, err)
				}
			})
			// Report every problem at once: file lines, flags, then values.
			if err := cfg.Validate(); err != nil {
				bad = append(bad, err)
			}
			for _, err := range bad {
				fmt.Fprintln(os.Stderr, "slotvault proxy:", err)
			}
			if len(bad) > 0 {
				return exitError{1}
			}
			return runProxy(cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "config file of `directive value` lines")
	f.String("bind", def.Bind, "address to listen on")
	f.Int("port", def.Port, "client port (0: TLS clients only, on --tls-port)")
	f.Int("tls-port", 0, "TLS client port (0: none)")
	f.String("tls-cert-file", "", "server certificate (PEM) for the TLS port; also the client certificate towards nodes unless --tls-client-cert-file")
	f.String("tls-key-file", "", "private key (PEM) of --tls-cert-file")
	f.String("tls-key-file-pass", "", "passphrase of an encrypted --tls-key-file")
	f.String("tls-client-cert-file", "", "certificate presented to the nodes (default: --tls-cert-file)")
	f.String("tls-client-key-file", "", "private key of --tls-client-cert-file")
	f.String("tls-client-key-file-pass", "", "passphrase of an encrypted --tls-client-key-file")
	f.String("tls-ca-cert-file", "", "CA bundle verifying client and node certificates")
	f.String("tls-ca-cert-dir", "", "directory of CA certificates")
	f.String("tls-auth-clients", "yes", "TLS clients must present a certificate signed by the CA: yes|no|optional")
	f.String("tls-cluster", "no", "dial the nodes with TLS, on the TLS ports they announce (yes|no)")
	f.String("tls-nodes", "no", "alias of --tls-cluster")
	f.String("tls-protocols", "", `TLS versions, e.g. "TLSv1.2 TLSv1.3" (default both)`)
	f.String("tls-ciphers", "", "TLSv1.2 cipher list (OpenSSL names)")
	f.String("tls-ciphersuites", "", "TLSv1.3 cipher suites")
	f.String("cluster", "", "seed nodes, host:port[,host:port...]")
	f.String("read-from", "master", "serve read-only commands from master or replica")
	f.String("requirepass", "", "password clients must AUTH with (checked by the proxy); empty: AUTH goes to the nodes")
	f.String("node-user", "", "ACL user for the proxy's own node connections")
	f.String("node-password", "", "password for the proxy's own node connections")
	f.Int("metrics-port", 0, "serve Prometheus metrics on /metrics at this port (0: off)")
	f.Duration("retry-timeout", def.RetryTimeout, "how long to retry TRYAGAIN/CLUSTERDOWN/lost nodes before answering the error")
	f.Duration("dial-timeout", def.DialTimeout, "node connect timeout")
	f.Duration("node-timeout", def.NodeTimeout, "a node that does not reply within this is treated as lost (blocking commands excepted; 0: wait forever)")
	f.Duration("refresh-interval", def.RefreshInterval, "re-read the slot map this often even without redirections (0: only on redirections)")
	f.String("multiplex", "yes", "share node connections between clients for stateless commands (yes|no)")
	f.Int("multiplex-min-clients", def.MultiplexMinClients, "use shared connections only when at least this many clients are connected")
	f.Int("pool-size", def.PoolSize, "idle connections kept per node")
	f.Int("maxclients", 0, "client connection limit (0: none)")
	return cmd
}

func runProxy(cfg proxy.Config) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	p, err := proxy.New(cfg, proxy.Options{Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "slotvault proxy:", err)
		return exitError{1}
	}
	if err := p.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "slotvault proxy:", err)
		return exitError{1}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	logger.Info("shutting down", "signal", s.String())
	return p.Close()
}
