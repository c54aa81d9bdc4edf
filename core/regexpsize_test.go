package core

import "testing"

// TestRegexpSize: the estimate grows with what a program holds, counted
// repetitions multiplying it, and is 0 for the patterns goja leaves to
// regexp2 or that do not compile.
func TestRegexpSize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		source, flags string
		least, most   int64
	}{
		{"x", "", 1, 4},
		{`^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$`, "i", 10, 60},
		{"(?:x?){1000}", "", 2000, 5000},
		{"(?:(?:x?){1000}){1000}", "", 0, 0}, // Go refuses the repeat size: regexp2's
		{"(?:x?){1000}(?:y?){1000}(?:z?){1000}", "", 6000, 15000},
		{"(?=x)x", "", 0, 0}, // a lookahead: regexp2's
		{`(a)\1`, "", 0, 0},  // a back-reference: regexp2's
		{"(", "", 0, 0},
	} {
		if got, _ := regexpSize(tt.source, tt.flags); got < tt.least || got > tt.most {
			t.Errorf("regexpSize(%q, %q) = %d, want %d to %d", tt.source, tt.flags, got, tt.least, tt.most)
		}
	}
	if _, groups := regexpSize(`(a)(?:b)(c(d))`, ""); groups != 3 {
		t.Errorf("groups of (a)(?:b)(c(d)): %d, want 3", groups)
	}
}
