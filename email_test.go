package usher

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/idna"
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
		{"a domain's U-label and A-label", "anna@bücher.example", "anna@XN--bcher-kva.example"},
		{"an upper-case U-label", "ANNA@BÜCHER.example", "anna@xn--bcher-kva.example"},
		{"a full-width U-label", "anna@ｂüｃｈｅｒ.example", "anna@bücher.example"},
		{"a local part beyond ASCII and an A-label", "Ünal@bücher.example", "ünal@xn--bcher-kva.example"},
	} {
		if ka, kb := EmailKey(tt.a), EmailKey(tt.b); ka != kb {
			t.Errorf("%s: EmailKey(%q) = %q, EmailKey(%q) = %q; want one key", tt.name, tt.a, ka, tt.b, kb)
		}
	}
	for _, tt := range [][2]string{
		{"alice@example.com", "alice@example.org"},
		{"a.b@example.com", "ab@example.com"},
		// Two domains to IDNA, which case folding alone would join.
		{"nikos@λογος.example", "nikos@λογοσ.example"},
		{"anna@straße.example", "anna@strasse.example"},
	} {
		if EmailKey(tt[0]) == EmailKey(tt[1]) {
			t.Errorf("%q and %q share a key", tt[0], tt[1])
		}
	}
	if EmailKey("") != "" {
		t.Error("the empty address has a key")
	}
}

// slowKey is EmailKey for an ASCII address without its shortcut.
func slowKey(s string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}

// FuzzEmailKey checks that a key is its own key (so a stored key compares
// like a fresh one), that case never matters, that the ASCII shortcut
// agrees with the full normalisation, and that a domain beyond ASCII is
// keyed by its A-label where IDNA accepts it.
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
		if ascii(s) && k != slowKey(s) {
			t.Fatalf("EmailKey(%q) = %q, the full normalisation %q", s, k, slowKey(s))
		}
		if n := norm.NFKC.String(s); strings.Contains(n, "@") {
			d := n[strings.LastIndexByte(n, '@')+1:]
			if a, err := idna.Lookup.ToASCII(d); err == nil && !strings.HasSuffix(k, "@"+a) {
				t.Fatalf("EmailKey(%q) = %q, not keyed by the A-label %q", s, k, a)
			}
		}
		if up := EmailKey(strings.ToUpper(s)); up != k && ascii(s) {
			t.Fatalf("EmailKey(%q) = %q but its upper case keys as %q", s, k, up)
		}
	})
}
