package glob

import "testing"

func TestMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "anything", true},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h*llo", "heeeello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hallo", true},
		{"h\\*llo", "h*llo", true},
		{"h\\*llo", "hello", false},
		{"foo*", "foo", true},
		{"*foo*bar", "xfooybar", true},
		{"a*b*c", "abbbbc", true},
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"user:*", "user:1000", true},
		{"[abc", "a", true},
	}
	for _, c := range cases {
		if got := MatchString(c.p, c.s, false); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
	if !MatchString("HELLO", "hello", true) || MatchString("HELLO", "hello", false) {
		t.Error("nocase")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("a*b[c-d]\\?", "abcd?")
	f.Fuzz(func(t *testing.T, p, s string) {
		MatchString(p, s, false)
		MatchString(p, s, true)
	})
}
