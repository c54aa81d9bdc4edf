package sqldb

import (
	"fmt"
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
