//go:build race

package native_test

// loginTimingSpread is how far apart TestLoginTiming lets the medians of
// an unknown log-in and a known one be. The race detector slows pure-Go
// code such as bcrypt's rounds, not argon2id's assembly, and in CI, beside
// the other packages' tests, a wrong password for an imported bcrypt
// account answered 10–15 % later than an unknown log-in; without the
// detector, on a quiet machine, the two are within 4–6 %. The oracle the
// test guards against was 4 to 25 times.
const loginTimingSpread = 0.2
