package core

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStorableJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		raw  string
		want bool
	}{
		{`{"a":"b"}`, true},
		{`{"a":"\u00e9\ud83d\ude00"}`, true}, // é and a whole surrogate pair
		{`{"a":"\\u0000"}`, true},            // a backslash, then text
		{`{"a":"\"\u0041"}`, true},
		{`["\u0000"]`, false},
		{`{"\u0000":1}`, false},
		{`{"a":"\ud800"}`, false},       // a high half alone
		{`{"a":"\ud800x"}`, false},      // followed by no escape
		{`{"a":"\ud800\u0041"}`, false}, // followed by no low half
		{`{"a":"\udc00"}`, false},       // a low half alone
		{"{\"a\":\"\xff\"}", false},     // no UTF-8
		{`{"a":`, false},                // no JSON
		{`"\ud83d\ude00\ud83d"`, false}, // a pair, then half of one
		{`"x\ud83d\ude00"`, true},
	} {
		if got := storableJSON([]byte(tt.raw)); got != tt.want {
			t.Errorf("storableJSON(%s) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

// FuzzStorableJSON: what storableJSON takes is valid UTF-8 JSON, and reads
// back without a NUL or a replacement character it did not hold.
func FuzzStorableJSON(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `["\u0000"]`, `"\ud800"`, `"\ud83d\ude00"`, `"\\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !storableJSON(raw) {
			return
		}
		if !json.Valid(raw) || !utf8.Valid(raw) {
			t.Fatalf("took %q", raw)
		}
		if bytes.Contains(raw, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
			return // a replacement character of its own
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if hasBad(v) {
			t.Fatalf("%q reads back with a NUL or U+FFFD", raw)
		}
	})
}

// hasBad reports whether a decoded JSON value holds U+0000, or U+FFFD
// that Go put in place of half a surrogate pair.
func hasBad(v any) bool {
	switch v := v.(type) {
	case string:
		for _, r := range v {
			if r == 0 || r == utf8.RuneError {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasBad(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if hasBad(k) || hasBad(e) {
				return true
			}
		}
	}
	return false
}

func TestSamePayload(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b         string
		exact, float bool
	}{
		{`{"a":1,"b":[2,3]}`, `{ "b" : [2, 3], "a" : 1 }`, true, true},
		{`{"a":"A"}`, `{"a":"\u0041"}`, true, true},
		{`1.0`, `1`, true, true},
		{`1e2`, `100`, true, true},
		{`0.1E1`, `1`, true, true},
		{`-0`, `0`, true, true},
		{`0.00`, `0`, true, true},
		{`1.5e-3`, `0.0015`, true, true},
		{`9007199254740993`, `9007199254740992`, false, true},
		{`[1,2]`, `[2,1]`, false, false},
		{`1`, `-1`, false, false},
		{`{"a":1}`, `{"a":"1"}`, false, false},
		{`1e99999999999999999999`, `1e99999999999999999999`, true, true},
		// JavaScript reads a number past a float64 as Infinity, which
		// JSON.stringify writes null.
		{`{"a":1e400}`, `{"a":null}`, false, true},
		// Exponents near int64's ends do not wrap into one another.
		{`1.5e-9223372036854775808`, `15e9223372036854775807`, false, false},
		{`150e9223372036854775807`, `15e-9223372036854775808`, false, false},
	} {
		if got := samePayload([]byte(tt.a), []byte(tt.b), exactNumbers); got != tt.exact {
			t.Errorf("samePayload(%s, %s, exactNumbers) = %v, want %v", tt.a, tt.b, got, tt.exact)
		}
		if got := samePayload([]byte(tt.a), []byte(tt.b), float64Numbers); got != tt.float {
			t.Errorf("samePayload(%s, %s, float64Numbers) = %v, want %v", tt.a, tt.b, got, tt.float)
		}
	}
}

// FuzzExactNumbers: two numbers exactNumbers calls one are one float64 too,
// and a number is one with itself written with a fraction of zeros.
func FuzzExactNumbers(f *testing.F) {
	for _, s := range []string{"1", "1.0", "-0.5e3", "9007199254740993", "1e400", "0"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		na, nb := json.Number(a), json.Number(b)
		if !json.Valid([]byte(a)) || !json.Valid([]byte(b)) {
			t.Skip()
		}
		if _, err := na.Float64(); err != nil {
			t.Skip()
		}
		if _, err := nb.Float64(); err != nil {
			t.Skip()
		}
		if exactNumbers(na) == exactNumbers(nb) && float64Numbers(na) != float64Numbers(nb) {
			t.Errorf("%s and %s: one exactly, two float64s (%v, %v)", a, b, float64Numbers(na), float64Numbers(nb))
		}
		if !strings.ContainsAny(a, ".eE") && exactNumbers(na) != exactNumbers(json.Number(a+".000")) {
			t.Errorf("%s and %s.000: two exactly", a, a)
		}
	})
}
