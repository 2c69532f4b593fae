package node

import (
	"strconv"
	"strings"

	"github.com/slotvault/slotvault/slots"
)

// Client cluster flags (Client.clusterFlags).
const (
	clReadonly uint8 = 1 << iota // READONLY: reads served by a replica
	clAsking                     // ASKING: next command may use an importing slot
)

// Redirection outcomes of clusterRouteLocked, as Redis's CLUSTER_REDIR_*.
const (
	redirNone = iota
	redirCrossSlot
	redirUnstable
	redirAsk
	redirMoved
	redirDownState
	redirDownROState
	redirDownUnbound
)

// clusterRedirectLocked is Redis's cluster check in processCommand: a
// command with keys (or EXEC) must address a slot this node serves, else
// the client gets -MOVED/-ASK/-TRYAGAIN/-CROSSSLOT/-CLUSTERDOWN. It reports
// whether it replied instead of letting the command run. Called with the
// node lock held, only in cluster mode.
func (n *Node) clusterRedirectLocked(cl *Client, cmd, sub *Command, args [][]byte) bool {
	asking := cl.clusterFlags&clAsking != 0
	if cmd.Name != "asking" && !cl.inMulti {
		cl.clusterFlags &^= clAsking
	}
	isExec := cmd.Name == "exec"
	if !isExec && sub.FirstKey <= 0 && sub.Keys == nil {
		return false
	}
	if isExec && !cl.inMulti {
		return false
	}
	code, slot, addr := n.clusterRouteLocked(cl, cmd, sub, args, asking)
	if code == redirNone {
		return false
	}
	if isExec {
		n.discardTransactionLocked(cl)
	} else {
		n.rejectInMulti(cl)
	}
	sub.rejected++
	var msg string
	switch code {
	case redirCrossSlot:
		msg = ErrCrossSlot
	case redirUnstable:
		msg = "TRYAGAIN Multiple keys request during rehashing of slot"
	case redirDownState:
		msg = "CLUSTERDOWN The cluster is down"
	case redirDownROState:
		msg = "CLUSTERDOWN The cluster is down and only accepts read commands"
	case redirDownUnbound:
		msg = "CLUSTERDOWN Hash slot not served"
	case redirAsk:
		msg = "ASK " + strconv.Itoa(slot) + " " + addr
	case redirMoved:
		msg = "MOVED " + strconv.Itoa(slot) + " " + addr
	}
	cl.reply.Error(msg)
	n.countErrorLocked([]byte("-" + msg))
	return true
}

// resolveSub returns the subcommand entry args address, or cmd.
func resolveSub(cmd *Command, args [][]byte) *Command {
	if cmd.Subcommands != nil && len(args) >= 2 {
		if s := cmd.Subcommands[strings.ToLower(string(args[1]))]; s != nil {
			return s
		}
	}
	return cmd
}

// clusterRouteLocked is getNodeByQuery: it finds the one slot every key of
// the request (or of the queued transaction, for EXEC) hashes to and
// decides who serves it.
func (n *Node) clusterRouteLocked(cl *Client, cmd, sub *Command, args [][]byte, asking bool) (code, slot int, addr string) {
	type req struct {
		cmd  *Command
		args [][]byte
	}
	var reqs []req
	isExec := cmd.Name == "exec"
	if isExec {
		for _, q := range cl.queued {
			reqs = append(reqs, req{resolveSub(q.cmd, q.args), q.args})
		}
	} else {
		reqs = []req{{sub, args}}
	}
	isShard := cmd.Name == "ssubscribe" || cmd.Name == "sunsubscribe" || cmd.Name == "spublish"
	isWrite := sub.Flags&FlagWrite != 0
	var firstKey []byte
	haveKey := false
	multipleKeys := false
	migrating, importing := false, false
	missing := 0
	var route struct {
		assigned, mine, masterOwns bool
		ownerAddr, migratingTo     string
	}
	db := n.dbs[0]
	now := nowMillis()
	for _, rq := range reqs {
		if isExec && rq.cmd.Flags&FlagWrite != 0 {
			isWrite = true
		}
		if rq.cmd.FirstKey <= 0 && rq.cmd.Keys == nil {
			continue
		}
		for _, i := range rq.cmd.KeyIndexes(rq.args) {
			key := rq.args[i]
			ks := slots.KeySlot(key)
			if !haveKey {
				haveKey = true
				firstKey = key
				slot = ks
				r := n.cluster.Route(slot)
				if !r.Assigned {
					return redirDownUnbound, 0, ""
				}
				route.assigned, route.mine, route.masterOwns = true, r.Mine, r.MasterOwns
				route.ownerAddr, route.migratingTo = r.OwnerAddr, r.MigratingTo
				if n.plainClientOfTLSClusterLocked(cl) {
					route.ownerAddr, route.migratingTo = r.OwnerPlainAddr, r.MigratingToPlain
				}
				if r.Mine && r.MigratingTo != "" {
					migrating = true
				} else if r.Importing {
					importing = true
				}
			} else if string(firstKey) != string(key) {
				if ks != slot {
					return redirCrossSlot, 0, ""
				}
				multipleKeys = true
			}
			if (migrating || importing) && !isShard {
				if e := db.Peek(string(key)); e == nil || (e.Expire != 0 && e.Expire <= now) {
					missing++
				}
			}
		}
	}
	if !haveKey {
		return redirNone, 0, ""
	}
	if ok, readsWhenDown := n.cluster.StateOK(); !ok {
		switch {
		case isShard:
			// cluster-allow-pubsubshard-when-down defaults to yes.
		case !readsWhenDown:
			return redirDownState, 0, ""
		case isWrite:
			return redirDownROState, 0, ""
		}
	}
	if (migrating || importing) && cmd.Name == "migrate" {
		return redirNone, 0, ""
	}
	if migrating && missing > 0 {
		if multipleKeys {
			return redirUnstable, 0, ""
		}
		return redirAsk, slot, route.migratingTo
	}
	if importing && (asking || cmd.Name == "restore-asking") {
		if multipleKeys && missing > 0 {
			return redirUnstable, 0, ""
		}
		return redirNone, 0, ""
	}
	if (cl.clusterFlags&clReadonly != 0 || isShard) && !isWrite && route.masterOwns {
		return redirNone, 0, ""
	}
	if !route.mine {
		return redirMoved, slot, route.ownerAddr
	}
	return redirNone, 0, ""
}
