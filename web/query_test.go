package web

import "testing"

// TestUnescapeLoosely decodes what url.QueryUnescape refuses as PHP's
// urldecode and Rack's unescape do, keeping a "%" that starts no escape.
func TestUnescapeLoosely(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in          string
		plusIsSpace bool
		want        string
	}{
		{"%73udo", false, "sudo"},
		{"per%5Bpage%5D", true, "per[page]"},
		{"a+b", true, "a b"},
		{"a+b", false, "a+b"},
		{"100%", true, "100%"},
		{"%zz%4", true, "%zz%4"},
		{"%e2%82%ac", false, "€"},
		{"%ff", false, "\xff"},
		{"%00x", true, "\x00x"},
	} {
		if got := UnescapeLoosely(tt.in, tt.plusIsSpace); got != tt.want {
			t.Errorf("UnescapeLoosely(%q, %v) = %q, want %q", tt.in, tt.plusIsSpace, got, tt.want)
		}
	}
}
