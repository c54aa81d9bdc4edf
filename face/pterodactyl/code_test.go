package pterodactyl

import (
	"testing"

	"usher/web/webtest"
)

// TestCodeAnswersAreCodes fails when the face's code table names a code the
// core does not have.
func TestCodeAnswersAreCodes(t *testing.T) {
	t.Parallel()
	webtest.KnownCodes(t, codeAnswers)
}
