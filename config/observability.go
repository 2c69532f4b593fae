package config

import (
	"errors"
	"strconv"
	"strings"
)

// LogFormat is how the server's log lines are written (log-format).
type LogFormat int

const (
	// LogText is logfmt-style key=value lines (slog's text handler).
	LogText LogFormat = iota
	// LogJSON is one JSON object per line (slog's JSON handler).
	LogJSON
)

func (f LogFormat) String() string {
	if f == LogJSON {
		return "json"
	}
	return "text"
}

// ObservabilityConfig holds the directives of metrics, logs and latency
// monitoring (see docs/observability.md).
type ObservabilityConfig struct {
	// MetricsPort is the TCP port of the Prometheus endpoint (/metrics);
	// 0 turns it off. slotvault-specific.
	MetricsPort int
	// LogFormat selects text or JSON logs. slotvault-specific.
	LogFormat LogFormat
	// LatencyMonitorThresholdMs: commands taking at least this many
	// milliseconds are recorded as LATENCY events; 0 turns the latency
	// monitor off. Kept in ms as Redis does: any int64 is valid.
	LatencyMonitorThresholdMs int64
	// SlotStatsEnabled (Valkey's cluster-slot-stats-enabled) records CPU
	// time and network bytes per slot for CLUSTER SLOT-STATS.
	SlotStatsEnabled bool
}

// The observability directives. This runs after directives.go's init
// (files initialise in name order), so it can take over
// latency-monitor-threshold, registered there as a not-yet-active extra.
func init() {
	register(&directive{name: "metrics-port", active: true, immutable: true,
		set: func(c *Config, a []string) error {
			v, err := parseIntArg(a[0])
			if err != nil {
				return err
			}
			if v < 0 || v > 65535 {
				return rangeError(0, 65535)
			}
			c.Obs.MetricsPort = int(v)
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(c.Obs.MetricsPort) }})
	register(&directive{name: "log-format", active: true, immutable: true,
		set: func(c *Config, a []string) error {
			switch strings.ToLower(a[0]) {
			case "text":
				c.Obs.LogFormat = LogText
			case "json":
				c.Obs.LogFormat = LogJSON
			default:
				return errors.New("argument(s) must be one of the following: text, json")
			}
			return nil
		},
		get: func(c *Config) string { return c.Obs.LogFormat.String() }})
	if d := byName["latency-monitor-threshold"]; d != nil {
		d.active = true
		d.set = func(c *Config, a []string) error {
			v, err := parseIntArg(a[0])
			if err != nil {
				return err
			}
			if v < 0 {
				return rangeError(0, maxLong)
			}
			c.Obs.LatencyMonitorThresholdMs = v
			return nil
		}
		d.get = func(c *Config) string {
			return strconv.FormatInt(c.Obs.LatencyMonitorThresholdMs, 10)
		}
	}
	// cluster-slot-stats-enabled keeps Valkey's name but is found by exact
	// name only (config file, CONFIG GET/SET): listed in the table, it
	// would change what CONFIG GET cluster-* returns compared with Redis
	// 7.0. CONFIG REWRITE therefore leaves it alone.
	byName["cluster-slot-stats-enabled"] = &directive{name: "cluster-slot-stats-enabled", active: true,
		set: func(c *Config, a []string) error {
			v, err := ParseBool(a[0])
			if err != nil {
				return err
			}
			c.Obs.SlotStatsEnabled = v
			return nil
		},
		get: func(c *Config) string { return fmtBool(c.Obs.SlotStatsEnabled) }}
}

// validateObservability reports metrics-port clashes with the client and
// cluster bus ports.
func (c *Config) validateObservability() []string {
	mp := c.Obs.MetricsPort
	if mp == 0 {
		return nil
	}
	var errs []string
	if mp == c.Port {
		errs = append(errs, "metrics-port must differ from port")
	}
	if c.ClusterEnabled {
		bus := c.ClusterPort
		if bus == 0 {
			bus = c.Port + 10000
		}
		if mp == bus {
			errs = append(errs, "metrics-port must differ from the cluster bus port")
		}
	}
	return errs
}
