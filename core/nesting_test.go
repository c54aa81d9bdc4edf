package core

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestNesting: the depth of a pattern's groups and of a JSON text's
// arrays and objects, escapes, classes and strings skipped; and whether a
// pattern repeats a group (1) or not (0).
func TestNesting(t *testing.T) {
	t.Parallel()
	pattern, text := patternNesting, jsonNesting
	repeats := func(s string) int {
		if repeatsGroup(s) {
			return 1
		}
		return 0
	}
	for _, tt := range []struct {
		nesting func(string) int
		in      string
		want    int
	}{
		{pattern, "", 0},
		{pattern, "x", 0},
		{pattern, "(a)(b)", 1},
		{pattern, "((a)|(?:b(c)))", 3},
		{pattern, `\(\(\(`, 0},
		{pattern, `[(((]`, 0},
		{pattern, `[\]((]`, 0},
		{pattern, `[]((]`, 2}, // an empty class, then two groups opened
		{pattern, `(\))`, 1},
		{pattern, "))((", 2},
		{pattern, strings.Repeat("(", 1000), 1000},
		{pattern, strings.Repeat("(", 5000), maxRegexpNesting + 1}, // counted no further
		{text, "", 0},
		{text, "1", 0},
		{text, "[]", 1},
		{text, `{"a":[1,{"b":[]}]}`, 4},
		{text, `"[[[["`, 0},
		{text, `["\"[[", []]`, 2},
		{text, `["\\", [[]]]`, 3},
		{text, strings.Repeat("[", 10000), 10000},
		{text, strings.Repeat("[", 20000), maxJSONNesting + 1},
		{repeats, "(x)*", 1},
		{repeats, "(?:x)+?", 1},
		{repeats, "(x){2,}", 1},
		{repeats, "(x)?x*", 0},
		{repeats, `\(x\)*`, 0},
		{repeats, `[(x)*]`, 0},
		{repeats, "(x)", 0},
		{repeats, `(x)\1*y`, 1},
		{repeats, `(x)\12+`, 1},
		{repeats, `(?<n>x)\k<n>{2}`, 1},
		{repeats, `(x)\1`, 0},
		{repeats, `[\1*]`, 0},
		{repeats, `\k<n`, 0},
	} {
		if got := tt.nesting(tt.in); got != tt.want {
			t.Errorf("nesting of %.40q = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// FuzzJSONNesting: for any text that is JSON, jsonNesting is the depth of
// the value it decodes to.
func FuzzJSONNesting(f *testing.F) {
	for _, s := range []string{`[]`, `{"a":[1,{"b":"[{"}]}`, `"\\\"["`, `[[],[[]],{}]`, `{"\u005b":[]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var v any
		if json.Unmarshal([]byte(text), &v) != nil {
			return
		}
		if got, want := jsonNesting(text), depthOf(v); got != want {
			t.Fatalf("jsonNesting(%q) = %d, want %d", text, got, want)
		}
	})
}

// depthOf is how deep a decoded JSON value's arrays and objects nest.
func depthOf(v any) int {
	most := 0
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			most = max(most, depthOf(e))
		}
	case map[string]any:
		for _, e := range v {
			most = max(most, depthOf(e))
		}
	default:
		return 0
	}
	return most + 1
}

// TestRunRecovered: a Go panic that escapes a script's runtime fails the
// run, not the process.
func TestRunRecovered(t *testing.T) {
	t.Parallel()
	err := runRecovered(func() error {
		var f func()
		f()
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "the script's runtime failed") {
		t.Fatalf("a panic: %v", err)
	}
	if err := runRecovered(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}
