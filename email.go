package usher

import (
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// EmailKey is the form in which two e-mail addresses are compared: Unicode
// NFKC, case-folded, and NFKC again (Unicode's NFKC_Casefold, as UTS #39
// uses for confusable identifiers). Addresses that only differ by case or by
// a compatibility character (a Kelvin sign for K, a full-width letter) have
// the same key, so the database's uniqueness holds across them. The key is
// what stores index and what one-time codes are bound to; the address
// itself is kept as it was given.
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
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(addr)))
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
