package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/node"
	"github.com/spf13/cobra"
)

func serverCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "server [CONFIG-FILE] [--directive value ...]",
		Short: "Run a node, configured like redis-server",
		Long: `Run a node. Like redis-server, it reads an optional redis.conf-style file and
then applies command-line overrides, e.g.:

  slotvault server ./redis.conf --port 7001 --appendonly yes`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
				return cmd.Help()
			}
			return runServer(args)
		},
	}
}

func runServer(args []string) error {
	path := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		path, args = args[0], args[1:]
	}
	cfg, err := config.Load(path, args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitError{1}
	}
	logger, logLevel, closeLog, err := openLog(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "slotvault:", err)
		return exitError{1}
	}
	defer closeLog()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		logger.Error("cannot create dir", "dir", cfg.Dir, "err", err)
		return exitError{1}
	}
	if err := os.Chdir(cfg.Dir); err != nil {
		logger.Error("can't chdir", "dir", cfg.Dir, "err", err)
		return exitError{1}
	}
	node.ApplyIOThreads(cfg)
	n, err := node.New(cfg, node.Options{Logger: logger})
	if err != nil {
		logger.Error("cannot create node", "err", err)
		return exitError{1}
	}
	if err := startExtensions(n, cfg, logger); err != nil {
		logger.Error("start-up failed", "err", err)
		return exitError{1}
	}
	// Persistence starts the listener itself, before loading, so clients
	// see -LOADING while the dataset is read.
	mgr, err := startPersistence(n, cfg, logger, nil, ".")
	if err != nil {
		logger.Error("start-up failed", "err", err)
		fmt.Fprintln(os.Stderr, "slotvault: start-up failed:", err)
		return exitError{1}
	}
	// Replication resumes the history the data holds (replication.state in
	// the data directory), then follows replicaof if configured.
	n.LoadReplicationState("replication.state", mgr.Log().LastSeq())
	if err := n.StartReplication(); err != nil {
		logger.Error("start-up failed", "err", err)
		n.Close()
		stopPersistence(n, cfg, mgr, logger)
		return exitError{1}
	}
	bk := startBackup(n, cfg, mgr, logger)
	n.OnConfigSet(func(_, cur *config.Config) error { logLevel.Set(slogLevel(cur.LogLevel)); return nil })
	startPprof(logger)
	metrics, err := startMetrics(n, cfg, logger)
	if err != nil {
		logger.Error("start-up failed: metrics endpoint", "err", err)
		fmt.Fprintln(os.Stderr, "slotvault: start-up failed: metrics endpoint:", err)
		n.Close()
		bk.stop()
		stopPersistence(n, cfg, mgr, logger)
		return exitError{1}
	}
	if cfg.Pidfile != "" {
		if err := node.WritePidfile(cfg.Pidfile); err != nil {
			logger.Warn("failed to write pidfile", "path", cfg.Pidfile, "err", err)
		}
		defer os.Remove(cfg.Pidfile)
	}
	logger.Info("Ready to accept connections", "port", cfg.Port, "pid", os.Getpid())
	if code := waitForShutdown(n, logger); code != 0 {
		return exitError{code}
	}
	metrics.stop()
	n.Close()
	bk.stop()
	stopPersistence(n, cfg, mgr, logger)
	stopExtensions(logger)
	logger.Info("slotvault is now ready to exit, bye bye...")
	return nil
}

// waitForShutdown returns when the node is going down: after SHUTDOWN, or
// after SIGTERM/SIGINT ran the same shutdown (shutdown-on-sigterm /
// shutdown-on-sigint flags). A signal whose shutdown fails (the final save
// failed) leaves the node running, as Redis does; a second SIGINT while a
// shutdown waits for replicas exits at once with status 1.
func waitForShutdown(n *node.Node, logger *slog.Logger) int {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	result := make(chan error, 1)
	pending := false
	for {
		select {
		case s := <-sig:
			name := "SIGTERM"
			directive := "shutdown-on-sigterm"
			if s == syscall.SIGINT {
				name, directive = "SIGINT", "shutdown-on-sigint"
			}
			if pending {
				if s == syscall.SIGINT {
					logger.Warn("You insist... exiting now.")
					return 1
				}
				continue
			}
			logger.Info("Received " + name + " scheduling shutdown...")
			var words []string
			n.WithLock(func() { words = strings.Fields(n.Config().Extra[directive]) })
			flags := node.ParseShutdownFlags(words...)
			pending = true
			go func() { result <- n.Shutdown(flags) }()
		case err := <-result:
			pending = false
			if err != nil {
				logger.Warn("Received signal but errors trying to shut down the server, check the logs for more information", "err", err)
			}
		case <-n.Done():
			return 0
		}
	}
}

// startExtensions and stopExtensions are the seams where persistence (and
// later backup, cluster) attach to a node before it listens.
var (
	extensions []extension
)

type extension struct {
	start func(n *node.Node, cfg *config.Config, log *slog.Logger) error
	stop  func(log *slog.Logger)
}

func startExtensions(n *node.Node, cfg *config.Config, log *slog.Logger) error {
	for _, e := range extensions {
		if err := e.start(n, cfg, log); err != nil {
			return err
		}
	}
	return nil
}

func stopExtensions(log *slog.Logger) {
	for i := len(extensions) - 1; i >= 0; i-- {
		if extensions[i].stop != nil {
			extensions[i].stop(log)
		}
	}
}

// openLog opens the log file (or stdout) with the configured format
// (log-format text|json) and level. The level is a LevelVar so that
// CONFIG SET loglevel takes effect at once.
func openLog(cfg *config.Config) (*slog.Logger, *slog.LevelVar, func(), error) {
	var w io.Writer = os.Stdout
	closeFn := func() {}
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("can't open the log file %s: %w", cfg.LogFile, err)
		}
		w = f
		closeFn = func() { f.Close() }
	}
	level := new(slog.LevelVar)
	level.Set(slogLevel(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: renameLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Obs.LogFormat == config.LogJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h), level, closeFn, nil
}

// levelVerbose sits between debug and notice, as Redis's verbose does.
const levelVerbose = slog.LevelDebug + 2

// slogLevel maps Redis's loglevel names to slog levels: debug, verbose,
// notice (slog's Info) and warning; "nothing" silences the log.
func slogLevel(name string) slog.Level {
	switch name {
	case "debug":
		return slog.LevelDebug
	case "verbose":
		return levelVerbose
	case "warning":
		return slog.LevelWarn
	case "nothing":
		return slog.LevelError + 100
	}
	return slog.LevelInfo
}

// renameLevel prints levels with Redis's names (VERBOSE, NOTICE, WARNING)
// instead of slog's DEBUG+2, INFO and WARN.
func renameLevel(groups []string, a slog.Attr) slog.Attr {
	if a.Key != slog.LevelKey || len(groups) > 0 {
		return a
	}
	lv, ok := a.Value.Any().(slog.Level)
	if !ok {
		return a
	}
	switch {
	case lv < levelVerbose:
		a.Value = slog.StringValue("DEBUG")
	case lv < slog.LevelInfo:
		a.Value = slog.StringValue("VERBOSE")
	case lv < slog.LevelWarn:
		a.Value = slog.StringValue("NOTICE")
	case lv < slog.LevelError:
		a.Value = slog.StringValue("WARNING")
	default:
		a.Value = slog.StringValue("ERROR")
	}
	return a
}
