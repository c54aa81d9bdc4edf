package pterodactyl

import (
	"math"
	"strconv"
	"strings"

	"usher/web"
)

// phpParam is one name of a query string as PHP's parse_str leaves it for
// the panel: a text, or an array, whose elements keep the order they were
// first set in. Only the first bracket of a name is kept (filter[a][b] is
// the element a of filter): the panel reads no deeper.
type phpParam struct {
	text  string
	array bool
	order []string          // the array's indexes, in the order first set
	elems map[string]string // the array's elements, by index
	next  int               // the index [] takes next; -1 when none is left
}

// list is the param as the panel takes a list (an include or a sort): an
// array's non-empty elements, else its text split at commas.
func (p phpParam) list() []string {
	if !p.array {
		return splitList(p.text)
	}
	var out []string
	for _, index := range p.order {
		if v := strings.TrimSpace(p.elems[index]); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// maxInputVars is PHP's max_input_vars as PHP ships it: the pairs of a
// query it reads, the rest left unread (with a warning in its log).
const maxInputVars = 1000

// phpQuery reads a query string as PHP's parse_str does, in order: pairs
// split at "&"; names and values decoded as PHP's urldecode does
// (web.UnescapeLoosely); a name's leading spaces dropped and the name cut at a NUL (PHP reads it as a C string);
// before its first "[", a space or "." made "_"; a "[" with no "]" after it
// made "_", and each space, "." or "[" after it; "[" and one white space
// before "]" read as "[]"; text after the first "]" dropped. A later plain value replaces
// an array, and a later element an earlier plain value; an index given
// twice keeps its last value; [] takes the next index past the largest
// number used, and none once the largest is taken. No pair past the
// first maxInputVars that are not empty is read (PHP's max_input_vars).
func phpQuery(rawQuery string) map[string]*phpParam {
	out := map[string]*phpParam{}
	n := 0
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if pair == "" {
			continue // PHP's strtok skips it
		}
		if n++; n > maxInputVars {
			break
		}
		k, v, _ := strings.Cut(pair, "=")
		name, index, bracketed := phpName(web.UnescapeLoosely(k, true))
		if name == "" {
			continue
		}
		value := web.UnescapeLoosely(v, true)
		p := out[name]
		if p == nil {
			p = &phpParam{}
			out[name] = p
		}
		if !bracketed {
			*p = phpParam{text: value}
			continue
		}
		if !p.array {
			*p = phpParam{array: true, elems: map[string]string{}}
		}
		switch n, err := strconv.Atoi(index); {
		case index == "":
			if p.next < 0 {
				continue // PHP's next index is past the largest: no room
			}
			index, p.next = strconv.Itoa(p.next), p.next+1
		case err == nil && strconv.Itoa(n) == index && p.next >= 0 && n >= p.next:
			// A number as PHP takes one (no sign but -, no leading 0).
			p.next = n + 1
			if n == math.MaxInt {
				p.next = -1
			}
		}
		if _, seen := p.elems[index]; !seen {
			p.order = append(p.order, index)
		}
		p.elems[index] = value
	}
	return out
}

// phpName is a decoded name as PHP's php_register_variable_ex makes it:
// its base, and the index of its first bracket when it has one.
func phpName(key string) (name, index string, bracketed bool) {
	key = strings.TrimLeft(key, " ")
	key, _, _ = strings.Cut(key, "\x00")
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case ' ', '.':
			b.WriteByte('_')
		case '[':
			rest := key[i+1:]
			closing := strings.IndexByte(rest, ']')
			if b.Len() == 0 {
				return "", "", false // PHP registers no name that starts with "["
			}
			if closing < 0 {
				// Not an index: the "[" is made "_", and so is each
				// space, "." or "[" of the rest.
				return b.String() + "_" + strings.Map(func(r rune) rune {
					if r == ' ' || r == '.' || r == '[' {
						return '_'
					}
					return r
				}, rest), "", false
			}
			index = rest[:closing]
			if len(index) == 1 && strings.ContainsRune(" \t\n\v\f\r", rune(index[0])) {
				index = "" // one white space and "]": PHP's [], the next index
			}
			return b.String(), index, true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "", false
}
