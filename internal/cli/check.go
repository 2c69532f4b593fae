package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/persistence"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, checkCmd) }

func checkCmd() *cobra.Command {
	var dir, appendDir, appendFile string
	var fix, yes bool
	c := &cobra.Command{
		Use:   "check [--dir DIR] [--fix [--yes]]",
		Short: "Verify a data directory (log and snapshots)",
		Long: `Verify a slotvault data directory without changing it: every log segment and
record checksum, sequence order, every snapshot (key count, checksum, values),
and that the log continues the newest snapshot.

With --fix, a damaged log is cut at its first bad record (the rest of that
segment and every later segment are deleted) after asking for confirmation;
--yes answers yes. Without a terminal to ask on, --fix needs --yes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d := config.Default()
			if appendDir == "" {
				appendDir = d.AppendDirname
			}
			if appendFile == "" {
				appendFile = d.AppendFilename
			}
			return runCheck(cmd.OutOrStdout(), cmd.InOrStdin(), dir, appendDir, appendFile, fix, yes)
		},
	}
	c.Flags().StringVar(&dir, "dir", ".", "data directory (the server's dir)")
	c.Flags().StringVar(&appendDir, "appenddirname", "", "log directory name inside dir (default appendonlydir)")
	c.Flags().StringVar(&appendFile, "appendfilename", "", "log segment name prefix (default appendonly.aof)")
	c.Flags().BoolVar(&fix, "fix", false, "cut a damaged log at its first bad record")
	c.Flags().BoolVar(&yes, "yes", false, "with --fix: do not ask")
	return c
}

func runCheck(out io.Writer, in io.Reader, dir, appendDir, appendFile string, fix, yes bool) error {
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(out, "slotvault check: %v\n", err)
		return exitError{2}
	}
	cfg := config.Default()
	opts := persistence.CheckOptions{Dir: dir, LogDir: appendDir, Prefix: appendFile, Codec: dumpCodec(cfg)}
	fmt.Fprintf(out, "Checking %s\n", dir)
	rep := persistence.Check(opts)
	rep.Print(out)
	if rep.OK() {
		return nil
	}
	if !fix {
		if _, _, _, ok := rep.FixLoss(); ok {
			fmt.Fprintln(out, "Run with --fix to cut the log at the first bad record.")
		}
		return exitError{1}
	}
	file, off, what, ok := rep.FixLoss()
	if !ok {
		fmt.Fprintln(out, "Nothing --fix can repair (the problems are in the snapshots or a gap in the log).")
		return exitError{1}
	}
	fmt.Fprintf(out, "--fix will cut %s at offset %d, losing %s, and delete every later segment.\n", file, off, what)
	if !yes {
		fmt.Fprint(out, "Continue? [y/N]: ")
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(out, "\nNo answer on standard input: refusing to change anything without --yes.")
			return exitError{1}
		}
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(out, "Not changed.")
			return exitError{1}
		}
	}
	if err := persistence.Fix(opts, rep); err != nil {
		fmt.Fprintf(out, "fix failed: %v\n", err)
		return exitError{1}
	}
	fmt.Fprintln(out, "Fixed. Checking again:")
	rep = persistence.Check(opts)
	rep.Print(out)
	if !rep.OK() {
		return exitError{1}
	}
	return nil
}
