package main

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"usher"
	"usher/store/postgres"
)

func TestZZProbeSearch(t *testing.T) {
	dsn := os.Getenv("PROBE_DB")
	if dsn == "" {
		t.Skip()
	}
	d, err := generate(1000000, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	type r struct {
		q  string
		ms float64
		n  int
	}
	var rs []r
	if q := os.Getenv("PROBE_Q"); q != "" {
		d.queries = []string{q}
	}
	for _, q := range d.queries {
		f := usher.UserFilter{Query: q, SearchEmail: true, Deleted: usher.Exclude, Page: usher.PageRequest{Limit: 20}}
		s := time.Now()
		p, err := db.UserList(ctx, f)
		if err != nil {
			t.Fatal(q, err)
		}
		rs = append(rs, r{q, float64(time.Since(s).Microseconds()) / 1000, len(p.Items)})
	}
	slices.SortFunc(rs, func(a, b r) int {
		if a.ms < b.ms {
			return -1
		}
		return 1
	})
	n := len(rs)
	t.Logf("p50 %.2f p90 %.2f p99 %.2f max %.2f", rs[n/2].ms, rs[n*9/10].ms, rs[n*99/100].ms, rs[n-1].ms)
	for _, x := range rs[n-25:] {
		t.Logf("%q %.2f ms %d", x.q, x.ms, x.n)
	}
}
