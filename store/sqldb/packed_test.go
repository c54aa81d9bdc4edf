package sqldb

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestUnpack(t *testing.T) {
	cases := []struct {
		name, row string
		want      string // the destinations after, or the error
	}{
		{"scalars", `[7,"a\"b\\c\n","",null,1,0]`, `7 "a\"b\\c\n" "" "" true false`},
		{"nested as text", `[1,"x",[["github","1"]],"",0,1]`, `1 "x" "[[\"github\",\"1\"]]" "" false true`},
		{"spaces", ` [ 1 , "x" , {"a":[1,"]"]} , null , 1 , 1 ] `, `1 "x" "{\"a\":[1,\"]\"]}" "" true true`},
		{"unicode escapes", `[1,"\u00e9\ud83e\udd80",2,null,0,0]`, `1 "é🦀" "2" "" false false`},
		{"too few", `[1,"x"]`, `error`},
		{"too many", `[1,"x","y",null,1,1,9]`, `error`},
		{"not an array", `{"a":1}`, `error`},
		{"NULL in a string", `[1,null,"y",null,1,1]`, `error`},
		{"bool out of range", `[1,"x","y",null,2,1]`, `error`},
		{"open string", `[1,"x`, `error`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var id int64
			var a, b, n string
			var x, y bool
			err := packedRow{[]any{&id, &a, &b, nullString{&n}, &x, &y}}.Scan(c.row)
			got := fmt.Sprintf("%d %q %q %q %t %t", id, a, b, n, x, y)
			if err != nil {
				got = "error"
			}
			if got != c.want {
				t.Errorf("unpack(%s) = %s (%v), want %s", c.row, got, err, c.want)
			}
		})
	}
}

// recorded keeps what a packed row hands a scanner, boxed as database/sql
// would hand a column's value.
type recorded struct{ v any }

func (r *recorded) Scan(src any) error { r.v = src; return nil }

// FuzzUnpack checks unpack against encoding/json: it never panics, and
// an array of scalars that encoding/json reads is read alike — each string,
// integer, float, bool and null the same value.
func FuzzUnpack(f *testing.F) {
	for _, s := range []string{
		`[7,"a\"b\\c\n","",null,1,0]`, `[1,"x",[["github","1"]],"",0,1]`,
		`[1,"\u00e9\ud83e\udd80",2.5,-3e2,true,false]`, `["\\"]`, `[1,"x`, `[]`, `["\u"]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		valid := dec.Decode(&want) == nil && !dec.More() && len(want) > 0
		for _, v := range want {
			if _, nested := v.([]any); nested {
				valid = false
			}
			if _, nested := v.(map[string]any); nested {
				valid = false
			}
		}
		n := max(len(want), 1)
		got := make([]recorded, n)
		dests := make([]any, n)
		for i := range got {
			dests[i] = &got[i]
		}
		err := unpack(s, dests)
		if !valid {
			return
		}
		if err != nil {
			t.Fatalf("unpack(%q): %v; encoding/json reads %v", s, err, want)
		}
		for i, w := range want {
			if num, ok := w.(json.Number); ok {
				if n, err := num.Int64(); err == nil && !strings.ContainsAny(num.String(), ".eE") {
					w = n
				} else if fl, err := num.Float64(); err == nil {
					w = fl
				}
			}
			if fmt.Sprintf("%T %v", got[i].v, got[i].v) != fmt.Sprintf("%T %v", w, w) {
				t.Errorf("unpack(%q)[%d] = %T %v, encoding/json reads %T %v", s, i, got[i].v, got[i].v, w, w)
			}
		}
	})
}
