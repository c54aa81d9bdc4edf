package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// sortedRow is what a sorted list orders a row by.
type sortedRow struct {
	name, handle     string
	created, updated time.Time
}

// sortedRows are five rows with ties in the name (but for case) and in
// either time, created out of every order.
var sortedRows = []sortedRow{
	{"beta", "h-c", base, base.Add(2 * time.Hour)},
	{"Alpha", "h-a", base.Add(time.Hour), base},
	{"alpha", "h-e", base, base.Add(2 * time.Hour)},
	{"Gamma", "H-B", base.Add(-time.Hour), base.Add(time.Hour)},
	{"delta", "h-d", base.Add(time.Hour), base},
}

// sortedList is a list that sorts: the columns it sorts by and a read of
// one page of its rows' ids.
type sortedList struct {
	columns []string
	read    func(s usher.Sort, req usher.PageRequest) ([]int64, *usher.Cursor, error)
}

// sortedLists makes the lists of groups, applications and organisations
// hold sortedRows, and returns them with the ids of the rows, in
// sortedRows' order.
func sortedLists(t *testing.T, s store.Store) (map[string]sortedList, map[string][]int64) {
	ctx := context.Background()
	ids := map[string][]int64{}
	mixed := []usher.GroupKind{usher.GroupTeam, usher.GroupRole, usher.GroupInternal}
	for i, r := range sortedRows {
		g := &usher.Group{Kind: usher.GroupPlain, Handle: r.handle, Name: r.name, CreatedAt: r.created, UpdatedAt: r.updated}
		mustCreateGroup(t, s, g)
		// The same rows again in groups of three other kinds, which a
		// list of several kinds merges from one page a kind.
		m := &usher.Group{Kind: mixed[i%len(mixed)], Handle: r.handle, Name: r.name, CreatedAt: r.created, UpdatedAt: r.updated}
		mustCreateGroup(t, s, m)
		a := &usher.Application{Name: r.name, Unify: usher.ApplicationUnify{Config: "{}"}, CreatedAt: r.created, UpdatedAt: r.updated}
		if err := s.AppCreate(ctx, a); err != nil {
			t.Fatal(err)
		}
		o := &usher.Organisation{Handle: r.handle, Name: r.name, CreatedAt: r.created, UpdatedAt: r.updated}
		if err := s.OrgCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
		ids["groups"] = append(ids["groups"], g.ID)
		ids["groups of several kinds"] = append(ids["groups of several kinds"], m.ID)
		ids["applications"] = append(ids["applications"], a.ID)
		ids["organisations"] = append(ids["organisations"], o.ID)
	}
	lists := map[string]sortedList{
		"groups": {usher.GroupSorts, func(sort usher.Sort, req usher.PageRequest) ([]int64, *usher.Cursor, error) {
			p, err := s.GroupList(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupPlain}, Sort: sort, Page: req})
			ids, page, err := shape(p, err, func(g *usher.Group) int64 { return g.ID })
			return ids, page.Next, err
		}},
		"groups of several kinds": {usher.GroupSorts, func(sort usher.Sort, req usher.PageRequest) ([]int64, *usher.Cursor, error) {
			p, err := s.GroupList(ctx, usher.GroupFilter{Kinds: mixed, Sort: sort, Page: req})
			ids, page, err := shape(p, err, func(g *usher.Group) int64 { return g.ID })
			return ids, page.Next, err
		}},
		"applications": {usher.ApplicationSorts, func(sort usher.Sort, req usher.PageRequest) ([]int64, *usher.Cursor, error) {
			p, err := s.AppList(ctx, usher.ApplicationFilter{Sort: sort, Page: req})
			ids, page, err := shape(p, err, func(a *usher.Application) int64 { return a.ID })
			return ids, page.Next, err
		}},
		"organisations": {usher.OrganisationSorts, func(sort usher.Sort, req usher.PageRequest) ([]int64, *usher.Cursor, error) {
			p, err := s.OrgList(ctx, usher.OrganisationFilter{Sort: sort, Page: req})
			ids, page, err := shape(p, err, func(o *usher.Organisation) int64 { return o.ID })
			return ids, page.Next, err
		}},
	}
	return lists, ids
}

// sortedWant is the order of sortedRows, of the given ids, under sort:
// names and handles ignoring case, ties by id in the same direction.
func sortedWant(sort usher.Sort, ids []int64) []int64 {
	idx := make([]int, len(ids))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		a, b := sortedRows[i], sortedRows[j]
		var c int
		switch sort.Column() {
		case "name":
			c = cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name))
		case "handle":
			c = cmp.Compare(strings.ToLower(a.handle), strings.ToLower(b.handle))
		case "created_at":
			c = a.created.Compare(b.created)
		case "updated_at":
			c = a.updated.Compare(b.updated)
		}
		if c == 0 {
			c = cmp.Compare(ids[i], ids[j])
		}
		if sort.Desc() {
			c = -c
		}
		return c
	})
	out := make([]int64, len(idx))
	for i, k := range idx {
		out[i] = ids[k]
	}
	return out
}

func testListSorted(t *testing.T, s store.Store) {
	lists, ids := sortedLists(t, s)
	for name, l := range lists {
		for _, col := range l.columns {
			for _, sort := range []usher.Sort{usher.Sort(col), usher.Sort("-" + col)} {
				want := fmt.Sprint(sortedWant(sort, ids[name]))
				all, next, err := l.read(sort, usher.PageRequest{Limit: 100})
				if err != nil || next != nil || fmt.Sprint(all) != want {
					t.Errorf("%s by %s: %v (next %v, %v), want %s", name, sort, all, next, err, want)
					continue
				}
				// Pages of two, by cursor and by offset, cut the same list.
				var byCursor, byOffset []int64
				req := usher.PageRequest{Limit: 2}
				for pages := 0; pages < 5; pages++ {
					items, next, err := l.read(sort, req)
					if err != nil {
						t.Fatalf("%s by %s after %+v: %v", name, sort, req.After, err)
					}
					byCursor = append(byCursor, items...)
					if next == nil {
						break
					}
					req.After = next
				}
				for off := 0; off < len(ids[name]); off += 2 {
					items, _, err := l.read(sort, usher.PageRequest{Offset: off, Limit: 2})
					if err != nil {
						t.Fatalf("%s by %s at %d: %v", name, sort, off, err)
					}
					byOffset = append(byOffset, items...)
				}
				if got := fmt.Sprint(byCursor); got != want {
					t.Errorf("%s by %s, pages by cursor: %s, want %s", name, sort, got, want)
				}
				if got := fmt.Sprint(byOffset); got != want {
					t.Errorf("%s by %s, pages by offset: %s, want %s", name, sort, got, want)
				}
			}
		}
	}
	// The default is by id.
	for name, l := range lists {
		if got, _, err := l.read("", usher.PageRequest{Limit: 100}); err != nil || fmt.Sprint(got) != fmt.Sprint(ids[name]) {
			t.Errorf("%s unsorted: %v (%v), want %v", name, got, err, ids[name])
		}
	}
}

func testOrganisationQuery(t *testing.T, s store.Store) {
	ctx := context.Background()
	id := map[string]int64{}
	for i, name := range []string{"Acme", "Globex", "acme labs", "Big Acme", "100% Acme", "1000 Acme"} {
		o := &usher.Organisation{Handle: fmt.Sprintf("o%d", i), Name: name, CreatedAt: base, UpdatedAt: base}
		if err := s.OrgCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
		id[name] = o.ID
	}
	for _, tt := range []struct {
		query string
		sort  usher.Sort
		want  []string
	}{
		{"Acm", "name", []string{"Acme", "acme labs"}},
		{"ACME L", "", []string{"acme labs"}},
		{"cme", "", nil},
		{"100%", "", []string{"100% Acme"}},
		{"10_0", "", nil},
		{"", "-id", []string{"1000 Acme", "100% Acme", "Big Acme", "acme labs", "Globex", "Acme"}},
	} {
		p, err := s.OrgList(ctx, usher.OrganisationFilter{Query: tt.query, Sort: tt.sort, Page: usher.PageRequest{Limit: 10}})
		if err != nil {
			t.Fatalf("query %q: %v", tt.query, err)
		}
		var got, want []int64
		for _, o := range p.Items {
			got = append(got, o.ID)
		}
		for _, n := range tt.want {
			want = append(want, id[n])
		}
		if !equalIDs(got, want) {
			t.Errorf("query %q by %q: %v, want %v %v", tt.query, tt.sort, got, tt.want, want)
		}
	}
}
