package cluster

import (
	"fmt"
	"os"
)

// afterChangeNoSyncLocked is afterChangeLocked for changes Redis saves
// without fsync (CLUSTER SETSLOT that does not bump the epoch): nodes.conf
// is still replaced atomically (temp file and rename), so a killed process
// finds the new content, but the disk flush is left to the kernel. A node
// that loses such a change to a power failure comes back with an older
// slot map and a lower epoch, which the bus corrects (UPDATE messages).
// redis-cli --cluster reshard sends five SETSLOTs per slot; an fsync each
// made a move several times slower than on redis-server.
func (c *Cluster) afterChangeNoSyncLocked() error {
	c.updateStateLocked()
	c.confDirty = false
	var err error
	if text := c.configTextLocked(); text != c.lastSaved {
		if err = writeFileRename(c.cfg.ConfigFile, []byte(text)); err != nil {
			err = fmt.Errorf("cluster: saving %s: %w", c.cfg.ConfigFile, err)
		} else {
			c.lastSaved = text
		}
	}
	c.broadcastPongLocked()
	return err
}

// writeFileRename writes path through a temp file and a rename, without
// fsync.
func writeFileRename(path string, data []byte) error {
	tmp := path + ".tmp-nosync"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
