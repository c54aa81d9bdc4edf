package core_test

import (
	"os"
	"testing"
	"time"

	"usher/core"
)

// regexpBound is the test binary's regexp2 match timeout, which also caps
// every run's time limit. It is set in TestMain, before any test makes a
// core: the first core made sets the bound for the process, and without
// this it would be whichever test ran first, so that a test's own, longer
// limit held or not by the order the tests ran in. It is longer than the
// default policy's second so that the scripts' generous limit holds under
// the race detector beside the other packages' tests (a run that answers
// in 0.2 s there on a quiet machine took 1.1 s in CI); a pattern that
// backtracks without end runs to it.
const regexpBound = 3 * time.Second

func TestMain(m *testing.M) {
	core.BoundRegexps(regexpBound)
	os.Exit(m.Run())
}
