package usher

import (
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// EmailKey is the form in which two e-mail addresses are compared: Unicode
// NFKC, case-folded, and NFKC again (Unicode's NFKC_Casefold, as UTS #39
// uses for confusable identifiers). Addresses that only differ by case or by
// a compatibility character (a Kelvin sign for K, a full-width letter) have
// the same key, so the database's uniqueness holds across them. A domain
// beyond ASCII is keyed as its A-label, the form DNS knows it by, once
// IDNA's Lookup profile accepts it: a domain's U-label and A-label are one
// key, and two domains IDNA tells apart (ß and ss, ς and σ) are two, where
// case folding alone would join them. The key keeps the default-ignorable
// characters NFKC_Casefold drops (a zero-width space, a soft hyphen); the
// core refuses addresses that hold one, so that for every address it
// takes the key is NFKC_Casefold's. The key is what stores index and what
// one-time codes are bound to; the address itself is kept as it was given.
func EmailKey(addr string) string {
	if addr == "" {
		return ""
	}
	if ascii(addr) {
		// The common case, and for ASCII the key is the lower-cased address.
		b := []byte(addr)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	// NFKC first, so that the @ the domain follows is the one the key has
	// (a full-width ＠ is one), but not case folding, which IDNA does its
	// own way.
	n := norm.NFKC.String(addr)
	if i := strings.LastIndexByte(n, '@'); i >= 0 && !ascii(n[i+1:]) {
		if domain, err := idna.Lookup.ToASCII(n[i+1:]); err == nil {
			return fold(n[:i]) + "@" + domain
		}
	}
	return fold(n)
}

// fold is Unicode's NFKC_Casefold of an NFKC string.
func fold(s string) string {
	return norm.NFKC.String(cases.Fold().String(s))
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
