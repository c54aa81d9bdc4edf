package core

import (
	"slices"
	"testing"
	"unicode/utf16"

	"github.com/dop251/goja"
)

// unitSearch is textSearch's answer found the way the language defines
// it, comparing at each position in turn.
func unitSearch(s, sub []uint16, from, how int) any {
	n, m := len(s), len(sub)
	from = min(max(from, 0), n)
	at := func(i int) bool { return i >= 0 && i+m <= n && slices.Equal(s[i:i+m], sub) }
	switch how {
	case searchLast:
		for i := min(from, n-m); i >= 0; i-- {
			if at(i) {
				return i
			}
		}
		return -1
	case searchAll:
		all := []any{}
		for i := 0; i <= n-m; i++ {
			if at(i) {
				all = append(all, i)
				i += max(m, 1) - 1
			}
		}
		return all
	}
	for i := from; i <= n-m; i++ {
		if at(i) {
			return i
		}
	}
	return -1
}

// TestTextSearch: textSearch answers as the language's own search does,
// for texts in ASCII and beyond, a surrogate pair split included.
func TestTextSearch(t *testing.T) {
	t.Parallel()
	texts := []string{"", "a", "aaaa", "abcabc", "éñéñé", "x😀y😀", "ǅǅǅ", "\u0100\u0080\u0001"}
	for _, s := range texts {
		for _, sub := range append(texts, "ab", "ñé", "aa", "\u0080", "lone") {
			for from := -1; from <= len(s)+1; from++ {
				for how := searchFirst; how <= searchAll; how++ {
					su, subu := utf16.Encode([]rune(s)), utf16.Encode([]rune(sub))
					if sub == "lone" { // the first half of 😀's pair
						subu = []uint16{0xd83d}
					}
					got := textSearch(goja.StringFromUTF16(su), goja.StringFromUTF16(subu), from, how)
					if want := unitSearch(su, subu, from, how); !equalAnswers(got, want) {
						t.Errorf("textSearch(%q, %q, %d, %d) = %v, want %v", s, sub, from, how, got, want)
					}
				}
			}
		}
	}
}

func equalAnswers(a, b any) bool {
	x, ok1 := a.([]any)
	y, ok2 := b.([]any)
	if ok1 && ok2 {
		return slices.Equal(x, y)
	}
	return a == b
}

// FuzzTextSearch: for any two texts, of any UTF-16 units, textSearch
// answers as the search that compares at each position does.
func FuzzTextSearch(f *testing.F) {
	f.Add([]byte("abcabc"), []byte("bc"), 1, 0)
	f.Add([]byte{0xe9, 0, 0xe9, 0, 0x41, 0x42}, []byte{0x42, 0x41}, 0, 2)
	f.Fuzz(func(t *testing.T, a, b []byte, from, how int) {
		units := func(p []byte) []uint16 {
			u := make([]uint16, len(p)/2)
			for i := range u {
				u[i] = uint16(p[2*i]) | uint16(p[2*i+1])<<8
			}
			return u
		}
		s, sub := units(a), units(b)
		how = min(max(how, searchFirst), searchAll)
		got := textSearch(goja.StringFromUTF16(s), goja.StringFromUTF16(sub), from, how)
		if want := unitSearch(s, sub, from, how); !equalAnswers(got, want) {
			t.Errorf("textSearch(%x, %x, %d, %d) = %v, want %v", s, sub, from, how, got, want)
		}
	})
}
