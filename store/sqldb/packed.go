package sqldb

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// packedRow scans one column holding a JSON array of a row's values — what
// a dialect whose driver costs per column selects in place of the columns
// (Dialect.PackedUser) — into dests, one value each in order, as
// database/sql would scan the columns themselves: a JSON string as text,
// an integer as int64, null as NULL. A nested array or object is handed
// over as its text.
type packedRow struct{ dests []any }

func (p packedRow) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqldb: cannot unpack %T as a row", src)
	}
	return unpack(s, p.dests)
}

// unpack parses the JSON array s into dests. Strings without escapes are
// slices of s, not copies.
func unpack(s string, dests []any) error {
	d := unpacker{s: s}
	d.space()
	if !d.eat('[') {
		return fmt.Errorf("sqldb: a packed row is not a JSON array")
	}
	for i, dest := range dests {
		if i > 0 && !d.eat(',') {
			return fmt.Errorf("sqldb: a packed row has %d values, not %d", i, len(dests))
		}
		v, err := d.value()
		if err != nil {
			return fmt.Errorf("sqldb: value %d of a packed row: %w", i, err)
		}
		if err := v.assign(dest); err != nil {
			return fmt.Errorf("sqldb: value %d of a packed row: %w", i, err)
		}
	}
	if !d.eat(']') {
		return fmt.Errorf("sqldb: a packed row has more than %d values", len(dests))
	}
	return nil
}

// unpacker reads JSON values from s at i.
type unpacker struct {
	s string
	i int
}

func (d *unpacker) space() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\t' || d.s[d.i] == '\n' || d.s[d.i] == '\r') {
		d.i++
	}
}

// eat skips space and c, reporting whether c was there.
func (d *unpacker) eat(c byte) bool {
	d.space()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// jval is one value of a packed row, held unboxed: a value in an
// interface would cost an allocation for each string and most integers.
type jval struct {
	kind byte // 0 NULL, 's' text, 'i' int64, 'f' float64, 'b' bool
	s    string
	i    int64
	f    float64
	b    bool
}

// boxed is v as database/sql hands a column's value to a Scanner.
func (v jval) boxed() any {
	switch v.kind {
	case 's':
		return v.s
	case 'i':
		return v.i
	case 'f':
		return v.f
	case 'b':
		return v.b
	}
	return nil
}

// value reads one value.
func (d *unpacker) value() (jval, error) {
	d.space()
	if d.i >= len(d.s) {
		return jval{}, fmt.Errorf("the array ends early")
	}
	start := d.i
	switch c := d.s[d.i]; {
	case c == '"':
		s, err := d.str()
		return jval{kind: 's', s: s}, err
	case c == '[' || c == '{':
		if err := d.skipNested(); err != nil {
			return jval{}, err
		}
		return jval{kind: 's', s: d.s[start:d.i]}, nil
	case strings.HasPrefix(d.s[d.i:], "null"):
		d.i += 4
		return jval{}, nil
	case strings.HasPrefix(d.s[d.i:], "true"):
		d.i += 4
		return jval{kind: 'b', b: true}, nil
	case strings.HasPrefix(d.s[d.i:], "false"):
		d.i += 5
		return jval{kind: 'b'}, nil
	}
	float := false
	for d.i < len(d.s) && strings.IndexByte("-+0123456789.eE", d.s[d.i]) >= 0 {
		float = float || strings.IndexByte(".eE", d.s[d.i]) >= 0
		d.i++
	}
	num := d.s[start:d.i]
	if num == "" {
		return jval{}, fmt.Errorf("no JSON value at %q", d.s[start:min(len(d.s), start+10)])
	}
	if !float {
		if n, err := strconv.ParseInt(num, 10, 64); err == nil {
			return jval{kind: 'i', i: n}, nil
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return jval{}, fmt.Errorf("the number %q: %w", num, err)
	}
	return jval{kind: 'f', f: f}, nil
}

// str reads a string at its opening quote.
func (d *unpacker) str() (string, error) {
	start := d.i
	d.i++
	escaped := false
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case '\\':
			escaped = true
			d.i += 2
			continue
		case '"':
			d.i++
			if !escaped {
				return d.s[start+1 : d.i-1], nil
			}
			var out string
			if err := json.Unmarshal([]byte(d.s[start:d.i]), &out); err != nil {
				return "", err
			}
			return out, nil
		}
		d.i++
	}
	return "", fmt.Errorf("a string is not closed")
}

// skipNested skips an array or object at its opening bracket.
func (d *unpacker) skipNested() error {
	depth := 0
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case '"':
			if _, err := d.str(); err != nil {
				return err
			}
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				d.i++
				return nil
			}
		}
		d.i++
	}
	return fmt.Errorf("an array or object is not closed")
}

// assign stores v in dest as database/sql's Scan would a column's value.
// sqldb's own scanners of times and nullable text and integers are
// served without boxing v.
func (v jval) assign(dest any) error {
	switch d := dest.(type) {
	case nullTime:
		if v.kind == 'i' {
			t := time.UnixMicro(v.i).UTC()
			*d.t = &t
			return nil
		}
	case timeCol:
		if v.kind == 'i' {
			*d.t = time.UnixMicro(v.i).UTC()
			return nil
		}
	case nullString:
		switch v.kind {
		case 0:
			*d.s = ""
			return nil
		case 's':
			*d.s = v.s
			return nil
		}
	case nullInt:
		switch v.kind {
		case 0:
			*d.i = 0
			return nil
		case 'i':
			*d.i = v.i
			return nil
		}
	case *string:
		switch v.kind {
		case 's':
			*d = v.s
			return nil
		case 'i':
			*d = strconv.FormatInt(v.i, 10)
			return nil
		}
	case *int64:
		switch v.kind {
		case 'i':
			*d = v.i
			return nil
		case 's':
			n, err := strconv.ParseInt(v.s, 10, 64)
			*d = n
			return err
		}
	case *int:
		switch v.kind {
		case 'i':
			*d = int(v.i)
			return nil
		case 's':
			n, err := strconv.Atoi(v.s)
			*d = n
			return err
		}
	case *bool:
		switch v.kind {
		case 'b':
			*d = v.b
			return nil
		case 'i':
			if v.i == 0 || v.i == 1 {
				*d = v.i == 1
				return nil
			}
		case 's':
			b, err := strconv.ParseBool(v.s)
			*d = b
			return err
		}
	}
	if sc, ok := dest.(interface{ Scan(any) error }); ok {
		return sc.Scan(v.boxed())
	}
	return fmt.Errorf("cannot store %v in %T", v.boxed(), dest)
}
