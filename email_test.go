package usher

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

func TestEmailKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, a, b string
	}{
		{"case", "Alice@Example.COM", "alice@example.com"},
		{"kelvin sign", "\u212Aelvin@example.com", "kelvin@example.com"},
		{"full-width local part", "ｋｅｌｖｉｎ@example.com", "kelvin@example.com"},
		{"full-width domain", "kelvin@ｅｘａｍｐｌｅ.com", "kelvin@example.com"},
		{"sharp s folds", "STRASSE@example.com", "straße@example.com"},
		{"composed and decomposed", "jos\u00e9@example.com", "jose\u0301@example.com"},
		{"ligature", "\ufb01le@example.com", "file@example.com"},
		{"greek final sigma", "ΟΔΟΣ@example.com", "οδος@example.com"},
	} {
		if ka, kb := EmailKey(tt.a), EmailKey(tt.b); ka != kb {
			t.Errorf("%s: EmailKey(%q) = %q, EmailKey(%q) = %q; want one key", tt.name, tt.a, ka, tt.b, kb)
		}
	}
	for _, tt := range [][2]string{{"alice@example.com", "alice@example.org"}, {"a.b@example.com", "ab@example.com"}} {
		if EmailKey(tt[0]) == EmailKey(tt[1]) {
			t.Errorf("%q and %q share a key", tt[0], tt[1])
		}
	}
	if EmailKey("") != "" {
		t.Error("the empty address has a key")
	}
}

// slowKey is EmailKey without its ASCII shortcut.
func slowKey(s string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}

// FuzzEmailKey checks that a key is its own key (so a stored key compares
// like a fresh one), that case never matters, and that the ASCII shortcut
// agrees with the full normalisation.
func FuzzEmailKey(f *testing.F) {
	for _, s := range []string{"alice@example.com", "\u212Aelvin@example.com", "ｋelvin@example.com", "straße@x", "ΣΑΣ@x", "İstanbul@x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		k := EmailKey(s)
		if again := EmailKey(k); again != k {
			t.Fatalf("EmailKey(%q) = %q, but EmailKey of that is %q", s, k, again)
		}
		if k != slowKey(s) {
			t.Fatalf("EmailKey(%q) = %q, the full normalisation %q", s, k, slowKey(s))
		}
		if up := EmailKey(strings.ToUpper(s)); up != k && ascii(s) {
			t.Fatalf("EmailKey(%q) = %q but its upper case keys as %q", s, k, up)
		}
	})
}
