package node_test

import (
	"strings"
	"testing"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

func TestDiffACLUsers(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
ACL WHOAMI
ACL USERS
ACL LIST
ACL GETUSER default
ACL GETUSER nosuch
ACL SETUSER alice
ACL LIST
ACL GETUSER alice
ACL SETUSER alice on >p1 +@hash -hset ~k* %R~r* %W~w* &ch*
ACL GETUSER alice
ACL SETUSER alice +hset +config|get
ACL LIST
ACL GETUSER alice
ACL SETUSER alice +@all -set
ACL GETUSER alice
ACL SETUSER alice allcommands
ACL GETUSER alice
ACL SETUSER alice nocommands +@hash +@string -@string
ACL GETUSER alice
ACL SETUSER alice +@all -@hash +hget
ACL GETUSER alice
ACL SETUSER alice -@all +set
ACL GETUSER alice
ACL SETUSER alice allkeys allchannels
ACL GETUSER alice
ACL SETUSER alice resetkeys resetchannels %RW~a %W~b %R~c ~d ~a %R~b
ACL GETUSER alice
ACL SETUSER bob nopass >a
ACL GETUSER bob
ACL SETUSER bob resetpass
ACL GETUSER bob
ACL SETUSER bob >x >y <x
ACL GETUSER bob
ACL SETUSER bob #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 !5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
ACL GETUSER bob
ACL SETUSER bob reset
ACL GETUSER bob
ACL SETUSER bob skip-sanitize-payload
ACL GETUSER bob
ACL SETUSER bob ON off On
ACL GETUSER bob
ACL USERS
ACL LIST
ACL DELUSER bob nosuch
ACL DELUSER bob
ACL USERS
ACL DELUSER default
ACL DELUSER alice default
ACL USERS
? HELLO 3
ACL GETUSER default
ACL GETUSER nosuch
ACL LIST
ACL DRYRUN default get k
ACL LOG
`)
}

func TestDiffACLSetUserErrors(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
ACL SETUSER x #0123
ACL SETUSER x #5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8
ACL SETUSER x <nope
ACL SETUSER x !5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
ACL SETUSER x +nosuch
ACL SETUSER x -nosuch
ACL SETUSER x +@nosuch
ACL SETUSER x +config|nosuch
ACL SETUSER x +nosuch|a
ACL SETUSER x +config|
ACL SETUSER x bogus
ACL SETUSER x %X~a
ACL SETUSER x %~a
ACL SETUSER x %R
ACL SETUSER x %RW
ACL SETUSER x %RWX
ACL GETUSER x
ACL SETUSER x allkeys ~a
ACL SETUSER x ~* %R~a
ACL SETUSER x allchannels &a
ACL SETUSER x "a b"
ACL SETUSER "a b" on
ACL USERS
ACL SETUSER y on >p ~a +get bogus
ACL USERS
ACL SETUSER
ACL SETUSER x
ACL GETUSER
ACL GETUSER a b
ACL DELUSER
ACL LIST x
ACL USERS x
ACL WHOAMI x
ACL FOO
ACL
ACL HELP
ACL HELP x
`)
}

func TestDiffACLCatGenpassLog(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
COMMAND INFO acl|setuser acl|getuser acl|deluser acl|list acl|users acl|whoami acl|cat acl|genpass acl|log acl|dryrun acl|load acl|save acl|help
COMMAND INFO auth hello
ACL CAT
ACL CAT nope
ACL CAT read write
~ ACL CAT hash
~ ACL CAT string
~ ACL CAT HyperLogLog
~ ACL CAT transaction
? ACL GENPASS
ACL GENPASS 0
ACL GENPASS -1
ACL GENPASS 4097
ACL GENPASS x
? ACL GENPASS 1
? ACL GENPASS 4096
ACL LOG
ACL LOG RESET
ACL LOG 0
ACL LOG -1
ACL LOG x
ACL LOG 1 2
ACL SAVE
ACL LOAD
`)
	for _, bits := range []string{"1", "4", "5", "9", "255", "256", "257"} {
		rv, _ := d.Redis.Do("ACL", "GENPASS", bits)
		sv, _ := d.SV.Do("ACL", "GENPASS", bits)
		if len(rv.Str) != len(sv.Str) {
			t.Errorf("GENPASS %s: redis %q slotvault %q", bits, rv.Str, sv.Str)
		}
	}
}

func TestDiffACLDryrun(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
ACL SETUSER al on >pw ~k* %R~r* %W~w* &ch* +@all -flushall
ACL DRYRUN al get k1
ACL DRYRUN al get r1
ACL DRYRUN al get w1
ACL DRYRUN al set w1 v
ACL DRYRUN al set r1 v
ACL DRYRUN al set zz v
ACL DRYRUN al mget k1 zz
ACL DRYRUN al flushall
ACL DRYRUN al publish nope x
ACL DRYRUN al publish ch1 x
ACL DRYRUN al subscribe ch1 nope
ACL DRYRUN al psubscribe ch*
ACL DRYRUN al psubscribe ch1
ACL DRYRUN al copy k1 w1
ACL DRYRUN al copy w1 k1
ACL DRYRUN al incr w1
ACL DRYRUN al incr k1
ACL DRYRUN al lpush w1 a
ACL DRYRUN al get
ACL DRYRUN al nocmd
ACL DRYRUN nobody get k
ACL DRYRUN default get k
ACL SETUSER ro on nopass ~* -@all +@read +config|get
ACL DRYRUN ro get k
ACL DRYRUN ro set k v
ACL DRYRUN ro config get maxmemory
ACL DRYRUN ro config set maxmemory 1
ACL DRYRUN ro hello
ACL DRYRUN ro auth a b
ACL SETUSER sel on nopass allkeys -@all +select|0 +get
ACL DRYRUN sel select 0
ACL DRYRUN sel select 1
ACL DRYRUN sel get a
`)
}

// aclPair is a client of each server, authenticated as the same user.
func aclConns(t *testing.T, d *testutil.Diff) (*resp.Conn, *resp.Conn) {
	return testutil.Dial(t, d.RedisAddr), testutil.Dial(t, d.SVAddr)
}

func sameReplies(t *testing.T, r, s *resp.Conn, script string) {
	t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		args := strings.Fields(line)
		rv, err1 := r.Do(args...)
		sv, err2 := s.Do(args...)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", line, err1, err2)
		}
		if rv.String() != sv.String() {
			t.Errorf("%s\n  redis:     %s\n  slotvault: %s", line, rv, sv)
		}
	}
}

func TestDiffACLNoPerm(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
ACL SETUSER al on >pw ~k* %R~r* %W~w* &ch* +@all -flushall -config|set
`)
	r, s := aclConns(t, d)
	sameReplies(t, r, s, `
AUTH al bad
AUTH nouser x
AUTH x
HELLO 3 AUTH al bad
AUTH al pw
ACL WHOAMI
GET k1
GET r1
SET r1 v
SET w1 v
GET w1
SET zz v
MGET k1 zz
FLUSHALL
CONFIG SET maxmemory 0
CONFIG NOSUCH x
CLIENT NOSUCH
PUBLISH nope x
PUBLISH ch1 x
COPY k1 w1
DEL w1
MULTI
GET zz
SET k1 v
EXEC
MULTI
SET k1 v
EXEC
DEL k1
ACL WHOAMI
`)
	// The log: same entries in the same order (ages and client-info vary).
	rv, _ := d.Redis.Do("ACL", "LOG")
	sv, _ := d.SV.Do("ACL", "LOG")
	strip := func(v resp.Value) string {
		var b strings.Builder
		for _, e := range v.Elems {
			for i := 0; i+1 < len(e.Elems); i += 2 {
				k := e.Elems[i].Str
				if k == "age-seconds" || k == "client-info" {
					continue
				}
				b.WriteString(k + "=" + e.Elems[i+1].String() + " ")
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	if strip(rv) != strip(sv) {
		t.Errorf("ACL LOG\n  redis:\n%s  slotvault:\n%s", strip(rv), strip(sv))
	}
	d.Run(`
? ACL LOG 2
? ACL LOG 1
ACL LOG RESET
ACL LOG
INFO errorstats
`)
	rv, _ = d.Redis.Do("INFO", "commandstats")
	sv, _ = d.SV.Do("INFO", "commandstats")
	for _, c := range []string{"cmdstat_flushall:", "cmdstat_get:", "cmdstat_set:", "cmdstat_config|set:"} {
		rl, sl := statLine(rv.Str, c), statLine(sv.Str, c)
		if rl != sl || rl == "" {
			t.Errorf("commandstats %s\n  redis:     %s\n  slotvault: %s", c, rl, sl)
		}
	}
}

func TestDiffACLRequirePassAndDefault(t *testing.T) {
	d := testutil.NewDiff(t)
	r, s := aclConns(t, d)
	d.Run("CONFIG SET requirepass secret")
	sameReplies(t, r, s, `
GET a
AUTH wrong
AUTH default wrong
AUTH secret
ACL LIST
ACL GETUSER default
ACL SETUSER default >other
AUTH other
ACL SETUSER default nopass
ACL LIST
`)
	r2, s2 := aclConns(t, d)
	sameReplies(t, r2, s2, `
GET a
ACL WHOAMI
ACL SETUSER default resetpass
`)
	r3, s3 := aclConns(t, d)
	sameReplies(t, r3, s3, `
GET a
AUTH x
HELLO 2 AUTH default x
ACL WHOAMI
`)
}

func TestDiffACLDelUserDisconnects(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`ACL SETUSER u on >p +@all ~* &*`)
	r, s := aclConns(t, d)
	sameReplies(t, r, s, `
AUTH u p
ACL WHOAMI
`)
	d.Run(`
CLIENT KILL USER nosuch
CLIENT KILL USER u
ACL SETUSER u2 on >p +@all ~* &*
`)
	r2, s2 := aclConns(t, d)
	sameReplies(t, r2, s2, `AUTH u2 p`)
	d.Run(`ACL DELUSER u2`)
	for _, c := range []*resp.Conn{r, s, r2, s2} {
		if _, err := c.Do("PING"); err == nil {
			t.Errorf("connection of a killed/deleted user still answers")
		}
	}
}

// TestDiffACLChangesWhileQueued: rules changed between MULTI and EXEC are
// applied at EXEC.
func TestDiffACLChangesWhileQueued(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`ACL SETUSER u on >p ~* &* +@all`)
	r, s := aclConns(t, d)
	sameReplies(t, r, s, `
AUTH u p
MULTI
SET k v
GET k
PING
`)
	d.Run(`ACL SETUSER u -get`)
	sameReplies(t, r, s, `
EXEC
GET k
MULTI
GET k
SET k2 v
PUBLISH ch x
`)
	d.Run(`ACL SETUSER u resetkeys ~k resetchannels`)
	sameReplies(t, r, s, `
EXEC
`)
	d.Run(`? ACL LOG 1`)
}

// TestDiffACLPubsubRevoked: removing a channel from a user disconnects its
// subscribers to that channel; other clients of the user stay.
func TestDiffACLPubsubRevoked(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`ACL SETUSER u on >p ~* resetchannels &news* +@all`)
	r, s := aclConns(t, d)
	r2, s2 := aclConns(t, d)
	sameReplies(t, r, s, `
AUTH u p
SUBSCRIBE news1
`)
	sameReplies(t, r2, s2, `
AUTH u p
PSUBSCRIBE news*
PSUBSCRIBE news1
PSUBSCRIBE n*
`)
	d.Run(`
ACL SETUSER u resetchannels &news1
PUBLISH news1 x
`)
	for _, c := range []*resp.Conn{r2, s2} {
		if _, err := c.Do("PING"); err == nil {
			t.Errorf("pattern subscriber kept after its pattern was revoked")
		}
	}
	sameReplies(t, r, s, `
PING
`)
}

func TestDiffACLHelloAndClientList(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`ACL SETUSER u on >p ~* &* +@all`)
	r, s := aclConns(t, d)
	sameReplies(t, r, s, `
HELLO 2 AUTH u bad
HELLO 2 AUTH nouser p
ACL WHOAMI
AUTH u p
ACL WHOAMI
AUTH default nopass-any
ACL WHOAMI
RESET
ACL WHOAMI
`)
	d.Run(`
ACL SETUSER default >pw
`)
	r2, s2 := aclConns(t, d)
	sameReplies(t, r2, s2, `
PING
HELLO 3
AUTH pw
ACL WHOAMI
ACL SETUSER default nopass
`)
}

// statLine returns a commandstats line without its timing fields.
func statLine(info, prefix string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if strings.HasPrefix(l, prefix) {
			var keep []string
			for _, f := range strings.Split(l[len(prefix):], ",") {
				if strings.HasPrefix(f, "calls=") || strings.HasPrefix(f, "rejected_calls=") || strings.HasPrefix(f, "failed_calls=") {
					keep = append(keep, f)
				}
			}
			return strings.Join(keep, ",")
		}
	}
	return ""
}

// TestDiffACLKeyReadWrite: for users that may only read or only write keys,
// DRYRUN of commands of every family gives Redis's answer (Redis derives
// it from key specs; slotvault from the write flag and aclKeyNeeds).
func TestDiffACLKeyReadWrite(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
ACL SETUSER ro on nopass %R~* +@all
ACL SETUSER wo on nopass %W~* +@all
ACL SETUSER mix on nopass %R~src* %W~dst* +@all
`)
	cmds := []string{
		"get k", "set k v", "set k v get", "getset k v", "getdel k", "getex k ex 10", "incr k", "incrby k 1",
		"decr k", "incrbyfloat k 1", "append k v", "setrange k 0 v", "getrange k 0 1", "strlen k", "mget k k2",
		"mset k v k2 v", "msetnx k v", "setnx k v", "setex k 10 v", "psetex k 10 v", "lcs k k2",
		"del k", "unlink k", "exists k", "expire k 10", "persist k", "ttl k", "type k", "rename k k2",
		"renamenx k k2", "copy src dst", "dump k", "restore k 0 x", "touch k", "object encoding k",
		"lpush k v", "rpush k v", "lpushx k v", "lpop k", "rpop k", "lrange k 0 1", "llen k", "lindex k 0",
		"lset k 0 v", "linsert k before a b", "lrem k 0 v", "ltrim k 0 1", "lpos k v", "rpoplpush src dst",
		"lmove src dst left right", "blpop k 1", "lmpop 1 k left",
		"sadd k m", "srem k m", "spop k", "srandmember k", "smembers k", "sismember k m", "scard k",
		"smove src dst m", "sinter k k2", "sinterstore dst src", "sunionstore dst src", "sdiffstore dst src", "sintercard 1 k",
		"hset k f v", "hget k f", "hdel k f", "hincrby k f 1", "hincrbyfloat k f 1", "hsetnx k f v", "hgetall k",
		"hmget k f", "hlen k", "hkeys k", "hrandfield k", "hstrlen k f",
		"zadd k 1 m", "zincrby k 1 m", "zrem k m", "zrange k 0 1", "zscore k m", "zpopmin k", "zcard k",
		"zrangestore dst src 0 1", "zunionstore dst 1 src", "zinterstore dst 1 src", "zdiffstore dst 1 src", "zmpop 1 k min",
		"zremrangebyscore k 0 1", "zrank k m",
		"setbit k 0 1", "getbit k 0", "bitcount k", "bitop and dst src", "bitpos k 1", "bitfield k get u8 0", "bitfield_ro k get u8 0",
		"pfadd k a", "pfcount k", "pfmerge dst src", "bitfield k get u8 0 set u8 0 1", "bitfield k incrby u8 0 1",
		"pexpireat k 1", "getex k", "hmset k f v", "sunion k k2", "zrangebyscore k 0 1", "lmpop 2 src dst left",
		"blmove src dst left right 0", "brpoplpush src dst 0", "bzpopmin k 0", "zinter 1 k", "zdiff 1 k",
	}
	for _, user := range []string{"ro", "wo", "mix"} {
		for _, c := range cmds {
			args := append([]string{"ACL", "DRYRUN", user}, strings.Fields(c)...)
			if user == "mix" && !strings.Contains(c, "src") {
				continue
			}
			d.Do(args...)
		}
	}
}

// TestDiffACLUnknownSubcommand: an unknown subcommand is reported as such
// before permissions are checked; a known one is refused.
func TestDiffACLUnknownSubcommand(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`ACL SETUSER lim on >p ~* -@all +get`)
	r, s := aclConns(t, d)
	sameReplies(t, r, s, `
AUTH lim p
CONFIG NOSUCH x
CONFIG GET maxmemory
OBJECT NOSUCH k
OBJECT ENCODING k
ACL WHOAMI
ACL NOSUCH
`)
}
