package node

import "strings"

// BackupControl is what SVBACKUP needs from the backup agent (internal/cli
// installs it; the node does not import package backup). Every method is
// called with the node lock held: none may take the node lock or do I/O.
type BackupControl interface {
	// StartBackup starts a full backup in the background and returns its
	// ID; an error if one is running or backups cannot start.
	StartBackup() (string, error)
	// StatusFields returns the INFO backup fields, in order.
	StatusFields() [][2]string
	// List returns one line per complete backup of this node, oldest
	// first (cached: no I/O).
	List() []string
}

// SetBackupControl installs the backup agent (before Start, or under the
// node lock).
func (n *Node) SetBackupControl(b BackupControl) { n.backup = b }

var svbackupHelp = []string{
	"SVBACKUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"NOW",
	"    Start a full backup to the configured target now; returns its ID.",
	"STATUS",
	"    Show the backup status (the INFO backup fields).",
	"LIST",
	"    List this node's complete backups, oldest first.",
	"HELP",
	"    Print this help.",
}

// backupCommands: SVBACKUP NOW|STATUS|LIST|HELP (not Redis 8's BACKUP).
func backupCommands() []*Command {
	f := FlagAdmin | FlagNoScript | FlagLoading | FlagStale
	return []*Command{{Name: "svbackup", Arity: -2,
		Summary: "A container for slotvault backup commands", Since: "7.0.0", Group: "server",
		Handler: unknownSubcommand,
		Subcommands: map[string]*Command{
			"now": {Arity: 2, Flags: f, Categories: []string{"admin", "slow", "dangerous"},
				Summary: "Starts a full backup now", Since: "7.0.0", Group: "server", Handler: cmdBackupNow},
			"status": {Arity: 2, Flags: f, Categories: []string{"admin", "slow", "dangerous"},
				Summary: "Shows the backup status", Since: "7.0.0", Group: "server", Handler: cmdBackupStatus},
			"list": {Arity: 2, Flags: f, Categories: []string{"admin", "slow", "dangerous"},
				Summary: "Lists this node's backups", Since: "7.0.0", Group: "server", Handler: cmdBackupList},
			"help": {Arity: 2, Flags: FlagLoading | FlagStale, Summary: "Show helpful text about the different subcommands", Since: "7.0.0", Group: "server",
				Handler: func(c *Ctx) { replyHelp(c, "SVBACKUP", svbackupHelp) }},
		}}}
}

func backupOff(c *Ctx) bool {
	if c.n.backup == nil {
		c.Error("ERR backups are not enabled on this node")
		return true
	}
	return false
}

func cmdBackupNow(c *Ctx) {
	if backupOff(c) {
		return
	}
	id, err := c.n.backup.StartBackup()
	if err != nil {
		c.Error("ERR " + strings.TrimPrefix(err.Error(), "backup: "))
		return
	}
	c.R.BulkString(id)
}

func cmdBackupStatus(c *Ctx) {
	if backupOff(c) {
		return
	}
	fs := c.n.backup.StatusFields()
	c.R.Map(len(fs))
	for _, f := range fs {
		c.R.BulkString(f[0])
		c.R.BulkString(f[1])
	}
}

func cmdBackupList(c *Ctx) {
	if backupOff(c) {
		return
	}
	c.R.StringArray(c.n.backup.List())
}
