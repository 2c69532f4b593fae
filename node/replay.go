package node

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrReplay is wrapped by errors replaying a logged mutation.
var ErrReplay = errors.New("node: replay failed")

// ErrReplayCommand is also wrapped when the record itself cannot be
// executed (unknown command, wrong arity, database out of range), as
// opposed to a command that ran and replied with an error.
var ErrReplayCommand = errors.New("node: record is not an executable command")

// replayClient is the pseudo-client that replays the write log, as Redis's
// AOF loading uses a fake client.
func (n *Node) replayClient() *Client {
	return &Client{ID: -1, RESP: 2, Authenticated: true, User: "default", Name: "replay"}
}

// Replayer applies logged mutations to the keyspace; persistence uses it
// while loading. It is not safe for concurrent use.
type Replayer struct {
	n  *Node
	cl *Client
}

// NewReplayer returns a Replayer bound to this node.
func (n *Node) NewReplayer() *Replayer {
	return &Replayer{n: n, cl: n.replayClient()}
}

// Apply executes one logged mutation against database db with the node lock
// held by the caller (use WithLock around batches). Mutations are not
// propagated again. An error reply from the command is returned as an
// error wrapping ErrReplay.
func (r *Replayer) Apply(db int, argv [][]byte) error {
	return r.ApplyAt(db, argv, time.Now().UnixMilli())
}

// ApplyAt is Apply with the command's clock (Ctx.Now) set to nowMs, the
// time the record was originally executed, so TTL arithmetic on replay
// sees what the command saw.
func (r *Replayer) ApplyAt(db int, argv [][]byte, nowMs int64) error {
	n := r.n
	if db < 0 || db >= len(n.dbs) {
		return fmt.Errorf("%w: %w: database %d out of range", ErrReplay, ErrReplayCommand, db)
	}
	if len(argv) == 0 {
		return fmt.Errorf("%w: %w: empty record", ErrReplay, ErrReplayCommand)
	}
	cmd := n.cmds.lookup(argv[0])
	if cmd == nil {
		return fmt.Errorf("%w: %w: unknown command %q", ErrReplay, ErrReplayCommand, argv[0])
	}
	if !arityOK(cmd.Arity, len(argv)) {
		return fmt.Errorf("%w: %w: wrong number of arguments for %q", ErrReplay, ErrReplayCommand, cmd.Name)
	}
	sub := cmd
	if cmd.Subcommands != nil && len(argv) >= 2 {
		if s := cmd.Subcommands[strings.ToLower(string(argv[1]))]; s != nil {
			sub = s
		}
	}
	r.cl.DB = db
	r.cl.reply.Reset()
	wal := n.wal
	n.wal = nil // replayed records are already in the log
	n.repl.feedOff = true
	c := Ctx{n: n, Cl: r.cl, Cmd: sub, Args: argv, DB: n.dbs[db], R: &r.cl.reply, Now: nowMs}
	sub.Handler(&c)
	n.wal = wal
	n.repl.feedOff = false
	if out := r.cl.reply.Bytes(); len(out) > 0 && out[0] == '-' {
		return fmt.Errorf("%w: %s: %s", ErrReplay, cmd.Name, strings.TrimSpace(string(out[1:])))
	}
	return nil
}
