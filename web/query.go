package web

import (
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"usher"
)

// Query reads a request's query parameters, remembering which it read so
// that Err can refuse the ones the endpoint does not know. The first bad
// value is kept and reported by Err.
type Query struct {
	values url.Values
	used   map[string]bool
	err    error
}

// NewQuery returns the query of r.
func NewQuery(r *http.Request) *Query {
	return &Query{values: r.URL.Query(), used: map[string]bool{}}
}

// fail keeps the first error.
func (q *Query) fail(err error) {
	if q.err == nil {
		q.err = err
	}
}

// String returns the parameter's value, "" when absent. A parameter given
// twice is refused.
func (q *Query) String(name string) string {
	q.used[name] = true
	vs := q.values[name]
	if len(vs) > 1 {
		q.fail(Invalid(name, usher.CodeRepeatedParameter, "is given more than once"))
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// Strings returns every value of a parameter that may be repeated, nil
// when absent.
func (q *Query) Strings(name string) []string {
	q.used[name] = true
	return q.values[name]
}

// Int returns the parameter as an integer within [min, max], or def when
// absent.
func (q *Query) Int(name string, def, min, max int) int {
	s := q.String(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.fail(Invalid(name, usher.CodeNotAnInteger, "must be an integer"))
		return def
	}
	if n < min || n > max {
		q.fail(Invalid(name, usher.CodeOutOfRange, "must be between %d and %d", min, max))
		return def
	}
	return n
}

// Bool returns the parameter as a boolean, nil when absent.
func (q *Query) Bool(name string) *bool {
	s := q.String(name)
	if s == "" {
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.fail(Invalid(name, usher.CodeNotABoolean, "must be true or false"))
		return nil
	}
	return &b
}

// Time returns the parameter as an RFC 3339 time, nil when absent.
func (q *Query) Time(name string) *time.Time {
	s := q.String(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.fail(Invalid(name, usher.CodeNotATime, "must be an RFC 3339 time such as 2024-01-02T15:04:05Z"))
		return nil
	}
	return &t
}

// Enum returns the parameter if it is one of allowed, def when absent.
func (q *Query) Enum(name, def string, allowed ...string) string {
	s := q.String(name)
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	q.fail(Invalid(name, usher.CodeInvalidValue, "must be one of %v", allowed))
	return def
}

// Fail records an error found by the caller while reading a parameter.
func (q *Query) Fail(err error) { q.fail(err) }

// Err returns the first bad value, or else an error naming a parameter that
// was never read.
func (q *Query) Err() error {
	if q.err != nil {
		return q.err
	}
	var unknown []string
	for name := range q.values {
		if !q.used[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Invalid(unknown[0], usher.CodeUnknownParameter, "is not a parameter of this endpoint")
	}
	return nil
}

// NestedName returns the name a query key nests under, as PHP and Rack
// read it: "page" for page[] and page[number]. ok is false for a key that
// is not bracketed.
func NestedName(key string) (name string, ok bool) {
	i := strings.IndexByte(key, '[')
	if i <= 0 || !strings.Contains(key[i:], "]") {
		return "", false
	}
	return key[:i], true
}

// Seconds is n seconds as a duration, held at the longest or the most
// negative duration there is rather than wrapping round past them: a
// count of seconds a caller gives, which the core then bounds, must not
// come to it as another count.
func Seconds(n int64) time.Duration {
	const most = int64(math.MaxInt64 / time.Second)
	switch {
	case n > most:
		return math.MaxInt64
	case n < -most:
		return math.MinInt64
	}
	return time.Duration(n) * time.Second
}

// UnescapeLoosely decodes the percent escapes of a query's text as
// PHP's urldecode and Rack's unescape do where url.QueryUnescape fails:
// each %XX is its byte and a "%" that starts no escape stays as it is.
// With plusIsSpace a "+" is a space, as in a query or a form (PHP); a
// path's text, such as a file name Rack unescapes, keeps it.
func UnescapeLoosely(s string, plusIsSpace bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+' && plusIsSpace:
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
