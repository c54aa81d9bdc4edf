package main

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 123456789, 1 << 40, 1<<63 + 12345} {
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Errorf("bucketOf(%d): range [%d, %d] does not hold it", v, lo, hi)
		}
		if hi-lo > lo>>subBits {
			t.Errorf("bucketOf(%d): range [%d, %d] is wider than 1/%d of it", v, lo, hi, 1<<subBits)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(c.q)
		if d := got - c.want; d < -c.want/100 || d > c.want/100 {
			t.Errorf("quantile(%v) = %v, want %v within 1%%", c.q, got, c.want)
		}
	}
}

func TestCeilingBody(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 11, 819, 4096} {
		if got := len(ceilingBody(n)); got != n {
			t.Errorf("len(ceilingBody(%d)) = %d", n, got)
		}
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	if got, err := pick(" me, search ,"); err != nil || len(got) != 2 || got[0] != "me" || got[1] != "search" {
		t.Errorf(`pick(" me, search ,") = %q, %v`, got, err)
	}
	if _, err := pick("me,nope"); err == nil {
		t.Error(`pick("me,nope") accepted an unknown scenario`)
	}
}
