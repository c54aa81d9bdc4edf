package native

import "testing"

// FuzzDecodeCursor: a cursor from a client never panics the decoder, and
// one that decodes re-encodes to a cursor that decodes the same.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(userCursor{Sort: "-username", ID: 7, Key: "alice"}))
	f.Add(encodeCursor(int64(42)))
	f.Add("!!")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var c userCursor
		if decodeCursor(s, &c) != nil {
			return
		}
		var again userCursor
		if err := decodeCursor(encodeCursor(c), &again); err != nil || again != c {
			t.Fatalf("%q: %+v re-encodes to %+v (%v)", s, c, again, err)
		}
	})
}
