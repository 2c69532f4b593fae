package node

import (
	"encoding/binary"
	"strings"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/rdb"
)

// FUNCTION answers as a Redis 7.0 that has no scripting engine and
// therefore never holds a library: DUMP returns the payload of an empty
// function set (byte-identical to redis-server's with no libraries), LIST
// an empty array, RESTORE accepts a payload without libraries, FLUSH
// succeeds, DELETE finds nothing, KILL finds nothing running, and LOAD (or
// a RESTORE carrying a library) fails with Redis's own "Engine '...' not
// found" after validating the library metadata as Redis does.
//
// This is what redis-cli --cluster add-node needs: it sends FUNCTION DUMP
// to an existing master and, when that succeeds, FUNCTION LIST (which must
// be empty) and FUNCTION RESTORE to the new node.

// rdbOpcodeFunction2 and rdbOpcodeFunctionPreGA are the RDB opcodes of a
// function library.
const (
	rdbOpcodeFunction2     = 245
	rdbOpcodeFunctionPreGA = 246
)

var functionHelp = []string{
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries:",
	"    * Library name",
	"    * The engine used to run the Library",
	"    * Library description",
	"    * Functions list",
	"    * Library code (if WITHCODE is given)",
	"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
	"STATS",
	"    Return information about the current function running:",
	"    * Function name",
	"    * Command used to run the function",
	"    * Duration in MS that the function is running",
	"    If no function is running, return nil",
	"    In addition, returns a list of available engines.",
	"KILL",
	"    Kill the current running function.",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the libraries.",
	"    * SYNC: Synchronously flush the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
	"    control how to handle existing libraries (default APPEND):",
	"    * FLUSH: delete all existing libraries.",
	"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
	"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
	"      libraries with the new libraries (notice that even on this option there is a chance of failure",
	"      in case of functions name collision with another library).",
}

func functionCommands() []*Command {
	sc := []string{"slow", "scripting"}
	wsc := []string{"write", "slow", "scripting"}
	sub := func(arity int, flags CmdFlag, cats []string, summary string, h func(*Ctx)) *Command {
		return &Command{Arity: arity, Flags: flags, Categories: cats, Summary: summary, Since: "7.0.0", Group: "scripting", Handler: h}
	}
	return []*Command{{
		Name: "function", Arity: -2, Summary: "A container for function commands", Since: "7.0.0", Group: "scripting",
		Handler: unknownSubcommand,
		Subcommands: map[string]*Command{
			"delete":  sub(3, FlagWrite|FlagNoScript, wsc, "Delete a function by name", cmdFunctionDelete),
			"dump":    sub(2, FlagNoScript, sc, "Dump all functions into a serialized binary payload", cmdFunctionDump),
			"flush":   sub(-2, FlagWrite|FlagNoScript, wsc, "Deleting all functions", cmdFunctionFlush),
			"help":    sub(2, FlagLoading|FlagStale, sc, "Show helpful text about the different subcommands", func(c *Ctx) { replyHelp(c, "FUNCTION", functionHelp) }),
			"kill":    sub(2, FlagNoScript|FlagAllowBusy, sc, "Kill the function currently in execution.", cmdFunctionKill),
			"list":    sub(-2, FlagNoScript, sc, "List information about all the functions", cmdFunctionList),
			"load":    sub(-3, FlagWrite|FlagDenyOOM|FlagNoScript, wsc, "Create a function with the given arguments (name, code, description)", cmdFunctionLoad),
			"restore": sub(-3, FlagWrite|FlagDenyOOM|FlagNoScript, wsc, "Restore all the functions on the given payload", cmdFunctionRestore),
			"stats":   sub(2, FlagNoScript|FlagAllowBusy, sc, "Return information about the function currently running (name, description, duration)", cmdFunctionStats),
		},
	}}
}

// emptyFunctionsPayload is FUNCTION DUMP with no libraries: only the
// footer, RDB version and CRC64.
func emptyFunctionsPayload() []byte {
	b := binary.LittleEndian.AppendUint16(nil, rdb.Version)
	return binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
}

func cmdFunctionDump(c *Ctx) { c.R.Bulk(emptyFunctionsPayload()) }

func cmdFunctionDelete(c *Ctx) { c.Error("ERR Library not found") }

func cmdFunctionKill(c *Ctx) { c.Error("NOTBUSY No scripts in execution right now.") }

func cmdFunctionFlush(c *Ctx) {
	if len(c.Args) > 3 {
		subcommandSyntaxError(c)
		return
	}
	if len(c.Args) == 3 && !c.ArgIs(2, "sync") && !c.ArgIs(2, "async") {
		c.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		return
	}
	c.R.OK()
}

func cmdFunctionList(c *Ctx) {
	withCode, libName := false, false
	for i := 2; i < len(c.Args); i++ {
		switch {
		case !withCode && c.ArgIs(i, "withcode"):
			withCode = true
		case !libName && c.ArgIs(i, "libraryname"):
			if i >= len(c.Args)-1 {
				c.Error("ERR library name argument was not given")
				return
			}
			libName = true
			i++
		default:
			c.Error("ERR Unknown argument " + c.Arg(i))
			return
		}
	}
	c.R.Array(0)
}

// cmdFunctionStats: nothing runs, and no engine is available.
func cmdFunctionStats(c *Ctx) {
	c.R.Map(2)
	c.R.BulkString("running_script")
	c.R.Null()
	c.R.BulkString("engines")
	c.R.Map(0)
}

func cmdFunctionLoad(c *Ctx) {
	pos := 2
	for pos < len(c.Args)-1 {
		if !c.ArgIs(pos, "replace") {
			c.Error("ERR Unknown option given: " + c.Arg(pos))
			return
		}
		pos++
	}
	if pos >= len(c.Args) {
		c.Error("ERR Function code is missing")
		return
	}
	c.Error("ERR " + createLibraryError(c.Arg(pos)))
}

// createLibraryError is what Redis's functionsCreateWithLibraryCtx reports
// for code when no engine exists: a metadata error, or the missing engine.
func createLibraryError(code string) string {
	if !strings.HasPrefix(code, "#!") {
		return "Missing library metadata"
	}
	nl := strings.IndexByte(code, '\n')
	if nl < 0 {
		return "Invalid library metadata"
	}
	parts, err := config.SplitArgs(code[:nl])
	if err != nil || len(parts) == 0 {
		return "Invalid library metadata"
	}
	engine := parts[0][2:]
	name := false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if name {
				return "Invalid metadata value, name argument was given multiple times"
			}
			name = true
			continue
		}
		return "Invalid metadata value given: " + p
	}
	if !name {
		return "Library name was not given"
	}
	return "Engine '" + engine + "' not found"
}

func cmdFunctionRestore(c *Ctx) {
	if len(c.Args) > 4 {
		subcommandSyntaxError(c)
		return
	}
	if len(c.Args) == 4 && !c.ArgIs(3, "flush") && !c.ArgIs(3, "append") && !c.ArgIs(3, "replace") {
		c.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
		return
	}
	body, _, err := rdb.VerifyPayload(c.Args[2])
	if err != nil {
		c.Error("ERR DUMP payload version or checksum are wrong")
		return
	}
	if len(body) == 0 {
		c.R.OK() // no libraries: nothing to restore
		return
	}
	switch body[0] {
	case rdbOpcodeFunctionPreGA:
		c.Error("ERR Pre-GA function format not supported")
		return
	case rdbOpcodeFunction2:
	default:
		c.Error("ERR given type is not a function")
		return
	}
	// The library code is an RDB string: decode it as a string object.
	o, _, derr := rdb.DecodeObject(append([]byte{0}, body[1:]...))
	if derr != nil || o.Kind != rdb.KindString {
		c.Error("ERR Failed loading library payload")
		return
	}
	c.Error("ERR " + createLibraryError(string(o.Str)))
}
