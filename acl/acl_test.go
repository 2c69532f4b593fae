package acl

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func testCatalog() *Catalog {
	return NewCatalog([]CommandSpec{
		{Name: "get", Categories: []string{"read", "string", "fast"}},
		{Name: "set", Categories: []string{"write", "string", "slow"}},
		{Name: "incr", Categories: []string{"write", "string", "fast"}},
		{Name: "hget", Categories: []string{"read", "hash", "fast"}},
		{Name: "hset", Categories: []string{"write", "hash", "fast"}},
		{Name: "hdel", Categories: []string{"write", "hash", "fast"}},
		{Name: "flushall", Categories: []string{"keyspace", "write", "slow", "dangerous"}},
		{Name: "select", Categories: []string{"fast", "connection"}},
		{Name: "config", Categories: []string{"slow"}, Subcommands: []CommandSpec{
			{Name: "config|get", Categories: []string{"admin", "slow", "dangerous"}},
			{Name: "config|set", Categories: []string{"admin", "slow", "dangerous"}},
		}},
	})
}

func TestRulesAndDescribe(t *testing.T) {
	cat := testCatalog()
	for _, tc := range []struct {
		rules []string
		want  string
	}{
		{nil, "off resetchannels -@all"},
		{[]string{"on", "nopass", "allkeys", "allchannels", "allcommands"}, "on nopass ~* &* +@all"},
		{[]string{"+@all", "-set"}, "off resetchannels +@all -set"},
		{[]string{"+@hash", "-hset"}, "off resetchannels -@all +@hash -hset"},
		{[]string{"+@hash", "+@string", "-@string"}, "off resetchannels -@all +@hash"},
		{[]string{"+config|get"}, "off resetchannels -@all +config|get"},
		// With this small table @admin is exactly config's subcommands, so
		// the best-fit description names it, as Redis's algorithm would.
		{[]string{"+config"}, "off resetchannels -@all +@admin +config"},
		{[]string{"+select|0", "+select|1"}, "off resetchannels -@all +select|0 +select|1"},
		{[]string{"~a", "%R~b", "%W~c", "%RW~d", "%R~c"}, "off ~a %R~b ~c ~d resetchannels -@all"},
		{[]string{">x", ">y", "<x", "&ch", "&ch"}, "off #a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa resetchannels &ch -@all"},
		{[]string{"reset"}, "off sanitize-payload resetchannels -@all"},
	} {
		r := NewRegistry(cat)
		u, err := r.SetUser("u", tc.rules)
		if err != nil {
			t.Fatalf("%v: %v", tc.rules, err)
		}
		if got := r.Describe(u); got != tc.want {
			t.Errorf("%v:\n  got  %s\n  want %s", tc.rules, got, tc.want)
		}
	}
}

func TestRuleErrors(t *testing.T) {
	r := NewRegistry(testCatalog())
	for _, tc := range []struct {
		rules []string
		want  error
	}{
		{[]string{"+nosuch"}, ErrUnknownCommand},
		{[]string{"+@nosuch"}, ErrUnknownCommand},
		{[]string{"+config|nosuch"}, ErrUnknownCommand},
		{[]string{"+config|get|x"}, ErrSubFirstArg},
		{[]string{"+get|"}, ErrSyntax},
		{[]string{"bogus"}, ErrSyntax},
		{[]string{"%X~a"}, ErrSyntax},
		{[]string{"allkeys", "~a"}, ErrKeysAfterAll},
		{[]string{"allchannels", "&a"}, ErrChansAfterAll},
		{[]string{"<nope"}, ErrNoSuchPassword},
		{[]string{"#abc"}, ErrBadHash},
		{[]string{"(~a +get)"}, ErrSelectors},
	} {
		_, err := r.SetUser("e", tc.rules)
		if !errors.Is(err, tc.want) {
			t.Errorf("%v: err %v, want %v", tc.rules, err, tc.want)
		}
	}
	if r.Get("e") != nil {
		t.Error("a failed SETUSER created the user")
	}
	if _, err := r.SetUser("a b", nil); !errors.Is(err, ErrBadUsername) {
		t.Errorf("bad name: %v", err)
	}
	// All or nothing on an existing user.
	u, _ := r.SetUser("x", []string{"on", ">p", "+get"})
	if _, err := r.SetUser("x", []string{"off", "+nosuch"}); err == nil {
		t.Fatal("bad rule accepted")
	}
	if !u.Enabled || !u.CheckPassword([]byte("p")) {
		t.Error("failed SETUSER changed the user")
	}
}

func TestChecks(t *testing.T) {
	cat := testCatalog()
	r := NewRegistry(cat)
	if !r.Default().Full {
		t.Fatal("default user not Full")
	}
	u, _ := r.SetUser("u", []string{"on", ">p", "-@all", "+get", "+config|get", "+select|0", "%R~r*", "%W~w*", "~k*", "&news.*"})
	if u.Full {
		t.Fatal("restricted user Full")
	}
	cases := []struct {
		cmd   string
		first string
		ok    bool
	}{
		{"get", "", true}, {"set", "", false}, {"config|get", "", true}, {"config|set", "", false},
		{"select", "0", true}, {"select", "1", false},
	}
	for _, c := range cases {
		var first []byte
		if c.first != "" {
			first = []byte(c.first)
		}
		if got := u.CanRun(cat.Lookup(c.cmd), first); got != c.ok {
			t.Errorf("CanRun %s %s = %v", c.cmd, c.first, got)
		}
	}
	keys := []struct {
		key         string
		read, write bool
		ok          bool
	}{
		{"r1", true, false, true}, {"r1", false, true, false}, {"w1", false, true, true}, {"w1", true, false, false},
		{"k1", true, true, true}, {"z", true, false, false},
	}
	for _, k := range keys {
		if got := u.CanAccessKey([]byte(k.key), k.read, k.write); got != k.ok {
			t.Errorf("key %s r=%v w=%v: %v", k.key, k.read, k.write, got)
		}
	}
	if !u.CanAccessChannel([]byte("news.1"), false) || u.CanAccessChannel([]byte("sport"), false) {
		t.Error("channel glob")
	}
	if !u.CanAccessChannel([]byte("news.*"), true) || u.CanAccessChannel([]byte("news.1"), true) {
		t.Error("PSUBSCRIBE patterns must match literally")
	}
	if !u.CheckPassword([]byte("p")) || u.CheckPassword([]byte("q")) {
		t.Error("password")
	}
	r.SetUser("u", []string{"off"})
	if u.CheckPassword([]byte("p")) {
		t.Error("disabled user authenticated")
	}
}

// TestDescribeRoundTrip: whatever the rules, applying the description to
// a new user gives the same permissions (the property Redis asserts).
func TestDescribeRoundTrip(t *testing.T) {
	cat := testCatalog()
	var pool []string
	for _, c := range cat.all {
		pool = append(pool, "+"+c.Name, "-"+c.Name)
	}
	for _, c := range Categories {
		pool = append(pool, "+@"+c, "-@"+c)
	}
	pool = append(pool, "+@all", "-@all", "+select|5")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		r := NewRegistry(cat)
		var rules []string
		for j := 0; j < 1+rng.IntN(8); j++ {
			rules = append(rules, pool[rng.IntN(len(pool))])
		}
		u, err := r.SetUser("u", rules)
		if err != nil {
			t.Fatal(err)
		}
		desc := r.CommandRules(u)
		v, err := r.SetUser("v", strings.Fields(desc))
		if err != nil {
			t.Fatalf("%v -> %q: %v", rules, desc, err)
		}
		if !slices.Equal(u.allowed, v.allowed) || len(u.firstArgs) != len(v.firstArgs) {
			t.Fatalf("%v -> %q does not round-trip", rules, desc)
		}
	}
}

func TestLoadAndSave(t *testing.T) {
	cat := testCatalog()
	lines, errs := ParseFile("f.acl", "user a on >p ~* +get\n\nuser default on nopass ~* &* +@all -flushall\n", func(s string) ([]string, error) {
		return strings.Fields(s), nil
	})
	if errs != nil {
		t.Fatal(errs)
	}
	r, errs := Load(cat, false, true, lines)
	if errs != nil {
		t.Fatal(errs)
	}
	saved := r.Save()
	if !strings.Contains(saved, "user a on #") || !strings.Contains(saved, "user default on nopass sanitize-payload ~* &* +@all -@keyspace\n") {
		t.Errorf("saved:\n%s", saved)
	}
	_, errs = Load(cat, false, true, []UserLine{{File: "f", Line: 1, Args: []string{"a"}}, {File: "f", Line: 2, Args: []string{"a", "+nosuch"}}, {File: "f", Line: 3, Args: []string{"b", "+nosuch"}}})
	if len(errs) != 2 || errs[0].Error() != "WARNING: Duplicate user 'a' found on line 2" ||
		errs[1].Error() != "f:3: Error in applying operation '+nosuch': Unknown command or category name in ACL" {
		t.Errorf("errors: %v", errs)
	}
	// Replace keeps the default user object (clients hold it).
	r0 := NewRegistry(cat)
	def := r0.Default()
	old := r0.Replace(r)
	if r0.Default() != def || def.Full || len(old) != 0 {
		t.Error("Replace did not update the default user in place")
	}
}
