package usher

import "testing"

func TestAccessCombine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ a, b, want Access }{
		{"", "", ""}, {Allow, "", Allow}, {"", Allow, Allow}, {Allow, Allow, Allow},
		{Deny, "", Deny}, {"", Deny, Deny}, {Allow, Deny, Deny}, {Deny, Allow, Deny}, {Deny, Deny, Deny},
	} {
		if got := tt.a.Combine(tt.b); got != tt.want {
			t.Errorf("%q.Combine(%q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}
