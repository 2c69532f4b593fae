// Command slotvault is a Redis-Cluster-compatible node that keeps its data:
// see the README.
package main

import (
	"os"

	"github.com/slotvault/slotvault/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
