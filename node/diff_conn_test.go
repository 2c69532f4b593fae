package node_test

import (
	"testing"

	"github.com/slotvault/slotvault/internal/testutil"
)

func TestDiffConnectionBasics(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
PING
PING hello
PING a b
ECHO "hello world"
ECHO
NOSUCHCOMMAND a b
`)
}
