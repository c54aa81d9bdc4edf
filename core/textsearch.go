package core

import (
	"bytes"

	"github.com/dop251/goja"
)

// maxTextCompares bounds the character comparisons the runtime's own
// search of a text for another (indexOf, lastIndexOf, includes, replace
// and replaceAll given a text) is left to make in one call. goja compares
// a text beyond ASCII with the one it looks for at each position in turn,
// up to (n - m + 1) × m comparisons, in one native call neither interrupt
// reaches: 512 Ki characters looked for in 1 Mi ran for minutes. A search
// that could make more goes through textSearch, linear in the texts.
const maxTextCompares = 1 << 24

// The ways textSearch looks for a text.
const (
	searchFirst = iota // the first at or after a position, as indexOf
	searchLast         // the last at or before a position, as lastIndexOf
	searchAll          // every one that does not overlap the one before, as replaceAll
)

// textSearch looks for sub in s as how says, from the position from, and
// answers the position, -1 for none, or for searchAll the positions in
// order. It finds them with bytes.Index and bytes.LastIndex over the
// texts' UTF-16 units written as unitBytes writes them, the search the
// runtime makes of texts in ASCII.
func textSearch(s, sub goja.String, from, how int) any {
	n, m := s.Length(), sub.Length()
	from = min(max(from, 0), n)
	hay, needle := unitBytes(s), unitBytes(sub)
	switch how {
	case searchLast:
		if i := bytes.LastIndex(hay[:3*min(from+m, n)], needle); i >= 0 {
			return i / 3
		}
		return -1
	case searchAll:
		at := []any{}
		for i := 0; i <= n; {
			j := bytes.Index(hay[3*i:], needle)
			if j < 0 {
				break
			}
			at = append(at, i+j/3)
			i += j/3 + max(m, 1)
		}
		return at
	}
	if i := bytes.Index(hay[3*from:], needle); i >= 0 {
		return from + i/3
	}
	return -1
}

// unitBytes writes each UTF-16 unit of s as three bytes, of which only the
// first has its high bit set, so that one such text is found in another
// only where a unit begins.
func unitBytes(s goja.String) []byte {
	b := make([]byte, 0, 3*s.Length())
	for i := range s.Length() {
		u := s.CharAt(i)
		b = append(b, 0x80|byte(u>>14), byte(u>>7)&0x7f, byte(u)&0x7f)
	}
	return b
}
