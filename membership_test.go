package usher

import "testing"

func TestLevelHigher(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ a, b, want Level }{
		{LevelRead, LevelWrite, LevelWrite}, {LevelOwner, LevelRead, LevelOwner}, {LevelWrite, LevelWrite, LevelWrite},
		{LevelMember, LevelMember, LevelMember}, {"", LevelRead, LevelRead}, {LevelRead, "", LevelRead},
	} {
		if got := tt.a.Higher(tt.b); got != tt.want {
			t.Errorf("%q.Higher(%q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}
