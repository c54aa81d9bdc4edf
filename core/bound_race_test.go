//go:build race

package core_test

// boundFactor is how many times its time limit a bounded script may take
// to answer in these tests: under the race detector, which slows the
// interpreter and the bounds' own work several times, 8; the cases the
// bounds stop took about 12 times the limit and more before them.
const boundFactor = 8
