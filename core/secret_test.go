package core

import (
	"strings"
	"testing"

	"usher"
)

func TestSecretFormat(t *testing.T) {
	t.Parallel()
	for kind, f := range tokenFormats {
		text, hint, hash := newSecret(kind)
		if !strings.HasPrefix(text, f.prefix+"_") || len(text) != len(f.prefix)+1+f.random+checksumLen {
			t.Errorf("%s: %q has the wrong shape", kind, text)
		}
		if !strings.HasPrefix(text, hint) || len(hint) != len(f.prefix)+1+hintLen {
			t.Errorf("%s: hint %q", kind, hint)
		}
		got, gotHash, ok := parseSecret(text)
		if !ok || got != kind || string(gotHash) != string(hash) {
			t.Errorf("%s: parse gives %s %v", kind, got, ok)
		}
	}
	a, _, _ := newSecret(usher.TokenPersonal)
	b, _, _ := newSecret(usher.TokenPersonal)
	if a == b {
		t.Fatal("two tokens are equal")
	}
}

// FuzzParseSecret: parsing never panics, and only texts with a valid
// checksum parse.
func FuzzParseSecret(f *testing.F) {
	good, _, _ := newSecret(usher.TokenPersonal)
	key, _, _ := newSecret(usher.TokenApplication)
	for _, s := range []string{good, key, "usp_", "ptla_x", "", "_", good[:len(good)-1] + "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, hash, ok := parseSecret(s)
		if !ok {
			return
		}
		body := s[:len(s)-checksumLen]
		if checksum(body) != s[len(body):] || len(hash) != 32 || !kind.Valid() {
			t.Fatalf("%q parsed without a valid checksum", s)
		}
	})
}
