package core_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// pageBundle is a core whose policy pages by 3 by default and by 5 at most,
// with seven users, seven groups and seven organisations.
type pageBundle struct {
	env  *coretest.Env
	ctx  context.Context
	team *usher.Group
}

func setupPages(t *testing.T) *pageBundle {
	t.Helper()
	env := coretest.New(t, coretest.Options{Policy: core.Policy{DefaultPageSize: 3, MaxPageSize: 5}})
	b := &pageBundle{env: env, ctx: coretest.System()}
	for i := range 7 {
		env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("pager-%d", i)})
		if _, err := env.Core.Groups.Create(b.ctx, usher.GroupCreate{Kind: usher.GroupPlain, Handle: fmt.Sprintf("g%d", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Core.Orgs.Create(b.ctx, fmt.Sprintf("org%d", i), "Org"); err != nil {
			t.Fatal(err)
		}
	}
	team, err := env.Core.Groups.Create(b.ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "crew"})
	if err != nil {
		t.Fatal(err)
	}
	b.team = team
	return b
}

// lists reads one page of each list the core pages, as the system.
func (b *pageBundle) lists(t *testing.T, req usher.PageRequest) map[string]func() (n int, next *usher.Cursor, total, limit int, err error) {
	t.Helper()
	type result = func() (int, *usher.Cursor, int, int, error)
	of := func(n int, next *usher.Cursor, total, limit int) (int, *usher.Cursor, int, int, error) {
		return n, next, total, limit, nil
	}
	return map[string]result{
		"users": func() (int, *usher.Cursor, int, int, error) {
			p, err := b.env.Core.Users.List(b.ctx, usher.UserFilter{Query: "pager", Page: req})
			if err != nil {
				return 0, nil, 0, 0, err
			}
			return of(len(p.Items), p.Next, p.Total, p.Limit)
		},
		"groups": func() (int, *usher.Cursor, int, int, error) {
			p, err := b.env.Core.Groups.List(b.ctx, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupPlain}, Page: req})
			if err != nil {
				return 0, nil, 0, 0, err
			}
			return of(len(p.Items), p.Next, p.Total, p.Limit)
		},
		"organisations": func() (int, *usher.Cursor, int, int, error) {
			p, err := b.env.Core.Orgs.List(b.ctx, usher.OrganisationFilter{Page: req})
			if err != nil {
				return 0, nil, 0, 0, err
			}
			return of(len(p.Items), p.Next, p.Total, p.Limit)
		},
		"audit": func() (int, *usher.Cursor, int, int, error) {
			p, err := b.env.Core.Audit.List(b.ctx, usher.AuditFilter{Action: "group.create", Page: req})
			if err != nil {
				return 0, nil, 0, 0, err
			}
			return of(len(p.Items), p.Next, p.Total, p.Limit)
		},
	}
}

// TestPageLimit: every list takes the policy's default page size when no
// limit is asked, the limit asked for up to the policy's maximum, and the
// maximum past it; a page says which it used.
func TestPageLimit(t *testing.T) {
	t.Parallel()
	b := setupPages(t)
	for name, tt := range map[string]struct{ limit, want int }{
		"default": {0, 3},
		"asked":   {4, 4},
		"maximum": {5, 5},
		"capped":  {50, 5},
	} {
		for list, read := range b.lists(t, usher.PageRequest{Limit: tt.limit}) {
			n, next, total, limit, err := read()
			if err != nil || n != tt.want || limit != tt.want || next == nil || total != -1 {
				t.Errorf("%s %s: %d rows, limit %d, next %v, total %d, %v; want %d rows, a next page and no total",
					name, list, n, limit, next, total, err, tt.want)
			}
		}
	}
}

// TestPageTotal: every list counts its rows when asked.
func TestPageTotal(t *testing.T) {
	t.Parallel()
	b := setupPages(t)
	for list, read := range b.lists(t, usher.PageRequest{WithTotal: true}) {
		_, _, total, _, err := read()
		want := 7
		if list == "audit" {
			want = 8 // the team's creation too
		}
		if err != nil || total != want {
			t.Errorf("%s with a total: %d, %v; want %d", list, total, err, want)
		}
	}
}

// TestPageLastFull: a last page that is exactly full has no next page.
func TestPageLastFull(t *testing.T) {
	t.Parallel()
	b := setupPages(t)
	p, err := b.env.Core.Users.List(b.ctx, usher.UserFilter{Query: "pager", Page: usher.PageRequest{Limit: 4}})
	if err != nil || p.Next == nil {
		t.Fatalf("first page: %+v, %v", p, err)
	}
	p, err = b.env.Core.Users.List(b.ctx, usher.UserFilter{Query: "pager", Page: usher.PageRequest{Limit: 3, After: p.Next}})
	if err != nil || len(p.Items) != 3 || p.Next != nil {
		t.Fatalf("the full last page: %d users, next %v, %v", len(p.Items), p.Next, err)
	}
}

// TestPageCursorRefused: a cursor no list gave out is Invalid with
// invalid_cursor, on every list.
func TestPageCursorRefused(t *testing.T) {
	t.Parallel()
	b := setupPages(t)
	for name, c := range map[string]usher.Cursor{"no row": {ID: 0}, "negative": {ID: -4}, "a key on an id list": {ID: 1, Key: "x"}} {
		for list, read := range b.lists(t, usher.PageRequest{After: &c}) {
			if _, _, _, _, err := read(); usher.AsError(err).Code != usher.CodeInvalidCursor {
				t.Errorf("%s, %s: %v; want %s", list, name, err, usher.CodeInvalidCursor)
			}
		}
	}
	_, err := b.env.Core.Users.List(b.ctx, usher.UserFilter{Sort: usher.SortCreatedAsc, Page: usher.PageRequest{After: &usher.Cursor{ID: 1, Key: "x"}}})
	wantKind(t, err, usher.KindInvalid, usher.CodeInvalidCursor)
	_, err = b.env.Core.Groups.Members(b.ctx, usher.GroupRef{ID: b.team.ID}, usher.PageRequest{After: &usher.Cursor{ID: -1}})
	wantKind(t, err, usher.KindInvalid, usher.CodeInvalidCursor)
	_, err = b.env.Core.Groups.ServiceAccounts(b.ctx, usher.GroupRef{ID: b.team.ID}, usher.PageRequest{After: &usher.Cursor{ID: -1}})
	wantKind(t, err, usher.KindInvalid, usher.CodeInvalidCursor)
}

// TestPageContinuity: paging on from a cursor while rows are added between
// pages loses and repeats no row. A row added before the cursor is not
// shown (the page it belongs on has been read); one added after it is.
func TestPageContinuity(t *testing.T) {
	t.Parallel()
	b := setupPages(t)
	ctx := b.ctx
	add := func(name string) *usher.User {
		return b.env.MustCreateUser(t, usher.UserCreate{Username: name})
	}

	t.Run("users by username", func(t *testing.T) {
		for _, n := range []string{"cont-b0", "cont-b2", "cont-b4", "cont-b6", "cont-b8"} {
			add(n)
		}
		// Between pages, one name sorts before the cursor and one after.
		between := [][2]string{{"cont-a1", "cont-b5"}, {"cont-b3", "cont-b9"}, {"cont-a0", "cont-c0"}}
		f := usher.UserFilter{Query: "cont-", Sort: usher.SortUsernameAsc, Page: usher.PageRequest{Limit: 2}}
		var got []string
		for i := 0; ; i++ {
			p, err := b.env.Core.Users.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Items {
				got = append(got, u.Username)
			}
			if p.Next == nil {
				break
			}
			if i < len(between) {
				add(between[i][0])
				add(between[i][1])
			}
			f.Page.After = p.Next
		}
		want := []string{"cont-b0", "cont-b2", "cont-b4", "cont-b5", "cont-b6", "cont-b8", "cont-b9", "cont-c0"}
		if !slices.Equal(got, want) {
			t.Fatalf("pages give %v, want %v", got, want)
		}
	})

	t.Run("members", func(t *testing.T) {
		join := func(name string) {
			u := add(name)
			if _, err := b.env.Core.Groups.AddMember(ctx, usher.GroupRef{ID: b.team.ID}, usher.UserKey{ID: u.ID}, usher.LevelRead); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 4 {
			join(fmt.Sprintf("member-%d", i))
		}
		list := func(req usher.PageRequest) (*usher.Page[*usher.Membership], error) {
			return b.env.Core.Groups.Members(ctx, usher.GroupRef{ID: b.team.ID}, req)
		}
		ids := func(ms []*usher.Membership) (out []int64) {
			for _, m := range ms {
				out = append(out, m.UserID)
			}
			return out
		}
		// Members who join between pages have larger ids: each shows once,
		// at the end, as a list read afterwards shows them.
		i := 0
		got := ids(mustPages(t, list, func() { join(fmt.Sprintf("late-%d", i)); i++ }))
		want := ids(mustPages(t, list, nil))
		if i == 0 || !slices.Equal(got, want) {
			t.Fatalf("%d joined between pages; pages give %v, want %v", i, got, want)
		}
	})

	t.Run("audit newest first", func(t *testing.T) {
		list := func(req usher.PageRequest) (*usher.Page[*usher.AuditEvent], error) {
			return b.env.Core.Audit.List(ctx, usher.AuditFilter{Action: "user.create", Page: req})
		}
		var want, got []int64
		for _, e := range mustPages(t, list, nil) {
			want = append(want, e.ID)
		}
		// Events written between pages are newer than every cursor: none
		// shows, and none that was there is lost or repeated.
		i := 0
		for _, e := range mustPages(t, list, func() { add(fmt.Sprintf("audit-%d", i)); i++ }) {
			got = append(got, e.ID)
		}
		if i == 0 || !slices.Equal(got, want) {
			t.Fatalf("%d events added between pages; pages give %v, want %v", i, got, want)
		}
	})
}

// mustPages reads every page of a list at the default size, calling
// between (when set) after each page that has a next.
func mustPages[T any](t *testing.T, list func(usher.PageRequest) (*usher.Page[T], error), between func()) []T {
	t.Helper()
	var out []T
	var req usher.PageRequest
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		p, err := list(req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.Next == nil {
			return out
		}
		if between != nil {
			between()
		}
		req.After = p.Next
	}
}

// TestPageServiceAccounts: a team's service accounts page like every list,
// however many people stand between them among the team's members.
func TestPageServiceAccounts(t *testing.T) {
	t.Parallel()
	b := setupPages(t)
	var want []string
	for i := range 4 {
		name := fmt.Sprintf("bot-%d", i)
		if _, err := b.env.Core.Groups.CreateServiceAccount(b.ctx, usher.GroupRef{ID: b.team.ID}, name, name); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
		u := b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("person-%d", i)})
		if _, err := b.env.Core.Groups.AddMember(b.ctx, usher.GroupRef{ID: b.team.ID}, usher.UserKey{ID: u.ID}, usher.LevelRead); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	pages := 0
	for _, u := range mustPages(t, func(req usher.PageRequest) (*usher.Page[*usher.User], error) {
		return b.env.Core.Groups.ServiceAccounts(b.ctx, usher.GroupRef{ID: b.team.ID}, req)
	}, func() { pages++ }) {
		got = append(got, u.Username)
	}
	if pages != 1 || !slices.Equal(got, want) {
		t.Fatalf("%d pages give %v, want 2 pages of %v", pages+1, got, want)
	}
}
