// Package cli holds slotvault's subcommands; cmd/slotvault is a thin main.
package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the command line and returns the process exit code.
func Main(args []string) int {
	root := &cobra.Command{
		Use:           "slotvault",
		Short:         "A Redis-Cluster-compatible node that keeps its data",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCmd())
	for _, f := range extraCommands {
		root.AddCommand(f())
	}
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintln(os.Stderr, "slotvault:", err)
		return 1
	}
	return 0
}

// extraCommands lets other files of this package add subcommands.
var extraCommands []func() *cobra.Command
