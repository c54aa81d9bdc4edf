package core_test

import (
	"context"
	"fmt"
	"testing"

	"usher"
	"usher/core/coretest"
)

// namesOf is the names of a page's rows and its next cursor.
func namesOf[T any](p *usher.Page[T], err error, name func(T) string) ([]string, *usher.Cursor, error) {
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, v := range p.Items {
		names = append(names, name(v))
	}
	return names, p.Next, nil
}

// sortedLists reads a page of groups, applications and organisations
// under a sort, as the principal of ctx, and returns the rows' names.
func sortedLists(env *coretest.Env) map[string]func(ctx context.Context, s usher.Sort, req usher.PageRequest) ([]string, *usher.Cursor, error) {
	type page = func(ctx context.Context, s usher.Sort, req usher.PageRequest) ([]string, *usher.Cursor, error)
	return map[string]page{
		"groups": func(ctx context.Context, s usher.Sort, req usher.PageRequest) ([]string, *usher.Cursor, error) {
			p, err := env.Core.Groups.List(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupRole}, Sort: s, Page: req})
			return namesOf(p, err, func(g *usher.Group) string { return g.Name })
		},
		"applications": func(ctx context.Context, s usher.Sort, req usher.PageRequest) ([]string, *usher.Cursor, error) {
			p, err := env.Core.Apps.List(ctx, usher.ApplicationFilter{Sort: s, Page: req})
			return namesOf(p, err, func(a *usher.AllowedApplication) string { return a.Name })
		},
		"organisations": func(ctx context.Context, s usher.Sort, req usher.PageRequest) ([]string, *usher.Cursor, error) {
			p, err := env.Core.Orgs.List(ctx, usher.OrganisationFilter{Sort: s, Page: req})
			return namesOf(p, err, func(o *usher.Organisation) string { return o.Name })
		},
	}
}

// TestListSort: groups, applications and organisations sort by the
// columns each names, in pages a user without administrator rights reads
// (the core's filtered pages) as well as the system; any other sort, or a
// cursor that does not fit the sort, is refused.
func TestListSort(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{})
	sys := coretest.System()
	// The user reads the applications it owns, and every role and
	// organisation.
	u := env.MustCreateUser(t, usher.UserCreate{Username: "reader"})
	for _, name := range []string{"beta", "Alpha", "delta", "gamma"} {
		if _, err := env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "r-" + name, Name: name}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Core.Apps.Create(sys, usher.ApplicationCreate{Name: name, OwnerID: u.ID, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Core.Orgs.Create(sys, "o-"+name, name); err != nil {
			t.Fatal(err)
		}
	}
	user := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: u})

	lists := sortedLists(env)
	for _, tc := range []struct {
		sort usher.Sort
		want string
	}{
		{"", "[beta Alpha delta gamma]"},
		{"-id", "[gamma delta Alpha beta]"},
		{"name", "[Alpha beta delta gamma]"},
		{"-name", "[gamma delta beta Alpha]"},
	} {
		for list, read := range lists {
			for who, ctx := range map[string]context.Context{"system": sys, "user": user} {
				var got []string
				req := usher.PageRequest{Limit: 1}
				for range 10 {
					names, next, err := read(ctx, tc.sort, req)
					if err != nil {
						t.Fatalf("%s by %q as %s: %v", list, tc.sort, who, err)
					}
					got = append(got, names...)
					if next == nil {
						break
					}
					req.After = next
				}
				if fmt.Sprint(got) != tc.want {
					t.Errorf("%s by %q as %s, a row a page: %v, want %s", list, tc.sort, who, got, tc.want)
				}
			}
		}
	}

	for _, tc := range []struct {
		name string
		sort usher.Sort
		req  usher.PageRequest
		code string
	}{
		{"unknown column", "bogus", usher.PageRequest{}, usher.CodeInvalidParameter},
		{"a dash alone", "-", usher.PageRequest{}, usher.CodeInvalidParameter},
		{"Corteza's spelling", "id DESC", usher.PageRequest{}, usher.CodeInvalidParameter},
		{"a key on an id list", "-id", usher.PageRequest{After: &usher.Cursor{ID: 1, Key: "x"}}, usher.CodeInvalidCursor},
		{"a time key not a number", "created_at", usher.PageRequest{After: &usher.Cursor{ID: 1, Key: "x"}}, usher.CodeInvalidCursor},
		{"a name key not UTF-8", "name", usher.PageRequest{After: &usher.Cursor{ID: 1, Key: "\xff"}}, usher.CodeInvalidCursor},
	} {
		for list, read := range lists {
			_, _, err := read(sys, tc.sort, tc.req)
			if e := usher.AsError(err); err == nil || e.Kind != usher.KindInvalid || e.Code != tc.code {
				t.Errorf("%s, %s: %v; want %s", list, tc.name, err, tc.code)
			}
		}
	}
}

// TestOrganisationQuery: an organisation list keeps the organisations
// whose name starts with the query, ignoring case.
func TestOrganisationQuery(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{})
	sys := coretest.System()
	for _, name := range []string{"Acme", "Globex", "Big Acme"} {
		if _, err := env.Core.Orgs.Create(sys, "h-"+name[:3], name); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query, want string
	}{{"acm", "[Acme]"}, {"", "[Acme Globex Big Acme]"}, {"Z", "[]"}} {
		p, err := env.Core.Orgs.List(sys, usher.OrganisationFilter{Query: tc.query})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range p.Items {
			got = append(got, o.Name)
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("query %q: %v, want %s", tc.query, got, tc.want)
		}
	}
	_, err := env.Core.Orgs.List(sys, usher.OrganisationFilter{Query: "a\x00"})
	wantKind(t, err, usher.KindInvalid, usher.CodeInvalidParameter)
}
