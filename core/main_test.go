package core_test

import (
	"os"
	"testing"

	"usher/core"
)

// TestMain bounds the process's regexp2 matches by the default policy's
// script time limit before any test makes a core: the first core made
// sets the bound for the process, and without this it would be whichever
// test ran first, so that a test's own, longer limit held or not by the
// order the tests ran in.
func TestMain(m *testing.M) {
	core.BoundRegexps(core.DefaultPolicy().ScriptTimeout)
	os.Exit(m.Run())
}
