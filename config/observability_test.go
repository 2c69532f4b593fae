package config

import (
	"errors"
	"strings"
	"testing"
)

func TestObservabilityDirectives(t *testing.T) {
	c, err := Load("", []string{"--metrics-port", "9121", "--log-format", "JSON", "--latency-monitor-threshold", "25",
		"--cluster-slot-stats-enabled", "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Obs.MetricsPort != 9121 || c.Obs.LogFormat != LogJSON || c.Obs.LatencyMonitorThresholdMs != 25 || !c.Obs.SlotStatsEnabled {
		t.Fatalf("parsed %+v", c.Obs)
	}
	for name, want := range map[string]string{"metrics-port": "9121", "log-format": "json",
		"latency-monitor-threshold": "25", "cluster-slot-stats-enabled": "yes"} {
		got := c.Get(name, func(p, n string) bool { return p == n })
		if len(got) != 1 || got[0][1] != want {
			t.Errorf("CONFIG GET %s = %v, want %s", name, got, want)
		}
	}
	// Found by exact name only: CONFIG GET cluster-* stays as Redis 7.0's.
	for _, kv := range c.Get("cluster-*", func(p, n string) bool { return strings.HasPrefix(n, "cluster-") }) {
		if kv[0] == "cluster-slot-stats-enabled" {
			t.Errorf("cluster-slot-stats-enabled listed by a pattern")
		}
	}
}

func TestObservabilityDirectiveErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-port", "70000"}, "argument must be between 0 and 65535 inclusive"},
		{[]string{"--metrics-port", "x"}, "argument couldn't be parsed into an integer"},
		{[]string{"--log-format", "xml"}, "argument(s) must be one of the following: text, json"},
		{[]string{"--latency-monitor-threshold", "-1"}, "argument must be between 0 and"},
		{[]string{"--port", "7100", "--metrics-port", "7100"}, "metrics-port must differ from port"},
		{[]string{"--port", "7100", "--cluster-enabled", "yes", "--metrics-port", "17100"}, "metrics-port must differ from the cluster bus port"},
	} {
		_, err := Load("", tc.args)
		if err == nil || !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}
