package escape

import (
	"testing"

	"usher/web/webtest"
)

// TestCodeStatusesAreCodes fails when the face's code table names a code
// the core does not have.
func TestCodeStatusesAreCodes(t *testing.T) {
	t.Parallel()
	webtest.KnownCodes(t, codeStatuses)
}
