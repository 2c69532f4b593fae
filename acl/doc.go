// Package acl is slotvault's user model: Redis 7.0 ACL users, the rule
// language of ACL SETUSER and `user` lines, permission checks for commands,
// keys and channels, and the textual description ACL LIST prints.
//
// The package knows commands only through a Catalog built by the node from
// its command table (names, subcommands, categories), so it has no network
// or keyspace dependency and is tested on its own.
//
// Representation follows Redis: each user has a bitmap of allowed command
// ids (a container command and each of its subcommands have their own id),
// plus a reserved "all commands" bit set only by +@all/allcommands, which is
// what decides whether ACL LIST starts with +@all or -@all. Categories are
// expanded into the bitmap when applied; ACL LIST recomputes a short rule
// list from the bitmap with Redis 7.0's greedy best-fit algorithm, so the
// description depends only on the bitmap, not on the order rules were given.
//
// Concurrency: a Registry and its users are not safe for concurrent use;
// the node guards them with its lock.
package acl
