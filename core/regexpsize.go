package core

import (
	"regexp/syntax"
	"strings"

	"github.com/dop251/goja/parser"
)

// Bounds on the patterns a script compiles and matches with Go's regexp,
// which the runtime uses for every pattern it can (RE2's syntax) and which
// has no time limit of its own: compiling takes time and memory in the
// size of the program, which counted repetitions multiply
// ("(?:x?){1000}" a thousand times is 3.3 million instructions, 1.5 s and
// 250 MiB to compile), and matching takes up to the program's size for
// each character of the string, in one native call the watchdog cannot
// stop. Patterns the runtime gives regexp2 instead (lookaround,
// back-references) have regexp2's own time limit.
const (
	// maxRegexpSize bounds a pattern's estimated instructions.
	maxRegexpSize = 1 << 16
	// maxRegexpSteps bounds a match's instructions times its string's
	// length: 0.1–0.3 s at 15–35 ns a step, what a step of a pattern of
	// many lazy stars, each state alive at each character, took (64 Mi
	// steps took up to 1.9 s).
	maxRegexpSteps = 1 << 23
	// maxRegexpGroups bounds a pattern's capture groups: each thread of a
	// match carries all their positions, and thousands of groups made
	// one exec of eight characters copy gigabytes.
	maxRegexpGroups = 256
	// maxRegexpTracked bounds a match by regexp2 of a pattern that repeats
	// a group: its string's length times its groups and one. regexp2
	// keeps a step to backtrack to for each pass of the repetition, about
	// 76 bytes, and every capture of each group in it, about 80 more:
	// (?=x)(?:((x)))* over 1 Mi characters made 318 MiB in one call, and
	// 12 groups 1.2 GiB in 1.1 s.
	maxRegexpTracked = 1 << 19
)

// repeatsGroup says whether a pattern repeats a group or a back-reference,
// which regexp2 runs pass by pass: a group, or a back-reference (\1,
// \k<name>), outside character classes, followed by *, + or a counted
// repetition.
func repeatsGroup(source string) bool {
	// Under regexp2's inline x option whitespace and # comments may stand
	// between a group and its quantifier ((?x)(?:(x)) * repeats the
	// group), which this scan does not follow: any such option is taken
	// for a repetition.
	if inlineX(source) {
		return true
	}
	quantified := func(i int) bool {
		return i < len(source) && (source[i] == '*' || source[i] == '+' || source[i] == '{')
	}
	class := false
	for i := 0; i < len(source); i++ {
		switch c := source[i]; {
		case c == '\\' && !class && i+1 < len(source) && source[i+1] >= '1' && source[i+1] <= '9':
			i++
			for i+1 < len(source) && source[i+1] >= '0' && source[i+1] <= '9' {
				i++
			}
			if quantified(i + 1) {
				return true
			}
		case c == '\\' && !class && strings.HasPrefix(source[i+1:], "k<"):
			end := strings.IndexByte(source[i:], '>')
			if end < 0 {
				return false
			}
			if i += end; quantified(i + 1) {
				return true
			}
		case c == '\\':
			i++
		case class:
			class = c != ']'
		case c == '[':
			class = true
		case c == ')' && quantified(i+1):
			return true
		}
	}
	return false
}

// inlineX says whether source may set regexp2's x option (ignore
// whitespace) inline: "(?", then option letters and "-", one of them x,
// then ")" or ":". An escaped parenthesis is counted too.
func inlineX(source string) bool {
	for rest := source; ; {
		i := strings.Index(rest, "(?")
		if i < 0 {
			return false
		}
		rest = rest[i+2:]
		end := strings.IndexFunc(rest, func(r rune) bool { return !strings.ContainsRune("imnsxIMNSX-", r) })
		if end > 0 && (rest[end] == ')' || rest[end] == ':') && strings.ContainsAny(rest[:end], "xX") {
			return true
		}
	}
}

// regexpSize estimates the instructions of the Go program the runtime
// would compile a pattern of source and flags to, as goja translates it
// (parser.TransformRegExp) and Go's regexp parses it, without compiling
// it: each node counts one, a literal one a character, and a counted
// repetition its body as many times as it may repeat. It returns the size
// and the pattern's capture groups, or 0 and 0 for a pattern the runtime
// leaves to regexp2, or that does not compile; and -1 for one whose groups
// nest deeper than maxRegexpNesting, which is not parsed at all.
func regexpSize(source, flags string) (size, groups int64) {
	if patternNesting(source) > maxRegexpNesting {
		return -1, 0
	}
	var dotAll, ignoreCase, multiline, unicode bool
	for _, f := range flags {
		switch f {
		case 's':
			dotAll = true
		case 'i':
			ignoreCase = true
		case 'm':
			multiline = true
		case 'u':
			unicode = true
		}
	}
	re2, err := parser.TransformRegExp(source, dotAll, unicode)
	if err != nil {
		return 0, 0
	}
	pf := syntax.Perl
	if ignoreCase {
		pf |= syntax.FoldCase
	}
	if multiline {
		pf &^= syntax.OneLine
	}
	if dotAll {
		pf |= syntax.DotNL
	}
	re, err := syntax.Parse(re2, pf)
	if err != nil {
		return 0, 0
	}
	return treeSize(re), int64(re.MaxCap())
}

// treeSize is regexpSize's estimate for a parsed pattern, at most
// maxRegexpSteps + 1 so that it never overflows.
func treeSize(re *syntax.Regexp) int64 {
	n := int64(1)
	for _, sub := range re.Sub {
		n = min(n+treeSize(sub), maxRegexpSteps+1)
	}
	switch re.Op {
	case syntax.OpLiteral:
		n += int64(len(re.Rune))
	case syntax.OpRepeat:
		times := int64(re.Max)
		if times < 0 {
			times = int64(re.Min) + 1
		}
		n = min(n*max(times, 1)+1, maxRegexpSteps+1)
	}
	return min(n, maxRegexpSteps+1)
}
