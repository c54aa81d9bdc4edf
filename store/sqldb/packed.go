package sqldb

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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
		if err := assign(dest, v); err != nil {
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

// value reads one value: nil, a string, an int64, a float64 or a bool.
func (d *unpacker) value() (any, error) {
	d.space()
	if d.i >= len(d.s) {
		return nil, fmt.Errorf("the array ends early")
	}
	start := d.i
	switch c := d.s[d.i]; {
	case c == '"':
		return d.str()
	case c == '[' || c == '{':
		if err := d.skipNested(); err != nil {
			return nil, err
		}
		return d.s[start:d.i], nil
	case strings.HasPrefix(d.s[d.i:], "null"):
		d.i += 4
		return nil, nil
	case strings.HasPrefix(d.s[d.i:], "true"):
		d.i += 4
		return true, nil
	case strings.HasPrefix(d.s[d.i:], "false"):
		d.i += 5
		return false, nil
	}
	float := false
	for d.i < len(d.s) && strings.IndexByte("-+0123456789.eE", d.s[d.i]) >= 0 {
		float = float || strings.IndexByte(".eE", d.s[d.i]) >= 0
		d.i++
	}
	num := d.s[start:d.i]
	if num == "" {
		return nil, fmt.Errorf("no JSON value at %q", d.s[start:min(len(d.s), start+10)])
	}
	if !float {
		if n, err := strconv.ParseInt(num, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil, fmt.Errorf("the number %q: %w", num, err)
	}
	return f, nil
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
func assign(dest any, v any) error {
	switch d := dest.(type) {
	case interface{ Scan(any) error }:
		return d.Scan(v)
	case *string:
		switch x := v.(type) {
		case string:
			*d = x
			return nil
		case int64:
			*d = strconv.FormatInt(x, 10)
			return nil
		}
	case *int64:
		switch x := v.(type) {
		case int64:
			*d = x
			return nil
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			*d = n
			return err
		}
	case *int:
		switch x := v.(type) {
		case int64:
			*d = int(x)
			return nil
		case string:
			n, err := strconv.Atoi(x)
			*d = n
			return err
		}
	case *bool:
		switch x := v.(type) {
		case bool:
			*d = x
			return nil
		case int64:
			if x == 0 || x == 1 {
				*d = x == 1
				return nil
			}
		case string:
			b, err := strconv.ParseBool(x)
			*d = b
			return err
		}
	}
	return fmt.Errorf("cannot store %T (%v) in %T", v, v, dest)
}
