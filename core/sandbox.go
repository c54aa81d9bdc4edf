package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"

	"usher"
)

// Limits of the sandbox that are not policy.
const (
	// maxScriptLog bounds the lines a run logs, and maxScriptLogLine each.
	maxScriptLog     = 100
	maxScriptLogLine = 1000
	// maxScriptMails bounds the mails a run queues.
	maxScriptMails = 10
	// maxScriptCallStack bounds the depth of calls in a script.
	maxScriptCallStack = 512
	// maxScriptString bounds the strings the built-ins that build one in a
	// native call (repeat, padding, join, concat, replace, JSON.stringify)
	// make, and maxScriptArray the elements of the arrays and array-likes
	// the built-ins make or walk in one (the Array.prototype methods, apply,
	// the typed arrays): built-ins run natively, where no interrupt reaches
	// them.
	maxScriptString = 1 << 20
	maxScriptArray  = 1 << 20
	// maxScriptKeys bounds the keys of an object the built-ins that make
	// an entry or a descriptor object for each (Object.entries,
	// getOwnPropertyDescriptors, assign) walk in one native call: hundreds
	// of bytes a key, where an array's element is tens.
	maxScriptKeys = 1 << 16
	// maxBindDepth bounds a chain of bound functions: calling one copies
	// every argument, the call's own too, at each level of its chain.
	maxBindDepth = 4
	// maxScriptCollate bounds the texts localeCompare collates, about a
	// microsecond a character in one native call.
	maxScriptCollate = 1 << 15
	// heapSample is how often the watchdog samples the heap during a run.
	heapSample = 2 * time.Millisecond
)

// heapMetric is the runtime metric the watchdog samples: the bytes of heap
// objects, live or not yet swept.
const heapMetric = "/memory/classes/heap/objects:bytes"

// regexpOnce sets regexp2's match timeout once for the process.
var regexpOnce sync.Once

// boundRegexps bounds every regexp2 match of the process by timeout, once:
// the first core's script time limit. goja runs the patterns RE2 cannot
// (lookarounds, backreferences) in regexp2, whose backtracking runs in Go
// code where the runtime's interrupt does not reach; regexp2 reads the
// bound when it compiles a pattern, and goja compiles a literal's with the
// program, so it is set before any script compiles. It returns the bound
// in force, which may be another core's.
func boundRegexps(timeout time.Duration) time.Duration {
	regexpOnce.Do(func() { regexp2.DefaultMatchTimeout = timeout })
	return regexp2.DefaultMatchTimeout
}

// prelude runs before every script: it bounds the built-ins that run in
// one native call, where the runtime's interrupt does not reach, by the
// size of what they make or the length they walk. repeat is rebuilt by
// doubling: goja's own appends the string once per count, slowly enough
// that a loop of large repeats outruns the heap watchdog's notice by far.
// join, String.raw, flat and flatMap run in the script, where the
// interrupt reaches. The methods that walk an array-like's length throw
// past maxLength elements; an array-like that is not an array is seen
// through a proxy that answers its length as read once, so that a getter
// cannot answer a small length to the cap and a huge one to the built-in.
// The iterators of arrays, strings and matchAll step in the script, so
// that spreading one or building a collection from one is interrupted.
// A string replacement is counted against the string cap before it is
// made, and JSON.stringify counts what it writes as it goes. The prelude
// evaluates to a function that takes isArray, which tells an array (whose
// length is a plain number) from a proxy or any other object.
// It is compiled at the first script's run, not at start-up: most
// instances run none, and compiling it holds a megabyte.
var prelude = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("prelude", fmt.Sprintf(`(function (isArray, regexpSize, textSearch, jsonNesting) {
	// The built-ins the prelude calls when a script runs, kept as they are
	// now: a script that replaces Math.floor or Number must not make a
	// length read as 0 to a cap.
	var Number = globalThis.Number, Object = globalThis.Object, String = globalThis.String,
		RegExp = globalThis.RegExp, Boolean = globalThis.Boolean, isArr = Array.isArray,
		floor = Math.floor, trunc = Math.trunc, mathMin = Math.min, mathMax = Math.max,
		indexOf = String.prototype.indexOf, stringSlice = String.prototype.slice, stringValue = String.prototype.valueOf, setAdd = Set.prototype.add, setForEach = Set.prototype.forEach,
		mapHas = WeakMap.prototype.has, mapGet = WeakMap.prototype.get, mapSet = WeakMap.prototype.set;
	var max = %d, maxLength = %d, maxKeys = %d, maxSize = %d, maxSteps = %d, maxGroups = %d, maxCompares = %d, maxCollate = %d,
		maxBindDepth = %d, maxPatternNesting = %d, maxJSONNesting = %d, maxTracked = %d,
		searchFirst = %d, searchLast = %d, searchAll = %d, sp = String.prototype, ap = Array.prototype,
		repeat = sp.repeat, padStart = sp.padStart, padEnd = sp.padEnd, concat = sp.concat,
		replace = sp.replace, replaceAll = sp.replaceAll,
		join = ap.join, arrayConcat = ap.concat, from = Array.from,
		apply = Reflect.apply, construct = Reflect.construct, reflectGet = Reflect.get, stringify = JSON.stringify,
		preventExtensions = Object.preventExtensions,
		defineProperty = Object.defineProperty, getPrototypeOf = Object.getPrototypeOf,
		keysOf = Object.keys, ownKeys = Reflect.ownKeys, entries = Object.entries,
		descriptors = Object.getOwnPropertyDescriptors, assign = Object.assign,
		ProxyOf = Proxy, SetOf = Set, WeakMapOf = WeakMap, SymbolOf = Symbol, MapOf = Map,
		functionText = Function.prototype.toString, getOwnDescriptor = Object.getOwnPropertyDescriptor;
	function cap(n) { if (n > max) throw new RangeError("strings are limited to " + max + " characters"); }
	function capLength(n) { if (n > maxLength) throw new RangeError("arrays are limited to " + maxLength + " elements"); }
	// capKeys bounds the built-ins that make an object, or an entry, for
	// each key of an object in one native call, hundreds of bytes a key:
	// a string's or a typed array's keys are its length, another
	// object's are counted first (own ones, or every own one with all).
	function capKeys(o, all) {
		if (o === null || o === undefined) return;
		// A String object's keys are its characters: counted by its
		// length, as the language keeps its value, not by listing them.
		var n = textLength(o);
		if (n < 0) n = typedLengthOf(o);
		if (n < 0) n = (all ? ownKeys(Object(o)) : apply(keysOf, Object, [o])).length;
		if (n > maxKeys) throw new RangeError("objects of more than " + maxKeys + " keys are walked in the script, not by this built-in");
	}
	function lengthOf(o) { var n = floor(Number(o.length)); return n > 0 ? n : 0; }
	function isObject(v) { return v !== null && (typeof v === "object" || typeof v === "function"); }
	// textLength is the length of v, a string or a String object by the
	// value the language keeps, whatever its methods answer; -1 for
	// anything else.
	function textLength(v) {
		if (typeof v === "string") return v.length;
		if (!isObject(v)) return -1;
		try { return apply(stringValue, v, []).length; } catch (e) { return -1; }
	}
	// ours holds the functions the prelude puts in place of built-ins:
	// functions of the script, which need no frame of their own (framed).
	var ours = new SetOf(), oursAdd = Set.prototype.add, oursHas = Set.prototype.has;
	function set(o, k, v) {
		if (typeof v === "function") apply(oursAdd, ours, [v]);
		defineProperty(o, k, {value: v, writable: true, enumerable: false, configurable: true});
	}
	// deep says whether a native walk of o's n elements could look along
	// more than maxCompares prototypes in all: each hole is looked for on
	// every object of o's prototype chain, in the one native call, so a
	// chain of 2,000 objects under an array of 2^18 holes held indexOf
	// for 5 s.
	function deep(o, n) {
		var limit = floor(maxCompares / mathMax(n, 1));
		for (var d = 0, p = getPrototypeOf(o); p !== null; p = getPrototypeOf(p)) {
			if (++d > limit) return true;
		}
		return false;
	}
	// pinned is o with its length and spreading fixed at what they are
	// now, for a built-in to walk: o itself if it is an array of a chain
	// that is not deep, a proxy if not, whose every look at an element is
	// a step of the script.
	function pinned(o, n, spread) {
		if (isArray(o)) {
			if (!deep(o, n)) return o;
			return new ProxyOf(o, {get: function (t, k) { return t[k]; }, has: function (t, k) { return k in t; }});
		}
		return new ProxyOf(o, {get: function (t, k) {
			if (k === "length") return n;
			if (k === SymbolOf.isConcatSpreadable) return spread;
			return t[k];
		}, has: function (t, k) { return k in t; }});
	}
	// walks bounds f, which walks its this value's length: it throws past
	// maxLength elements, and answers this where f answers the proxy.
	function walks(f) {
		return function () {
			if (this === null || this === undefined) return apply(f, this, arguments);
			var o = Object(this), n = lengthOf(o);
			capLength(n);
			var p = pinned(o, n), r = apply(f, p, arguments);
			return r === p ? o : r;
		};
	}
	function spreads(v) {
		if (!isObject(v)) return false;
		var s = v[SymbolOf.isConcatSpreadable];
		return s !== undefined ? !!s : isArr(v);
	}
	// list is an array-like as an array: arguments for apply.
	function list(v) {
		if (v === null || v === undefined) return v;
		if (isArray(v)) {
			capLength(lengthOf(v));
			if (!deep(v, lengthOf(v))) return v;
		}
		var o = Object(v), n = lengthOf(o), out = [];
		capLength(n);
		for (var i = 0; i < n; i++) out[i] = o[i];
		return out;
	}
	set(sp, "repeat", function (n) {
		var s = String(this);
		n = floor(Number(n));
		if (!(n >= 0) || n === Infinity || s.length === 0) return apply(repeat, s, [n]);
		cap(s.length * n);
		var out = "";
		for (;;) {
			if (n %% 2 === 1) out += s;
			n = floor(n / 2);
			if (n === 0) return out;
			s += s;
		}
	});
	set(sp, "padStart", function (n, s) { n = Number(n); cap(n); return apply(padStart, this, [n, s]); });
	set(sp, "padEnd", function (n, s) { n = Number(n); cap(n); return apply(padEnd, this, [n, s]); });
	set(sp, "concat", function () {
		var s = String(this), parts = [], total = s.length;
		for (var i = 0; i < arguments.length; i++) {
			parts[i] = String(arguments[i]);
			total += parts[i].length;
			cap(total);
		}
		return apply(concat, s, parts);
	});
	// A replacement string inserts, for each match, its own length, the
	// text before the match for each $ and a backquote, the text after it
	// for each $', and, given a pattern, a group's capture for each $ and
	// a digit or a <: at most the string's length each, for a capture may
	// lie outside its match (in a lookahead) and so repeat at every match.
	// $& inserts the match, at most the string's length over all the
	// matches. When that bound, taken at every possible match, is past the
	// limit, the matches of a global pattern are counted in the script,
	// each with what it inserts, until the bound is met or the limit
	// passed. A replacement function's answers are counted as it gives
	// them.
	// A text looked for in another: goja compares a text beyond ASCII
	// with the one it looks for at each position in turn, (n - m + 1) × m
	// comparisons in one native call (512 Ki characters looked for in
	// 1 Mi ran for minutes). A search that could make more than
	// maxCompares goes through textSearch, in Go, linear in the texts.
	function costly(s, p) { return (s.length - p.length + 1) * p.length > maxCompares; }
	// isRegExp is the language's IsRegExp: what a string's includes,
	// startsWith and replaceAll take for a pattern.
	function isRegExp(v) {
		if (!isObject(v)) return false;
		var m = v[SymbolOf.match];
		return m !== undefined ? !!m : v instanceof RegExp;
	}
	// textPattern is the text replace (or replaceAll, all) looks for when
	// given pattern, read once; undefined when it is a pattern of its own
	// (it has a [Symbol.replace]) or a symbol, which the built-in takes or
	// refuses as it is. replaceAll refuses a regular expression that is
	// not global, whatever it is made of.
	function textPattern(pattern, all) {
		if (pattern === undefined || pattern === null) return String(pattern);
		if (all && isRegExp(pattern)) {
			var flags = pattern.flags;
			if (flags === undefined || flags === null || apply(indexOf, String(flags), ["g"]) < 0) {
				throw new TypeError("replaceAll must be called with a global RegExp");
			}
		}
		if (pattern[SymbolOf.replace] !== undefined || typeof pattern === "symbol") return undefined;
		return String(pattern);
	}
	// expand is a replacement's text for a match of a text, as the
	// language makes it: $$, $& and the texts before and after the match
	// ($\x60 and $'); a text has no groups, so anything else is as it is.
	function expand(r, matched, position, s) {
		var out = "", from = 0;
		for (var k = apply(indexOf, r, ["$"]); k >= 0 && k + 1 < r.length; k = apply(indexOf, r, ["$", k + 1])) {
			var c = r[k + 1], piece;
			if (c === "$") piece = "$";
			else if (c === "&") piece = matched;
			else if (c === "\x60") piece = apply(stringSlice, s, [0, position]);
			else if (c === "'") piece = apply(stringSlice, s, [position + matched.length]);
			else continue;
			out += apply(stringSlice, r, [from, k]) + piece;
			cap(out.length);
			from = ++k + 1;
		}
		return out + apply(stringSlice, r, [from]);
	}
	// replaceText replaces the first of p in s, or every one, as replace
	// and replaceAll do given a text, found by textSearch, and counts the
	// result as it is made.
	function replaceText(s, p, replacement, all) {
		var f = typeof replacement === "function" ? replacement : undefined, r = f ? "" : String(replacement),
			at = all ? textSearch(s, p, 0, searchAll) : [textSearch(s, p, 0, searchFirst)],
			out = [], total = 0, end = 0;
		for (var k = 0; k < at.length && at[k] >= 0; k++) {
			var i = at[k], piece = f ? String(apply(f, undefined, [p, i, s])) : expand(r, p, i, s);
			out[out.length] = apply(stringSlice, s, [end, i]);
			out[out.length] = piece;
			total += i - end + piece.length;
			cap(total + s.length - i - p.length);
			end = i + p.length;
		}
		out[out.length] = apply(stringSlice, s, [end]);
		return apply(join, out, [""]);
	}
	function replacer(f, global, all) {
		return function (pattern, replacement) {
			if (this === null || this === undefined) return apply(f, this, arguments);
			var s = String(this), p = textPattern(pattern, all);
			if (p !== undefined) {
				if (costly(s, p)) return replaceText(s, p, replacement, all);
				pattern = p;
			}
			if (typeof replacement === "function") {
				var total = s.length, given = replacement;
				return apply(f, s, [pattern, function () {
					var r = String(apply(given, this, arguments));
					total += r.length;
					cap(total);
					return r;
				}]);
			}
			var r = String(replacement), grouped = isObject(pattern), before = 0, after = 0, whole = 0, groups = 0;
			for (var j = apply(indexOf, r, ["$"]); j >= 0; j = apply(indexOf, r, ["$", j + 1])) {
				var c = r[j + 1];
				if (c === "\x60") before++;
				else if (c === "'") after++;
				else if (c === "&") whole++;
				else if (grouped && c !== "$" && c !== undefined) groups++;
			}
			// A capture lies inside its match, and matches do not overlap,
			// unless its group is in a lookaround (or a conditional): then
			// it may repeat up to the string's length at every match.
			var outside = groups > 0 && lookaround(pattern),
				each = r.length + (before + after + (outside ? groups : 0)) * s.length,
				once = s.length + (whole + (outside ? 0 : groups)) * s.length;
			function bound(count) { cap(once + count * each); }
			if (!global(pattern) || once + (s.length + 1) * each <= max) {
				bound(1);
			} else if (grouped) {
				// Counted on a copy, which the replace matches with
				// (cloned): a pattern's own exec plays no part in either.
				// Each match counts what it inserts: the texts around it,
				// and for each group's $ the longest of its captures.
				var re = cloned(pattern), total = once, m;
				re.lastIndex = 0;
				while ((m = re.exec(s)) !== null) {
					var at = m.index, matched = String(m[0]).length, longest = 0;
					for (var g = 1; groups > 0 && g < m.length; g++) {
						if (m[g] !== undefined) longest = mathMax(longest, String(m[g]).length);
					}
					total += r.length + before * at + after * (s.length - at - matched) + groups * longest;
					cap(total);
					if (matched === 0) re.lastIndex++;
				}
			} else {
				var p = String(pattern);
				if (p === "") bound(s.length + 1);
				else for (var i = apply(indexOf, s, [p]), n = 0; i >= 0; i = apply(indexOf, s, [p, i + p.length])) bound(++n);
			}
			return apply(f, s, [pattern, r]);
		};
	}
	// lookaround is whether p's source may hold a group that captures
	// outside its match: any "(?" but a plain non-capturing group's "(?:"
	// (an escaped parenthesis too), for beside lookaheads and lookbehinds
	// regexp2 takes a conditional's condition, "(?(", as a lookahead that
	// keeps its captures; or whether p is no pattern.
	function lookaround(p) {
		try {
			var src = apply(sourceOf, p, []);
			for (var i = apply(indexOf, src, ["(?"]); i >= 0; i = apply(indexOf, src, ["(?", i + 2])) {
				if (src[i + 2] !== ":") return true;
			}
			return false;
		} catch (e) { return true; }
	}
	// globalRegExp is whether p is a regular expression, whatever its
	// prototype, with the global flag: what its copy (cloned) will be.
	function globalRegExp(p) {
		if (!isObject(p)) return false;
		try { return apply(indexOf, flagsOf(p), ["g"]) >= 0; } catch (e) { return false; }
	}
	set(sp, "replace", replacer(replace, globalRegExp, false));
	// A pattern's own replace, which String's calls, is counted the same
	// way when called directly.
	var patternReplace = RegExp.prototype[SymbolOf.replace];
	var viaPattern = replacer(function (pattern, r) {
		var c = cloned(pattern), out = apply(patternReplace, c, [this, r]);
		returned(pattern, c);
		return out;
	}, globalRegExp, false);
	set(RegExp.prototype, SymbolOf.replace, function (s, replacement) { return apply(viaPattern, String(s), [this, replacement]); });
	// A match copies, for each capture group, what the group matched, and
	// a group may match the whole string: a pattern of 600 nested groups
	// made 600 copies of a 1 Mi string in one exec. The groups are counted
	// once a pattern source (a pattern that matches nothing but the empty
	// string besides), and the worst case is bounded before the match; the
	// match, split and replace of a pattern call its exec; test is bounded
	// the same way, for it may call the language's own.
	// The source and the flags are read through the language's own
	// getters, which a pattern's own properties cannot answer for, and the
	// counts are kept where no prototype can answer for them either.
	var exec = RegExp.prototype.exec, test = RegExp.prototype.test, groupsOf = Object.create(null), maxCaptured = max * 32,
		sourceOf = Object.getOwnPropertyDescriptor(RegExp.prototype, "source").get,
		flagGetters = [["hasIndices", "d"], ["global", "g"], ["ignoreCase", "i"], ["multiline", "m"], ["dotAll", "s"],
			["unicode", "u"], ["sticky", "y"]].map(function (f) {
			var d = getOwnDescriptor(RegExp.prototype, f[0]);
			return [d && d.get, f[1]];
		});
	// flagsOf is a pattern's flags as the language keeps them: each read
	// through the language's own getter, which a pattern's own properties
	// cannot answer for (RegExp.prototype.flags reads them by name). It
	// throws for anything that is no pattern.
	function flagsOf(re) {
		var flags = "";
		for (var i = 0; i < flagGetters.length; i++) {
			if (flagGetters[i][0] && apply(flagGetters[i][0], re, [])) flags += flagGetters[i][1];
		}
		return flags;
	}
	function groups(source, unicode) {
		var key = (unicode ? "u" : "-") + source, n = groupsOf[key];
		if (n === undefined) {
			n = apply(exec, new RegExp(source + "|", unicode ? "u" : ""), [""]).length - 1;
			groupsOf[key] = n;
		}
		return n;
	}
	function capCaptured(re, str) {
		var source, flags;
		if (!isObject(re)) return;
		try {
			source = apply(sourceOf, re, []);
			flags = flagsOf(re);
		} catch (e) {
			return; // no pattern: the language's exec refuses it
		}
		// A pattern Go's regexp runs has its groups counted from its
		// source, before any match; one regexp2 runs, by a match of the
		// empty string, which regexp2's time limit bounds.
		var shape = shapeOf(source, flags), n = shape[0] > 0 ? shape[1] : groups(source, apply(indexOf, flags, ["u"]) >= 0);
		capGroups(n);
		if ((n + 1) * str.length > maxCaptured) {
			throw new RangeError("a match may copy at most " + maxCaptured + " characters: its groups times its string's length");
		}
		// regexp2 keeps a step for each pass of a repeated group, and
		// each capture its groups make in it. It runs the patterns Go's
		// regexp cannot, and any pattern matched from past the string's
		// start: a global or sticky one whose lastIndex is not 0.
		var regexp2 = shape[0] <= 0 || apply(indexOf, flags, ["g"]) >= 0 || apply(indexOf, flags, ["y"]) >= 0;
		if (regexp2 && shape[2] && (n + 1) * (str.length + 1) > maxTracked) {
			throw new RangeError("a pattern that repeats a group, with lookaround or back-references, is matched over at most " +
				maxTracked + " characters, divided by its groups and one");
		}
		// Each step of Go's regexp carries the groups' positions along,
		// which a pattern of hundreds of groups makes the most of a step.
		if (shape[0] * (1 + n / 16) * (str.length + 1) > maxSteps) {
			throw new RangeError("a match may take at most " + maxSteps + " steps: its pattern's size, weighed by its groups, times its string's length");
		}
	}
	// A pattern Go's regexp runs (most do) compiles to a program whose size
	// counted repetitions multiply, and is matched in up to that size for
	// each character, both in one native call: the size is estimated from
	// the source (regexpSize, kept for each source) before a pattern is
	// made, by the constructor or a string's match, matchAll and
	// search, and before each match (capCaptured).
	var shapesOf = Object.create(null);
	// shapeOf is a pattern's estimated size and its groups, 0 and 0 for
	// one regexp2 runs.
	function shapeOf(source, flags) {
		var key = flags + "/" + source, shape = shapesOf[key];
		if (shape === undefined) shapesOf[key] = shape = regexpSize(source, flags);
		return shape;
	}
	function capGroups(n) {
		if (n > maxGroups) throw new RangeError("a pattern may hold at most " + maxGroups + " groups");
	}
	// patternArgs checks the pattern a constructor's
	// arguments make; a pattern or flags that are not a pattern or a
	// string are read once, and what was read is given on.
	function patternArgs(args) {
		var p = args[0], source, flags;
		try {
			source = apply(sourceOf, p, []);
			flags = args[1] === undefined ? flagsOf(p) : (args[1] = String(args[1]));
		} catch (e) {
			source = p === undefined ? "" : (args[0] = String(p));
			flags = args[1] === undefined ? "" : (args[1] = String(args[1]));
		}
		var shape = shapeOf(source, flags);
		if (shape[0] < 0) throw new RangeError("a pattern's groups may nest at most " + maxPatternNesting + " deep");
		if (shape[0] > maxSize) {
			throw new RangeError("a pattern may compile to at most " + maxSize + " instructions, its repetitions counted");
		}
		capGroups(shape[1]);
	}
	set(RegExp.prototype, "exec", function (s) {
		var str = String(s);
		capCaptured(this, str);
		return apply(exec, this, [str]);
	});
	set(RegExp.prototype, "test", function (s) {
		var str = String(s);
		capCaptured(this, str);
		return apply(test, this, [str]);
	});
	set(sp, "replaceAll", replacer(replaceAll, function (p) { return isObject(p) ? globalRegExp(p) : true; }, true));
	set(String, "raw", function (strings) {
		var raw = Object(Object(strings).raw), n = lengthOf(raw), out = "";
		for (var i = 0; i < n; i++) {
			out += String(raw[i]);
			if (i + 1 < n && i + 1 < arguments.length) out += String(arguments[i + 1]);
			cap(out.length);
		}
		return out;
	});
	set(ap, "join", function (sep) {
		var o = Object(this), n = lengthOf(o), parts = [], total = 0;
		sep = sep === undefined ? "," : String(sep);
		if (n > 1) cap(sep.length * (n - 1));
		for (var i = 0; i < n; i++) {
			var v = o[i];
			parts[i] = v === undefined || v === null ? "" : String(v);
			total += parts[i].length;
			cap(total + sep.length * (n - 1));
		}
		return apply(join, parts, [sep]);
	});
	["at", "copyWithin", "every", "fill", "filter", "find", "findIndex", "findLast", "findLastIndex",
		"forEach", "includes", "indexOf", "lastIndexOf", "map", "reduce", "reduceRight", "reverse",
		"shift", "slice", "some", "sort", "splice", "toReversed", "toSorted",
		"toSpliced", "unshift", "with"].forEach(function (name) {
		if (typeof ap[name] === "function") set(ap, name, walks(ap[name]));
	});
	// An array's includes, indexOf and lastIndexOf compare each element
	// with a text natively, each comparison up to the text's length:
	// 3,000 elements of one text of 1 Mi characters took 3.5 s in one
	// call. When the elements times the text's length could pass
	// maxCompares, they compare in the script, as the language does.
	function integer(v) { var x = Number(v); return x !== x ? 0 : trunc(x); }
	[["includes", 1], ["indexOf", 1], ["lastIndexOf", -1]].forEach(function (at) {
		var name = at[0], step = at[1], f = ap[name];
		set(ap, name, function (v, from) {
			if (this === null || this === undefined || typeof v !== "string") return apply(f, this, arguments);
			var o = Object(this), n = lengthOf(o);
			capLength(n);
			if (n * v.length <= maxCompares) return apply(f, pinned(o, n), arguments);
			var k = step > 0 ? integer(from) : arguments.length > 1 ? integer(from) : n - 1;
			if (step > 0 && k < 0) k = mathMax(n + k, 0);
			else if (step < 0) k = k >= 0 ? mathMin(k, n - 1) : n + k;
			for (; k >= 0 && k < n; k += step) {
				if ((name === "includes" || k in o) && o[k] === v) return name === "includes" ? true : k;
			}
			return name === "includes" ? false : -1;
		});
	});
	// sort and toSorted compare in the script when the script gives no
	// comparison: the language's own compares the elements' texts in one
	// native call, where the interrupt does not reach, and two strings of
	// 1 Mi characters each time, or each number made a string, n log n
	// times, ran for seconds past the limit.
	function textOrder(x, y) {
		var a = String(x), b = String(y);
		return a < b ? -1 : a > b ? 1 : 0;
	}
	["sort", "toSorted"].forEach(function (name) {
		var f = ap[name];
		if (typeof f === "function") set(ap, name, function (compare) { return apply(f, this, [compare === undefined ? textOrder : compare]); });
	});
	// toLocaleString joins each element's own text, as join does, counted.
	function localeJoin(locales, options) {
		var o = Object(this), n = lengthOf(o), parts = [], total = 0;
		capLength(n);
		if (n > 1) cap(n - 1);
		for (var i = 0; i < n; i++) {
			var v = o[i];
			parts[i] = v === undefined || v === null ? "" : String(apply(v.toLocaleString, v, [locales, options]));
			total += parts[i].length;
			cap(total + n - 1);
		}
		return apply(join, parts, [","]);
	}
	set(ap, "toLocaleString", localeJoin);
	set(ap, "concat", function () {
		var items = [Object(this)], total = 0;
		for (var i = 0; i < arguments.length; i++) items[i + 1] = arguments[i];
		for (i = 0; i < items.length; i++) {
			var v = items[i];
			if (isArray(v)) {
				total += lengthOf(v);
				items[i] = pinned(v, lengthOf(v), true);
			} else if (spreads(v)) {
				var n = lengthOf(v);
				total += n;
				items[i] = pinned(v, n, true);
			} else {
				total++;
				if (isObject(v)) items[i] = pinned(v, v.length, false);
			}
			capLength(total);
		}
		var o = items.shift();
		return apply(arrayConcat, o, items);
	});
	// flat and flatMap flatten in the script, into an array.
	function flatten(out, o, depth) {
		for (var i = 0, n = lengthOf(o); i < n; i++) {
			if (!(i in o)) continue;
			var v = o[i];
			if (depth > 0 && isArr(v)) flatten(out, v, depth - 1);
			else out[out.length] = v;
		}
		return out;
	}
	set(ap, "flat", function (depth) {
		var o = Object(this);
		depth = depth === undefined ? 1 : trunc(Number(depth)) || 0;
		return flatten([], o, depth);
	});
	set(ap, "flatMap", function (f, thisArg) {
		var o = Object(this), out = [];
		if (typeof f !== "function") throw new TypeError(String(f) + " is not a function");
		for (var i = 0, n = lengthOf(o); i < n; i++) {
			if (!(i in o)) continue;
			var v = apply(f, thisArg, [o[i], i, o]);
			if (isArr(v)) flatten(out, v, 0);
			else out[out.length] = v;
		}
		return out;
	});
	set(Array, "from", function (items) {
		if (items !== null && items !== undefined && typeof items[SymbolOf.iterator] !== "function") {
			var o = Object(items), n = lengthOf(o);
			capLength(n);
			arguments[0] = pinned(o, n);
		}
		return apply(from, this, arguments);
	});
	set(Function.prototype, "apply", function (thisArg, args) { return apply(this, thisArg, list(args) || []); });
	// call calls its this from Go with its other arguments: a call of a
	// bound call (c.apply(c.bind(c), [B, B, …, f])) recursed a level for
	// each argument in Go, outside the call-depth bound, the bound
	// function copying the rest at each (12 Ki levels made 600 MiB in
	// 1.6 s). It calls in the script, a frame a level.
	set(Function.prototype, "call", function (thisArg) {
		var args = [];
		for (var i = 1; i < arguments.length; i++) args[i - 1] = arguments[i];
		return apply(this, thisArg, args);
	});
	set(Reflect, "apply", function (f, thisArg, args) { return apply(f, thisArg, list(args)); });
	set(Reflect, "construct", function (f, args) {
		return apply(construct, undefined, arguments.length > 2 ? [f, list(args), arguments[2]] : [f, list(args)]);
	});
	// The iterators step in the script.
	[[][SymbolOf.iterator](), ""[SymbolOf.iterator](), /x/g[SymbolOf.matchAll]("")].forEach(function (it) {
		var proto = getPrototypeOf(it), next = proto.next;
		set(proto, "next", function () { return apply(next, this, []); });
	});
	// Typed arrays and their buffers are allocated in one native call, and
	// made from an array-like by walking its length.
	var ArrayBufferOf = ArrayBuffer, bufferSize = maxLength * 8;
	// bounded puts a proxy of ctor in its place that checks the arguments
	// of each call (check) and, given make, makes each new object with it.
	function bounded(ctor, check, make) {
		var hasInstance = function (v) { return v instanceof ctor; };
		var p = new ProxyOf(ctor, {
			construct: function (t, args, newTarget) {
				check(args, t);
				return (make || construct)(t, args, newTarget === p ? t : newTarget);
			},
			apply: function (t, thisArg, args) {
				check(args, t);
				return apply(t, thisArg, args);
			},
			get: function (t, k, receiver) {
				return k === SymbolOf.hasInstance ? hasInstance : reflectGet(t, k, receiver);
			}
		});
		set(ctor.prototype, "constructor", p);
		set(globalThis, ctor.name, p);
		return p;
	}
	// No compile (a legacy method): it changes a pattern in place, and a
	// match reads the pattern's lastIndex, whose valueOf may run a compile,
	// after exec's bounds have looked at the pattern: a harmless /x/
	// became a program of 2,000 repetitions, 38–65 times past the limit.
	var patterns = bounded(RegExp, patternArgs);
	delete RegExp.prototype.compile;
	["match", "matchAll", "search"].forEach(function (name) {
		var f = sp[name];
		set(sp, name, function (p) {
			if (!isObject(p)) {
				var args = [p === undefined ? undefined : String(p)];
				if (name === "matchAll") args[1] = "g";
				p = construct(patterns, args);
			}
			return apply(f, this, [p]);
		});
	});
	// A pattern's match, replace, search, split and matchAll call the exec
	// the pattern has, and where it has none that is a function, the
	// language's own, natively, with none of the bounds above (and goja, in
	// a replace or a split, a nil function: the process panicked); split
	// and matchAll match with a pattern the species constructor the
	// pattern names makes; and each reads the pattern's flags by name, a
	// getter that may change the pattern or the species between any check
	// and the match. So each runs on a copy of the pattern (cloned): its
	// source and flags as the language keeps them, its lastIndex, no
	// property of its own and none to be added, and RegExp.prototype for
	// its prototype, which is frozen at the prelude's end; what a match or
	// a replace leaves in the copy's lastIndex goes back to the pattern.
	// A pattern's own exec, flags or constructor play no part.
	var regexpProto = RegExp.prototype;
	function cloned(re) {
		var source, flags;
		try {
			source = apply(sourceOf, re, []);
			flags = flagsOf(re);
		} catch (e) {
			throw new TypeError("a pattern's methods work on a RegExp");
		}
		var c = new RegExp(source, flags);
		c.lastIndex = Number(re.lastIndex);
		preventExtensions(c);
		return c;
	}
	// returned gives a pattern the lastIndex its copy's global or sticky
	// match left.
	function returned(re, c) {
		if (c.global || c.sticky) re.lastIndex = c.lastIndex;
	}
	[[SymbolOf.match, true], [SymbolOf.matchAll, false], [SymbolOf.search, false], [SymbolOf.split, false]].forEach(function (at) {
		var f = regexpProto[at[0]], back = at[1];
		if (typeof f === "function") set(regexpProto, at[0], function () {
			var c = cloned(this), r = apply(f, c, arguments);
			if (back) returned(this, c);
			return r;
		});
	});
	bounded(ArrayBufferOf, function (args) {
		if (Number(args[0]) > bufferSize) throw new RangeError("array buffers are limited to " + bufferSize + " bytes");
	});
	// A view of a buffer has as many elements as the buffer's bytes
	// make, past the offset: counted as any other length, so that the
	// buffer's bound in bytes is no way past the bound in elements.
	var bufferLength = Object.getOwnPropertyDescriptor(ArrayBufferOf.prototype, "byteLength").get;
	// bufferBytes is a buffer's size as the language keeps it, or -1 for
	// anything that is no buffer, whatever its prototype or instanceof says.
	function bufferBytes(v) {
		try { return apply(bufferLength, v, []); } catch (e) { return -1; }
	}
	function typedSource(args, ctor) {
		var v = args[0], bytes;
		if (!isObject(v)) {
			if (v !== undefined) capLength(Number(v));
		} else if ((bytes = bufferBytes(v)) >= 0) {
			// The offset and the length are read once, here, and the
			// constructor is given what was read: else a valueOf could
			// answer one number to the bound and another to the view.
			if (args.length > 1) args[1] = Number(args[1]);
			if (args[2] !== undefined) capLength(args[2] = Number(args[2]));
			else if (ctor) capLength((bytes - (args[1] || 0)) / ctor.BYTES_PER_ELEMENT);
		} else if (typeof v[SymbolOf.iterator] !== "function") {
			var n = lengthOf(v);
			capLength(n);
			args[0] = pinned(v, n);
		}
	}
	var TypedArray = getPrototypeOf(Uint8Array), typedFrom = TypedArray.from,
		typedLength = Object.getOwnPropertyDescriptor(TypedArray.prototype, "length").get;
	// typedLengthOf is a typed array's length as the language keeps it,
	// whatever its own or its class's length answers; -1 for anything else.
	function typedLengthOf(o) {
		if (!ArrayBufferOf.isView(o)) return -1;
		try { return apply(typedLength, o, []); } catch (e) { return -1; }
	}
	["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
		"Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"].forEach(function (name) {
		if (typeof globalThis[name] === "function") bounded(globalThis[name], typedSource);
	});
	// A Set made from an array adds its every element natively, without
	// the array's iterator, hashing each text whole: 3,000 elements of one
	// text of 1 Mi characters took 4 s in one call. They are added in the
	// script, each through the new set's add, as the language's
	// constructor does. (A Map takes its entries through the iterator,
	// which steps in the script.)
	bounded(Set, function () {}, function (t, args, newTarget) {
		var o = construct(t, [], newTarget), items = args[0];
		if (items === undefined || items === null) return o;
		var add = o.add;
		if (typeof add !== "function") throw new TypeError("add of the new set is not a function");
		for (var v of items) apply(add, o, [v]);
		return o;
	});
	// A bound function calls what it binds from Go, with every argument
	// bound along its chain before the call's own, copied again at each
	// level: a chain recursed in Go, outside the call-depth bound (1,000
	// levels of 100 arguments took 2 s in one call, 512 levels given 128 Ki
	// arguments 2.8 s). A chain of bound functions, each binding the one
	// before, is at most maxBindDepth deep and binds at most maxKeys arguments
	// in all. (A bound function that calls another through a function of
	// the script, call and apply included, goes through the script's
	// frames, which the call-depth bound counts.)
	var bind = Function.prototype.bind, chains = new WeakMapOf();
	set(Function.prototype, "bind", function (thisArg) {
		var below = typeof this === "function" ? apply(mapGet, chains, [this]) || [0, 0] : [0, 0],
			depth = below[0] + 1, bound = below[1] + mathMax(arguments.length - 1, 0);
		if (depth > maxBindDepth) throw new RangeError("a chain of bound functions is at most " + maxBindDepth + " deep");
		if (bound > maxKeys) throw new RangeError("a chain of bound functions binds at most " + maxKeys + " arguments");
		// A built-in is bound in a frame of the script (framed, below): a
		// bound String as an object's own toString called String again
		// from Go, for ever.
		var f = apply(bind, native(this) ? callable(this) : this, arguments);
		apply(mapSet, chains, [f, [depth, bound]]);
		return f;
	});
	// No code made from text as a script runs (eval, Function and its
	// kin): compiling runs natively, outside the limits, and computes the
	// constant expressions of the text as it compiles.
	// The constructors stay what they are to everything else (their
	// prototypes, instanceof), and only refuse to make a function.
	function noCode() { throw new EvalError("code made from text is not available in scripts"); }
	delete globalThis.eval;
	[function () {}, function* () {}, async function () {}].forEach(function (f) {
		var proto = getPrototypeOf(f), ctor = proto.constructor, hasInstance = function (v) { return v instanceof ctor; },
			p = new ProxyOf(ctor, {apply: noCode, construct: noCode, get: function (t, k, receiver) {
				return k === SymbolOf.hasInstance ? hasInstance : reflectGet(t, k, receiver);
			}});
		set(proto, "constructor", p);
		if (ctor === globalThis.Function) set(globalThis, "Function", p);
	});
	// No BigInt: its arithmetic runs in one call of math/big that neither
	// interrupt reaches, so nothing that makes one is left (literals are
	// refused when a script compiles).
	["BigInt", "BigInt64Array", "BigUint64Array"].forEach(function (name) { delete globalThis[name]; });
	delete DataView.prototype.getBigInt64;
	delete DataView.prototype.getBigUint64;
	set(TypedArray, "from", function () {
		typedSource(arguments);
		return apply(typedFrom, this, arguments);
	});
	// A typed array's join (and its toString, which calls it) is a
	// built-in of its own, as unbounded as Array's was: it counts as
	// Array's does.
	set(TypedArray.prototype, "join", ap.join);
	// And a typed array's sort without a comparison orders its numbers
	// natively, a million of them in 0.7 s: it compares in the script, as
	// the language orders numbers there (-0 before +0, NaN last).
	function numberOrder(x, y) {
		if (x !== x) return y !== y ? 0 : 1;
		if (y !== y || x < y) return -1;
		if (x > y) return 1;
		return x === 0 && 1 / x !== 1 / y ? (1 / x < 0 ? -1 : 1) : 0;
	}
	["sort", "toSorted"].forEach(function (name) {
		var f = TypedArray.prototype[name];
		if (typeof f === "function") set(TypedArray.prototype, name, function (compare) { return apply(f, this, [compare === undefined ? numberOrder : compare]); });
	});
	set(TypedArray.prototype, "toLocaleString", localeJoin);
	set(Object, "entries", function (o) { capKeys(o, false); return apply(entries, Object, arguments); });
	set(Object, "getOwnPropertyDescriptors", function (o) { capKeys(o, true); return apply(descriptors, Object, arguments); });
	set(Object, "assign", function (target) {
		for (var i = 1; i < arguments.length; i++) capKeys(arguments[i], true);
		return apply(assign, Object, arguments);
	});
	// freeze, seal and their questions walk every own property of their
	// object in one call, as assign does.
	["freeze", "seal", "isFrozen", "isSealed"].forEach(function (name) {
		var f = Object[name];
		set(Object, name, function (o) { capKeys(o, true); return apply(f, Object, arguments); });
	});
	// JSON.stringify counts, through a replacer, what it writes: each key
	// and primitive value, and the indentation of each line. A list of
	// properties to keep is applied by the replacer, which answers a copy
	// of each object with those properties, in the list's order.
	set(JSON, "stringify", function (value, replacer, space) {
		var total = 0, depths = new WeakMapOf(), given = replacer, keep, root = true;
		var gap = typeof space === "number" ? mathMin(10, mathMax(0, floor(space))) :
			typeof space === "string" ? mathMin(10, space.length) : 0;
		if (isArr(given)) {
			keep = new SetOf();
			for (var i = 0, n = lengthOf(given); i < n; i++) {
				var k = given[i];
				if (typeof k === "string" || typeof k === "number" || k instanceof String || k instanceof Number) apply(setAdd, keep, [String(k)]);
			}
		}
		function count(key, v) {
			if (typeof given === "function") v = apply(given, this, [key, v]);
			var depth = !root && apply(mapHas, depths, [this]) ? apply(mapGet, depths, [this]) + 1 : 0;
			root = false;
			total += String(key).length + 4 + gap * depth;
			var wrapped = isObject(v) ? textLength(v) : -1;
			if (typeof v === "string") {
				total += v.length;
			} else if (wrapped >= 0) {
				total += wrapped; // a String object is written as its text
			} else if (isObject(v) && typeof v !== "function") {
				if (keep && !isArr(v) && !(v instanceof Number || v instanceof String || v instanceof Boolean)) {
					var copy = {};
					apply(setForEach, keep, [function (k) { if (k in v) copy[k] = v[k]; }]);
					v = copy;
				}
				apply(mapSet, depths, [v, depth]);
			} else {
				total += 24;
			}
			cap(total);
			return v;
		}
		return apply(stringify, undefined, [value, count, space]);
	});
	// A string past the bound is made by + alone, which only the heap's
	// bound limits, and the built-ins that walk a string make an object,
	// a piece or a character for each of its characters in one native
	// call: JSON.parse of 12 Mi characters made 2.7 GiB. So every built-in
	// that takes a string takes one of at most max characters: each
	// method of a string (its this and its string arguments, read once
	// and given on as read), JSON.parse, the URI functions, and the
	// built-ins that list a string's keys.
	function text(v) {
		if (typeof v !== "string") {
			// A String object by its value, as the language keeps it;
			// anything else by its text.
			try { v = apply(stringValue, v, []); } catch (e) { v = String(v); }
		}
		cap(v.length);
		return v;
	}
	function capStrings(args) {
		for (var i = 0; i < args.length; i++) if (typeof args[i] === "string") cap(args[i].length);
	}
	Object.getOwnPropertyNames(sp).forEach(function (name) {
		var f = sp[name];
		if (name === "constructor" || name === "toString" || name === "valueOf" || typeof f !== "function") return;
		set(sp, name, function () {
			var self = this === null || this === undefined ? this : text(this);
			capStrings(arguments);
			return apply(f, self, arguments);
		});
	});
	// Normalizing may make many characters of one: 18 for U+FDFA by a
	// compatibility form, 3 at most by a canonical one.
	var normalize = sp.normalize;
	set(sp, "normalize", function (form) {
		var self = this === null || this === undefined ? this : text(this);
		form = form === undefined ? "NFC" : String(form);
		if (self && self.length * (form === "NFKC" || form === "NFKD" ? 18 : 3) > max * 4) {
			throw new RangeError("a normalization may make at most " + max * 4 + " characters");
		}
		return apply(normalize, self, [form]);
	});
	// indexOf, lastIndexOf and includes look for a text through
	// textSearch when the language's own search could be long (costly).
	// The arguments are read once, in the language's order, and the
	// built-in is given what was read.
	[["indexOf", searchFirst], ["lastIndexOf", searchLast], ["includes", searchFirst]].forEach(function (at) {
		var name = at[0], how = at[1], f = sp[name];
		set(sp, name, function (p, position) {
			if (this === null || this === undefined || typeof p === "symbol") return apply(f, this, arguments);
			var s = text(this);
			if (name === "includes" && isRegExp(p)) throw new TypeError("includes does not take a regular expression");
			p = String(p);
			cap(p.length);
			var n = Number(position);
			if (!costly(s, p)) return apply(f, s, [p, n]);
			n = how === searchLast && n !== n ? s.length : trunc(n) || 0;
			var i = textSearch(s, p, mathMax(0, mathMin(n, s.length)), how);
			return name === "includes" ? i >= 0 : i;
		});
	});
	// localeCompare collates its two texts in one native call, about a
	// microsecond a character: two of 1 Mi characters took 1.4 s.
	var localeCompare = sp.localeCompare;
	set(sp, "localeCompare", function (that) {
		if (this === null || this === undefined || typeof that === "symbol") return apply(localeCompare, this, arguments);
		var self = text(this);
		that = String(that);
		if (self.length > maxCollate || that.length > maxCollate) {
			throw new RangeError("localeCompare compares texts of at most " + maxCollate + " characters");
		}
		return apply(localeCompare, self, [that]);
	});
	// A reviver is called from a walk of the parsed value in the script,
	// a frame a level: the language's own walks it in Go, recursing for
	// each level, and a reviver that hung a cycle on the value
	// (this[1] = H, where H[0] = H) made it recurse until the process's
	// stack overflowed.
	var parse = JSON.parse, defineData = Reflect.defineProperty;
	function revive(holder, key, reviver) {
		var v = holder[key];
		if (isObject(v)) {
			var keys = isArr(v) ? null : apply(keysOf, Object, [v]), n = keys ? keys.length : lengthOf(v);
			for (var i = 0; i < n; i++) {
				var k = keys ? keys[i] : String(i), w = revive(v, k, reviver);
				if (w === undefined) delete v[k];
				else defineData(v, k, {value: w, writable: true, enumerable: true, configurable: true});
			}
		}
		return apply(reviver, holder, [key, v]);
	}
	set(JSON, "parse", function (t, reviver) {
		t = text(t);
		if (jsonNesting(t) > maxJSONNesting) throw new RangeError("JSON.parse reads texts nested at most " + maxJSONNesting + " deep");
		var v = apply(parse, JSON, [t]);
		return typeof reviver === "function" ? revive({"": v}, "", reviver) : v;
	});
	["encodeURI", "encodeURIComponent", "decodeURI", "decodeURIComponent", "escape", "unescape", "parseInt", "parseFloat"].forEach(function (name) {
		var f = globalThis[name];
		if (typeof f === "function") set(globalThis, name, function (v) { arguments[0] = text(v); return apply(f, undefined, arguments); });
	});
	[[Object, "keys"], [Object, "values"], [Object, "getOwnPropertyNames"], [Reflect, "ownKeys"]].forEach(function (at) {
		var f = at[0][at[1]];
		set(at[0], at[1], function (o) { cap(textLength(o)); return apply(f, at[0], arguments); });
	});
	// No Proxy: the bounds above tell a string, a String object or a
	// typed array by what the language keeps of it, which a proxy hides
	// while handing every key of its target on; a proxy of a String
	// object of 16 Mi characters was assigned, frozen or walked by for-in
	// in one call, 4–7 s past the limit.
	delete globalThis.Proxy;
	// Every built-in a script can reach runs in a frame of the script: a
	// built-in that reads a property or calls a method calls what it finds
	// from Go, and one that finds a built-in calling back into it (an
	// Error's toString as its own name's getter, Object's toString as the
	// getter of its Symbol.toStringTag, a RegExp's flags as the getter of
	// its global, a Date's toJSON as its toISOString) recursed in Go,
	// outside the call-depth bound and the time limit, until the process
	// ran out of stack and died. In a frame each level counts.
	var framedOf = new MapOf(), mapOfGet = Map.prototype.get, mapOfSet = Map.prototype.set;
	// native says f is a built-in, or a bound function, which calls a
	// built-in's way: one the prelude did not make whose own text (not
	// the one the sandbox's toString gives) says so.
	function native(f) {
		if (typeof f !== "function" || apply(oursHas, ours, [f])) return false;
		return apply(indexOf, apply(functionText, f, []), ["[native code]"]) >= 0;
	}
	// framed is f, a built-in method, in a frame of the script, named and
	// as long as f is, made once for each built-in.
	function framed(f) {
		var w = apply(mapOfGet, framedOf, [f]);
		if (w) return w;
		var name = f.name, o = {[name]() { "use strict"; return apply(f, this, arguments); }};
		w = o[name];
		defineProperty(w, "length", {value: f.length, configurable: true});
		apply(mapOfSet, framedOf, [f, w]);
		apply(oursAdd, ours, [w]);
		return w;
	}
	// callable is f, a built-in, in a frame of the script that is called
	// and constructed as f is: what bind binds of a built-in.
	function callable(f) {
		var w = function () {
			"use strict";
			return new.target ? construct(f, arguments, new.target === w ? f : new.target) : apply(f, this, arguments);
		};
		defineProperty(w, "name", {value: f.name, configurable: true});
		defineProperty(w, "length", {value: f.length, configurable: true});
		w.prototype = f.prototype;
		return w;
	}
	function frameAll(o) {
		if (!isObject(o)) return;
		ownKeys(o).forEach(function (k) {
			if (k === "constructor" || k === "prototype") return;
			var d = getOwnDescriptor(o, k);
			if (!d || !d.configurable && !d.writable) return;
			if ("value" in d) {
				if (native(d.value)) { d.value = framed(d.value); defineProperty(o, k, d); }
			} else if (native(d.get) || native(d.set)) {
				if (native(d.get)) d.get = framed(d.get);
				if (native(d.set)) d.set = framed(d.set);
				defineProperty(o, k, d);
			}
		});
	}
	// The sandbox's functions in the built-ins' places read as built-ins
	// do, not as the prelude's text.
	set(Function.prototype, "toString", function () {
		"use strict";
		if (apply(oursHas, ours, [this])) return "function " + this.name + "() { [native code] }";
		return apply(functionText, this, arguments);
	});
	var reached = [Object.prototype, Function.prototype, TypedArray, TypedArray.prototype,
		getPrototypeOf([][SymbolOf.iterator]()), getPrototypeOf(getPrototypeOf([][SymbolOf.iterator]())),
		getPrototypeOf(""[SymbolOf.iterator]()), getPrototypeOf(/x/g[SymbolOf.matchAll]("")),
		getPrototypeOf(new MapOf().entries()), getPrototypeOf(new SetOf().values()),
		getPrototypeOf(function* () {}), getPrototypeOf(function* () {}).prototype, getPrototypeOf(async function () {})];
	ownKeys(globalThis).forEach(function (k) {
		var v = globalThis[k];
		if (k === "usher" || k === "globalThis" || !isObject(v)) return;
		reached[reached.length] = v;
		if (isObject(v.prototype)) reached[reached.length] = v.prototype;
	});
	reached.forEach(frameAll);
	// RegExp's species and prototype, framed, stay put (cloned).
	defineProperty(RegExp, SymbolOf.species, {configurable: false});
	Object.freeze(RegExp.prototype);
})`, maxScriptString, maxScriptArray, maxScriptKeys, maxRegexpSize, maxRegexpSteps, maxRegexpGroups, maxTextCompares, maxScriptCollate,
		maxBindDepth, maxRegexpNesting, maxJSONNesting, maxRegexpTracked, searchFirst, searchLast, searchAll), false)
})

// runRecovered runs f, a script's run in a runtime of its own, and answers
// a Go panic that escapes the runtime as an error: goja calls a nil
// function for a pattern whose exec is none, and such a panic, which the
// sandbox's bounds exist to prevent, fails the run rather than the
// process. The runtime is not used again.
func runRecovered(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the script's runtime failed: %v", v)
		}
	}()
	return f()
}

// runPrelude runs the prelude, compiled by prelude, in vm.
func runPrelude(vm *goja.Runtime, pre *goja.Program) error {
	v, err := vm.RunProgram(pre)
	if err != nil {
		return err
	}
	init, _ := goja.AssertFunction(v)
	_, err = init(goja.Undefined(), vm.ToValue(func(c goja.FunctionCall) goja.Value {
		o, ok := c.Argument(0).(*goja.Object)
		return vm.ToValue(ok && o.ClassName() == "Array")
	}), vm.ToValue(func(c goja.FunctionCall) goja.Value {
		source := c.Argument(0).String()
		size, groups := regexpSize(source, c.Argument(1).String())
		return vm.ToValue([]any{size, groups, repeatsGroup(source)})
	}), vm.ToValue(func(c goja.FunctionCall) goja.Value {
		s, ok1 := c.Argument(0).(goja.String)
		sub, ok2 := c.Argument(1).(goja.String)
		if !ok1 || !ok2 {
			panic(vm.NewTypeError("textSearch: not a text"))
		}
		return vm.ToValue(textSearch(s, sub, int(c.Argument(2).ToInteger()), int(c.Argument(3).ToInteger())))
	}), vm.ToValue(func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(jsonNesting(c.Argument(0).String()))
	}))
	return err
}

// compileScript compiles a script's source as the body of a function, so
// that it may return early; its lines keep their numbers. A source with a
// BigInt literal is refused before it is compiled: BigInt arithmetic runs
// in one call of math/big that neither the time limit nor the memory
// watchdog reaches (1n << 4000000000n makes 477 MiB; BigInt of a string
// of 1 Mi digits takes seconds), and the compiler computes the constant
// expressions of literals as it compiles, outside every limit. The
// prelude takes away the other ways to make a BigInt.
func compileScript(name, src string) (*goja.Program, error) {
	prg, err := goja.Parse(name, "(function () {"+src+"\n})()")
	if err != nil {
		return nil, err
	}
	if why := refusedSyntax(reflect.ValueOf(prg), map[uintptr]bool{}); why != "" {
		return nil, errors.New(why)
	}
	return goja.CompileAST(prg, false)
}

// refusedSyntax says why the syntax tree v holds what a script may not
// use, "" when it holds none: a BigInt literal, or an object literal's
// spread or an object pattern's rest, which copy every property of their
// source in one native call (a string of 16 Mi characters held a run for
// two minutes, one of 1 Mi for 4 s; Object.assign does the same copy,
// bounded). It walks the tree's exported fields; seen
// keeps it from walking a node twice.
func refusedSyntax(v reflect.Value, seen map[uintptr]bool) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return ""
		}
		seen[v.Pointer()] = true
		switch n := v.Interface().(type) {
		case *ast.NumberLiteral:
			if _, big := n.Value.(*big.Int); big {
				return "BigInt is not available in scripts: its arithmetic runs in one call that the time and memory limits cannot stop"
			}
		case *ast.ObjectLiteral:
			for _, p := range n.Value {
				if _, spread := p.(*ast.SpreadElement); spread {
					return "an object literal's spread ({...o}) is not available in scripts: it copies every property in one call that the limits cannot stop; use Object.assign"
				}
			}
		case *ast.ObjectPattern:
			if n.Rest != nil {
				return "an object pattern's rest ({...rest} = o) is not available in scripts: it copies every other property in one call that the limits cannot stop"
			}
		}
		return refusedSyntax(v.Elem(), seen)
	case reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return refusedSyntax(v.Elem(), seen)
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			if t.Field(i).IsExported() {
				if why := refusedSyntax(v.Field(i), seen); why != "" {
					return why
				}
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if why := refusedSyntax(v.Index(i), seen); why != "" {
				return why
			}
		}
	}
	return ""
}

// compileError is the text kept for a source that does not compile; "" when
// it compiles.
func compileError(name, src string) string {
	if _, err := compileScript(name, src); err != nil {
		return truncate(err.Error(), 1000)
	}
	return ""
}

// scriptCall is one run of a script: what it is about and what it may
// change.
type scriptCall struct {
	name    string
	trigger usher.Trigger
	// resource is the reference of the subject, "user:42"; "" for none.
	resource string
	// subject is the resource as the script sees it.
	subject map[string]any
	// writable are the fields of subject the script may change; a change
	// to another refuses the operation. Nil when changes do not matter.
	writable map[string]bool
}

// logLine is usher.log's line of args, each's text apart by a space, cut
// to maxScriptLogLine bytes at a character's start. It reads no more of
// them than the line holds: a text only as many of its characters as fit,
// and no argument once the line is full. A native call runs whole before
// the run's time and memory bounds can stop it, so joining every argument
// first would let one call take what those bounds refuse: a thousand
// references to one text of the longest length a script builds, each made
// a Go string, are gigabytes.
func logLine(args []goja.Value) string {
	var b strings.Builder
	for i, a := range args {
		room := maxScriptLogLine - b.Len()
		if i > 0 {
			b.WriteByte(' ')
			room--
		}
		if room <= 0 {
			break
		}
		// The value's text, as the language makes it (an object's
		// toString), cut before it is made a Go string: a UTF-16 unit is
		// at least a byte of UTF-8, so room of them are enough.
		text := a.ToString()
		if s, ok := text.(goja.String); ok && s.Length() > room {
			text = s.Substring(0, room)
		}
		b.WriteString(text.String())
	}
	line := b.String()
	if len(line) <= maxScriptLogLine {
		return line
	}
	n := maxScriptLogLine
	for n > 0 && !utf8.RuneStart(line[n]) {
		n--
	}
	return line[:n]
}

// scriptMail is a mail a script asked to send.
type scriptMail struct{ to, subject, body string }

// scriptResult is what a run did.
type scriptResult struct {
	// subject is the resource after the run; changed names the writable
	// fields the script changed.
	subject map[string]any
	changed []string
	log     []string
	mails   []scriptMail
}

// The reasons a run stops early, given to Interrupt; a limit is also the
// error of a run that reached one without being interrupted.
type (
	scriptRefusal struct{ message string }
	scriptLimit   struct{ what string }
)

func (l scriptLimit) Error() string { return "stopped at its " + l.what + " limit" }

// runScript runs prog, compiled by compileScript, in a fresh runtime with
// the policy's limits: a time limit, a bound on the heap's growth while it
// runs, a bound on its call stack, and no access to anything but the usher
// object. A refusal, a limit reached, an exception or a change to a field
// that is not writable is returned as an *usher.Error; nothing the run
// asked for (mails, changes) is then to be applied.
func (e *env) runScript(ctx context.Context, prog *goja.Program, call scriptCall) (_ *scriptResult, err error) {
	defer func() {
		outcome, _ := outcomeOf(err)
		e.observe.Script(call.trigger, outcome)
	}()
	vm := goja.New()
	vm.SetMaxCallStackSize(maxScriptCallStack)
	res := &scriptResult{}
	data, err := json.Marshal(call.subject)
	if err != nil {
		return nil, fmt.Errorf("script %s: encode its subject: %w", call.name, err)
	}
	var before map[string]any
	if err := json.Unmarshal(data, &before); err != nil {
		return nil, fmt.Errorf("script %s: decode its subject: %w", call.name, err)
	}
	jsonObj := vm.Get("JSON").ToObject(vm)
	parse, _ := goja.AssertFunction(jsonObj.Get("parse"))
	stringify, _ := goja.AssertFunction(jsonObj.Get("stringify"))
	subject, err := parse(jsonObj, vm.ToValue(string(data)))
	if err != nil {
		return nil, fmt.Errorf("script %s: parse its subject: %w", call.name, err)
	}
	api := vm.NewObject()
	_ = api.Set("resource", subject)
	_ = api.Set("trigger", string(call.trigger))
	_ = api.Set("ref", call.resource)
	_ = api.Set("log", func(c goja.FunctionCall) goja.Value {
		if len(res.log) < maxScriptLog {
			res.log = append(res.log, logLine(c.Arguments))
		}
		return goja.Undefined()
	})
	_ = api.Set("refuse", func(message string) {
		vm.Interrupt(scriptRefusal{truncate(message, 500)})
	})
	_ = api.Set("mail", func(to, subject, body string) {
		var c checker
		c.email("to", to, true)
		switch {
		case c.err() != nil:
			panic(vm.NewTypeError("usher.mail: not an e-mail address: " + to))
		case len(res.mails) >= maxScriptMails:
			panic(vm.NewTypeError(fmt.Sprintf("usher.mail: a run sends at most %d mails", maxScriptMails)))
		}
		res.mails = append(res.mails, scriptMail{to, truncate(subject, 200), truncate(body, 64<<10)})
	})
	if err := vm.Set("usher", api); err != nil {
		return nil, err
	}

	// The prelude is compiled at the first run, and runs, before the
	// run's time and heap are counted: it is the sandbox's cost (some
	// milliseconds, framing every built-in), not the script's, and runs
	// none of the script's code.
	err = runPrelude(vm, prelude())
	stop := e.guard(ctx, vm)
	var after map[string]any
	if err == nil {
		err = runRecovered(func() error {
			stringify, _ = goja.AssertFunction(jsonObj.Get("stringify"))
			if _, err := vm.RunProgram(prog); err != nil {
				return err
			}
			out, err := stringify(jsonObj, api.Get("resource"))
			if err != nil {
				return err
			}
			if uerr := json.Unmarshal([]byte(out.String()), &after); uerr != nil {
				return errScriptField(call.name, "resource")
			}
			return nil
		})
	}
	// A limit reached fails the run whatever it answered: a regexp2 match
	// that timed out answers "no match", and the script went on.
	if what := stop(); what != "" {
		err = scriptLimit{what}
	}
	if err != nil {
		return nil, e.scriptError(ctx, call.name, err)
	}
	if call.writable != nil {
		keys := map[string]bool{}
		for k := range before {
			keys[k] = true
		}
		for k := range after {
			keys[k] = true
		}
		for k := range keys {
			if reflect.DeepEqual(before[k], after[k]) {
				continue
			}
			if !call.writable[k] {
				return nil, errScriptField(call.name, k)
			}
			res.changed = append(res.changed, k)
		}
		sort.Strings(res.changed)
	}
	res.subject = after
	return res, nil
}

// scriptTimeout is a run's time limit: the policy's, but no longer than
// the process's regexp2 match timeout, so that a match that timed out has
// always outlasted the run's limit.
func (e *env) scriptTimeout() time.Duration {
	if e.regexpTimeout > 0 && e.regexpTimeout < e.policy.ScriptTimeout {
		return e.regexpTimeout
	}
	return e.policy.ScriptTimeout
}

// guard interrupts vm when the run's time runs out, ctx ends or the heap
// grows past the policy's bound, sampled every heapSample; the returned
// function stops it and tells the limit reached, "" for none. The time
// limit counts as reached once the time has passed, even if the run ended
// before its timer fired.
func (e *env) guard(ctx context.Context, vm *goja.Runtime) func() string {
	var reached atomic.Value
	limit := func(what string) {
		reached.CompareAndSwap(nil, what)
		vm.Interrupt(scriptLimit{what})
	}
	timeout, begun := e.scriptTimeout(), time.Now()
	timer := time.AfterFunc(timeout, func() { limit("time") })
	stopCtx := context.AfterFunc(ctx, func() { limit("time") })
	done := make(chan struct{})
	sample := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(sample)
	start := sample[0].Value.Uint64()
	bound := uint64(e.policy.ScriptHeapGrowth)
	go func() {
		t := time.NewTicker(heapSample)
		defer t.Stop()
		s := []metrics.Sample{{Name: heapMetric}}
		for {
			select {
			case <-done:
				return
			case <-t.C:
				metrics.Read(s)
				if now := s[0].Value.Uint64(); now > start && now-start > bound {
					limit("memory")
					return
				}
			}
		}
	}()
	return func() string {
		timer.Stop()
		stopCtx()
		close(done)
		if time.Since(begun) >= timeout || ctx.Err() != nil {
			reached.CompareAndSwap(nil, "time")
		}
		what, _ := reached.Load().(string)
		return what
	}
}

// errScriptField refuses a change a script made to a field scripts may not
// change.
func errScriptField(script, field string) error {
	return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeScriptForbiddenField,
		Message: fmt.Sprintf("script %s changed %s, which scripts may not change", script, field),
		Fields:  []usher.FieldError{{Field: field, Code: usher.CodeNotAllowed, Message: "may not be changed by a script"}}}
}

// scriptError turns the error a run ended with into the answer: the
// script's refusal, or a failure that names the script and the limit but
// keeps the exception's text for the log.
func (e *env) scriptError(ctx context.Context, name string, err error) error {
	var ue *usher.Error
	if errors.As(err, &ue) {
		return err
	}
	var reason any = err
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		reason = ie.Value()
	}
	switch v := reason.(type) {
	case scriptRefusal:
		msg := v.message
		if msg == "" {
			msg = "refused by script " + name
		}
		return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeScriptRefused, Message: msg}
	case scriptLimit:
		e.log.WarnContext(ctx, "script cut off", "script", name, "limit", v.what)
		return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeScriptFailed,
			Message: fmt.Sprintf("script %s was stopped at its %s limit; nothing was changed", name, v.what)}
	}
	// The exception goes to the log alone: its text holds the script's
	// values and the subject's fields, which whoever set the trigger off
	// (anyone, for a sign-up's) may not read.
	e.log.WarnContext(ctx, "script failed", "script", name, "err", err)
	return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeScriptFailed,
		Message: fmt.Sprintf("script %s failed; nothing was changed (the server's log has why)", name), Err: err}
}
