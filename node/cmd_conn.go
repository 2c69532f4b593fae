package node

// connectionCommands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET, CLIENT.
func connectionCommands() []*Command {
	return []*Command{
		{Name: "ping", Arity: -1, Flags: FlagFast, Categories: []string{"fast", "connection"},
			Summary: "Returns the server's liveliness response.", Since: "1.0.0", Group: "connection", Handler: cmdPing},
		{Name: "echo", Arity: 2, Flags: FlagFast | FlagStale | FlagLoading, Categories: []string{"fast", "connection"},
			Summary: "Returns the given string.", Since: "1.0.0", Group: "connection", Handler: func(c *Ctx) { c.R.Bulk(c.Args[1]) }},
	}
}

func cmdPing(c *Ctx) {
	if len(c.Args) > 2 {
		c.ErrArity()
		return
	}
	if c.Cl.inPubSub() {
		c.R.Array(2)
		c.R.BulkString("pong")
		if len(c.Args) == 2 {
			c.R.Bulk(c.Args[1])
		} else {
			c.R.BulkString("")
		}
		return
	}
	if len(c.Args) == 2 {
		c.R.Bulk(c.Args[1])
		return
	}
	c.R.Simple("PONG")
}
