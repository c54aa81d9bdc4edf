package webtest

import (
	"testing"

	"usher"
)

// KnownCodes fails t for each code a face's code table maps that is not
// among usher.Codes: a table that names a code the core does not have holds
// words that would never be said.
func KnownCodes[V any](t testing.TB, table map[string]V) {
	t.Helper()
	for code := range table {
		if !usher.IsCode(code) {
			t.Errorf("the code table maps %q, which is not among usher.Codes", code)
		}
	}
}
