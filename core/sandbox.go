package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/dop251/goja"

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
	// native call (repeat, padding, join, concat) make, and maxScriptArray
	// the elements of the arrays fill, concat and Array.from make or walk:
	// built-ins run natively, where no interrupt reaches them.
	maxScriptString = 1 << 20
	maxScriptArray  = 1 << 20
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

// prelude runs before every script: it caps the strings and arrays that
// the built-ins which allocate, or walk an array's length, in one native
// call may make. repeat is rebuilt by doubling: goja's own appends the
// string once per count, slowly enough that a loop of large repeats
// outruns the heap watchdog's notice by far. join converts the elements in
// the script, where the interrupt reaches, and joins only when the result
// fits.
var prelude = goja.MustCompile("prelude", fmt.Sprintf(`(function () {
	var max = %d, maxLength = %d, sp = String.prototype, ap = Array.prototype,
		repeat = sp.repeat, padStart = sp.padStart, padEnd = sp.padEnd, concat = sp.concat,
		join = ap.join, fill = ap.fill, arrayConcat = ap.concat, from = Array.from;
	function cap(n) { if (n > max) throw new RangeError("strings are limited to " + max + " characters"); }
	function capLength(n) { if (n > maxLength) throw new RangeError("arrays are limited to " + maxLength + " elements"); }
	function lengthOf(o) { var n = Math.floor(Number(o.length)); return n > 0 ? n : 0; }
	function index(v, n, d) {
		if (v === undefined) return d;
		v = Math.trunc(Number(v)) || 0;
		return v < 0 ? Math.max(n + v, 0) : Math.min(v, n);
	}
	function spreads(v) {
		if (v === null || (typeof v !== "object" && typeof v !== "function")) return false;
		var s = v[Symbol.isConcatSpreadable];
		return s !== undefined ? !!s : Array.isArray(v);
	}
	Object.defineProperty(sp, "repeat", {value: function (n) {
		var s = String(this);
		n = Math.floor(Number(n));
		if (!(n >= 0) || n === Infinity || s.length === 0) return repeat.call(s, n);
		cap(s.length * n);
		var out = "";
		for (;;) {
			if (n %% 2 === 1) out += s;
			n = Math.floor(n / 2);
			if (n === 0) return out;
			s += s;
		}
	}});
	Object.defineProperty(sp, "padStart", {value: function (n, s) { cap(n); return padStart.call(this, n, s); }});
	Object.defineProperty(sp, "padEnd", {value: function (n, s) { cap(n); return padEnd.call(this, n, s); }});
	Object.defineProperty(sp, "concat", {value: function () {
		var s = String(this), parts = [], total = s.length;
		for (var i = 0; i < arguments.length; i++) {
			parts[i] = String(arguments[i]);
			total += parts[i].length;
			cap(total);
		}
		return concat.apply(s, parts);
	}});
	Object.defineProperty(ap, "join", {value: function (sep) {
		var o = Object(this), n = lengthOf(o), parts = [], total = 0;
		sep = sep === undefined ? "," : String(sep);
		if (n > 1) cap(sep.length * (n - 1));
		for (var i = 0; i < n; i++) {
			var v = o[i];
			parts[i] = v === undefined || v === null ? "" : String(v);
			total += parts[i].length;
			cap(total + sep.length * (n - 1));
		}
		return join.call(parts, sep);
	}});
	Object.defineProperty(ap, "fill", {value: function (v, start, end) {
		var n = lengthOf(Object(this));
		capLength(index(end, n, n) - index(start, n, 0));
		return fill.call(this, v, start, end);
	}});
	Object.defineProperty(ap, "concat", {value: function () {
		var total = spreads(this) ? lengthOf(this) : 1;
		for (var i = 0; i < arguments.length; i++) total += spreads(arguments[i]) ? lengthOf(arguments[i]) : 1;
		capLength(total);
		return arrayConcat.apply(this, arguments);
	}});
	Object.defineProperty(Array, "from", {value: function (items) {
		if (items !== null && items !== undefined) capLength(lengthOf(Object(items)));
		return from.apply(this, arguments);
	}});
})()`, maxScriptString, maxScriptArray), false)

// compileScript compiles a script's source as the body of a function, so
// that it may return early; its lines keep their numbers.
func compileScript(name, src string) (*goja.Program, error) {
	return goja.Compile(name, "(function () {"+src+"\n})()", false)
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
			parts := make([]string, len(c.Arguments))
			for i, a := range c.Arguments {
				parts[i] = a.String()
			}
			res.log = append(res.log, truncate(strings.Join(parts, " "), maxScriptLogLine))
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

	stop := e.guard(ctx, vm)
	_, err = vm.RunProgram(prelude)
	if err == nil {
		_, err = vm.RunProgram(prog)
	}
	var after map[string]any
	if err == nil {
		var out goja.Value
		if out, err = stringify(jsonObj, api.Get("resource")); err == nil {
			if uerr := json.Unmarshal([]byte(out.String()), &after); uerr != nil {
				err = errScriptField(call.name, "resource")
			}
		}
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
	e.log.WarnContext(ctx, "script failed", "script", name, "err", err)
	return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeScriptFailed,
		Message: fmt.Sprintf("script %s failed: %s; nothing was changed", name, truncate(firstLine(err.Error()), 300)), Err: err}
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
