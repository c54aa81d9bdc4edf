package postgres

import "testing"

// TestWeakSearch: a string is weak for the trigram index only when it holds
// a character search_key does not spell as letters and digits (migration
// 0020); letters of any script, digits and the spelled separators are
// strong.
func TestWeakSearch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    string
		weak bool
	}{
		{"son", false},
		{"Ünal", false},
		{"l t", false},
		{"a_n", false},
		{"74@us", false},
		{"trid_", false},
		{"j.doe", false},
		{"jean-luc", false},
		{"a+b", false},
		{"o'brien", false},
		{"q1", false},
		{"100%", true},
		{`c:\dir`, true},
		{"doe, j", true},
		{"a/b", true},
		{"a\x01b", true},
		{"a\tb", true},
	} {
		if got := (dialect{}).WeakSearch(tt.v); got != tt.weak {
			t.Errorf("WeakSearch(%q) = %v, want %v", tt.v, got, tt.weak)
		}
	}
}
