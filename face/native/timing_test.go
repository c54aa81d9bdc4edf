//go:build !race

package native_test

// loginTimingSpread is how far apart TestLoginTiming lets the medians of
// an unknown log-in and a known one be (see timing_race_test.go).
const loginTimingSpread = 0.1
