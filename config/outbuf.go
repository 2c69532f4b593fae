package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// OutputBufferClass is a client class of client-output-buffer-limit.
type OutputBufferClass int

const (
	OutputNormal OutputBufferClass = iota
	OutputReplica
	OutputPubSub
)

// OutputBufferLimit is one class's limits: a client whose pending output
// reaches Hard bytes, or stays at or above Soft bytes for more than
// SoftSeconds, is disconnected. Zero disables a limit.
type OutputBufferLimit struct {
	Hard, Soft  int64
	SoftSeconds time.Duration
}

// OutputBufferLimits holds the limits of every class.
type OutputBufferLimits [3]OutputBufferLimit

// DefaultOutputBufferLimits are Redis's defaults.
var DefaultOutputBufferLimits = OutputBufferLimits{
	OutputNormal:  {},
	OutputReplica: {Hard: 256 << 20, Soft: 64 << 20, SoftSeconds: 60 * time.Second},
	OutputPubSub:  {Hard: 32 << 20, Soft: 8 << 20, SoftSeconds: 60 * time.Second},
}

// Errors of client-output-buffer-limit, with Redis's texts.
var (
	errOutbufArgs  = errors.New("Wrong number of arguments in buffer limit configuration.")
	errOutbufClass = errors.New("Invalid client class specified in buffer limit configuration.")
	errOutbufValue = errors.New("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
)

// ParseOutputBufferLimits applies "class hard soft soft-seconds ..." groups
// to base, as Redis's CONFIG SET client-output-buffer-limit: classes not
// named keep their limits; nothing changes on an error.
func ParseOutputBufferLimits(base OutputBufferLimits, words []string) (OutputBufferLimits, error) {
	if len(words)%4 != 0 {
		return base, errOutbufArgs
	}
	out := base
	for i := 0; i < len(words); i += 4 {
		var class OutputBufferClass
		switch strings.ToLower(words[i]) {
		case "normal":
			class = OutputNormal
		case "replica", "slave":
			class = OutputReplica
		case "pubsub":
			class = OutputPubSub
		default:
			return base, errOutbufClass
		}
		hard, err1 := parseUnsignedMemory(words[i+1])
		soft, err2 := parseUnsignedMemory(words[i+2])
		secs, err3 := strconv.ParseInt(words[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || secs < 0 {
			return base, errOutbufValue
		}
		out[class] = OutputBufferLimit{Hard: hard, Soft: soft, SoftSeconds: time.Duration(secs) * time.Second}
	}
	return out, nil
}

func parseUnsignedMemory(s string) (int64, error) {
	v, err := ParseMemory(s)
	if err != nil || v < 0 || strings.HasPrefix(s, "-") {
		return 0, errOutbufValue
	}
	return v, nil
}

// String renders the limits as CONFIG GET does ("normal 0 0 0 slave ...").
func (l OutputBufferLimits) String() string {
	var b strings.Builder
	for i, name := range []string{"normal", "slave", "pubsub"} {
		if i > 0 {
			b.WriteByte(' ')
		}
		x := l[i]
		b.WriteString(name + " " + strconv.FormatInt(x.Hard, 10) + " " + strconv.FormatInt(x.Soft, 10) + " " +
			strconv.FormatInt(int64(x.SoftSeconds/time.Second), 10))
	}
	return b.String()
}

// OutputBufferLimits returns the configured client-output-buffer-limit.
func (c *Config) OutputBufferLimits() OutputBufferLimits {
	v, ok := c.Extra["client-output-buffer-limit"]
	if !ok {
		return DefaultOutputBufferLimits
	}
	l, err := ParseOutputBufferLimits(DefaultOutputBufferLimits, strings.Fields(v))
	if err != nil {
		return DefaultOutputBufferLimits
	}
	return l
}

// outputBufferLimitDir is client-output-buffer-limit: each setting merges
// into the current limits, and the stored value is the canonical form.
func outputBufferLimitDir() *directive {
	d := extraList("client-output-buffer-limit", DefaultOutputBufferLimits.String())
	d.active = true
	d.set = func(c *Config, a []string) error {
		if len(a) == 1 && a[0] == "" {
			a = nil
		}
		l, err := ParseOutputBufferLimits(c.OutputBufferLimits(), a)
		if err != nil {
			return err
		}
		c.Extra["client-output-buffer-limit"] = l.String()
		return nil
	}
	return d
}
