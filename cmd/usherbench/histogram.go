package main

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets for each power
// of two.
const subBits = 7

// histogram counts durations in log-linear buckets: 2^subBits buckets for
// each power of two of nanoseconds, so that a quantile read from it is
// within 1/2^subBits (under 1 %) of the true one, in a fixed 64 KiB.
type histogram struct {
	counts [64 << subBits]uint64
	n      uint64
	max    time.Duration
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(uint64(max(d, 0)))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the duration below which a fraction q of the recorded
// ones lie: the middle of its bucket.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			return min(time.Duration(lo+(hi-lo)/2), h.max)
		}
	}
	return h.max
}

// bucketOf is the bucket of v: v itself below 2^subBits, else its top
// subBits+1 bits and its magnitude.
func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1
	return (e+1)<<subBits + int(v>>e) - 1<<subBits
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 1<<subBits {
		return uint64(i), uint64(i)
	}
	e := i>>subBits - 1
	m := uint64(i&(1<<subBits-1) + 1<<subBits)
	return m << e, (m+1)<<e - 1
}
