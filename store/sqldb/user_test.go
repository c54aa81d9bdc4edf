package sqldb

import (
	"strings"
	"testing"
)

// TestUserColumns pins userColumns to the columns {{user_columns}} names
// and that userDests scans: a page appends its extra columns to the
// destinations without copying them only while the three agree.
func TestUserColumns(t *testing.T) {
	t.Parallel()
	if n := strings.Count(columns["user"], ",") + 1; n != userColumns {
		t.Errorf("{{user_columns}} names %d columns, userColumns is %d", n, userColumns)
	}
	_, dests, _ := userDests()
	if len(dests) != userColumns || cap(dests) < userColumns+2 {
		t.Errorf("userDests gives %d destinations with room for %d, want %d and room for 2 more",
			len(dests), cap(dests), userColumns)
	}
}
