package web

import (
	"strings"
	"testing"

	"usher"
)

// testCursor has the shape of the cursors the faces give out.
type testCursor struct {
	Sort string `json:"s"`
	ID   int64  `json:"i"`
	Key  string `json:"k,omitempty"`
}

func TestDecodeCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"given out", EncodeCursor(testCursor{Sort: "-username", ID: 7, Key: "alice"}), true},
		{"not base64", "!!", false},
		{"padded", EncodeCursor(testCursor{ID: 1}) + "=", false},
		{"null", EncodeCursor(nil), false},
		{"unknown field", EncodeCursor(map[string]any{"i": 1, "zz": 3}), false},
		{"wrong type", EncodeCursor("5"), false},
		{"two values", "MSAy", false}, // "1 2"
		{"too long", strings.Repeat("A", MaxCursor+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c testCursor
			err := DecodeCursor("cursor", tt.in, &c)
			if tt.ok != (err == nil) {
				t.Fatalf("DecodeCursor(%q) = %v, want ok %v", tt.in, err, tt.ok)
			}
			if err != nil && (usher.ErrorKind(err) != usher.KindInvalid || usher.AsError(err).Fields[0].Field != "cursor") {
				t.Fatalf("error %v does not name the parameter as invalid", err)
			}
		})
	}
}

func TestDecodeIDCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"given out", EncodeCursor(int64(42)), 42, true},
		{"zero", EncodeCursor(0), 0, false},
		{"negative", EncodeCursor(-5), 0, false},
		{"null", EncodeCursor(nil), 0, false},
		{"fraction", EncodeCursor(1.5), 0, false},
		{"overflowing", "OTk5OTk5OTk5OTk5OTk5OTk5OTk", 0, false}, // 99999999999999999999
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeIDCursor("cursor", tt.in)
			if got != tt.want || tt.ok != (err == nil) {
				t.Fatalf("DecodeIDCursor(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

// FuzzDecodeCursor: a cursor from a client never panics the decoder; one
// that decodes re-encodes to a cursor that decodes the same, and an id
// cursor that decodes holds a positive id.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor(testCursor{Sort: "-username", ID: 7, Key: "alice"}))
	f.Add(EncodeCursor(int64(42)))
	f.Add("!!")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var c testCursor
		if DecodeCursor("cursor", s, &c) == nil {
			var again testCursor
			if err := DecodeCursor("cursor", EncodeCursor(c), &again); err != nil || again != c {
				t.Fatalf("%q: %+v re-encodes to %+v (%v)", s, c, again, err)
			}
		}
		if id, err := DecodeIDCursor("cursor", s); err == nil && id <= 0 {
			t.Fatalf("%q: id cursor %d accepted", s, id)
		}
	})
}
