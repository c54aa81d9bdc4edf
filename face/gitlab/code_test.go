package gitlab

import (
	"testing"

	"usher/web/webtest"
)

// TestCodeWordsAreCodes fails when the face's code table names a code the
// core does not have.
func TestCodeWordsAreCodes(t *testing.T) {
	t.Parallel()
	webtest.KnownCodes(t, codeWords)
}
