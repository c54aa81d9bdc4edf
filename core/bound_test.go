//go:build !race

package core_test

// boundFactor is how many times its time limit a bounded script may take
// to answer in these tests.
const boundFactor = 5
