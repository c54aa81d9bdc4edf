package core

// Bounds on how deep the texts a script hands the runtime's parsers nest:
// goja parses a pattern's groups and a JSON text's arrays and objects by
// recursing in Go a level at a time, in one native call. The goroutine's
// stack, which the heap watchdog does not see, grows with each level:
// 16 Mi "(" (32 MiB of heap, made with +) passed the stack's 1 GB and the
// process died; a JSON text of 1 Mi "[" took 400 MB of stack.
const (
	// maxRegexpNesting bounds a pattern's groups within groups, as Go's
	// regexp/syntax does its own.
	maxRegexpNesting = 1000
	// maxJSONNesting bounds a JSON text's arrays and objects within one
	// another, as encoding/json does its own.
	maxJSONNesting = 10000
)

// patternNesting is how deep a pattern's groups nest, by its parentheses
// outside character classes and escapes, counted up to one level past
// maxRegexpNesting: a deeper pattern is refused however deep it goes, and
// is read no further (16 Mi "(" were read to their end: 24 ms under the
// race detector).
func patternNesting(source string) int {
	depth, most, class := 0, 0, false
	for i := 0; i < len(source); i++ {
		switch c := source[i]; {
		case c == '\\':
			i++ // the escaped character, whatever it is
		case class:
			class = c != ']'
		case c == '[':
			class = true
		case c == '(':
			depth++
			most = max(most, depth)
			if most > maxRegexpNesting {
				return most
			}
		case c == ')':
			depth = max(depth-1, 0)
		}
	}
	return most
}

// jsonNesting is how deep a JSON text's arrays and objects nest, by its
// brackets and braces outside strings, counted up to one level past
// maxJSONNesting, as patternNesting counts; for a text that is not JSON,
// how deep a parser would go before it found so.
func jsonNesting(text string) int {
	depth, most, quoted := 0, 0, false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case quoted && c == '\\':
			i++
		case quoted:
			quoted = c != '"'
		case c == '"':
			quoted = true
		case c == '[' || c == '{':
			depth++
			most = max(most, depth)
			if most > maxJSONNesting {
				return most
			}
		case c == ']' || c == '}':
			depth = max(depth-1, 0)
		}
	}
	return most
}
