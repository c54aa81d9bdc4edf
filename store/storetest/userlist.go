package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// seed creates users for the list tests and returns them in id order.
func seed(t *testing.T, s store.Store) []*usher.User {
	specs := []struct {
		username, email, name string
		state                 usher.UserState
		kind                  usher.UserKind
		admin, deleted        bool
	}{
		{"alice", "alice@example.com", "Alice Liddell", usher.StateActive, usher.KindNormal, true, false},
		{"bob", "bob@corp.test", "Robert Paulson", usher.StateBlocked, usher.KindNormal, false, false},
		{"carol", "carol@example.com", "Carol Danvers", usher.StateSuspended, usher.KindNormal, false, false},
		{"dave", "dave@corp.test", "David Bowman", usher.StateActive, usher.KindBot, false, false},
		{"eve", "eve@example.com", "Eve Moneypenny", usher.StateActive, usher.KindNormal, false, true},
		{"ci-bot", "", "Build Robot", usher.StateActive, usher.KindServiceAccount, false, false},
	}
	var out []*usher.User
	for i, sp := range specs {
		u := newUser(sp.username, sp.email, sp.name)
		u.State, u.Kind, u.Admin = sp.state, sp.kind, sp.admin
		u.CreatedAt = base.Add(time.Duration(i) * time.Hour)
		u.UpdatedAt = u.CreatedAt
		if sp.deleted {
			u.DeletedAt = ptr(base.Add(48 * time.Hour))
		}
		mustCreateUser(t, s, u)
		out = append(out, u)
	}
	return out
}

func usernames(p *usher.UserPage) []string {
	var out []string
	for _, u := range p.Items {
		out = append(out, u.Username)
	}
	return out
}

func list(t *testing.T, s store.Store, f usher.UserFilter) *usher.UserPage {
	t.Helper()
	p, err := s.UserList(context.Background(), f)
	if err != nil {
		t.Fatalf("UserList(%+v): %v", f, err)
	}
	return p
}

func testUserListFilters(t *testing.T, s store.Store) {
	us := seed(t, s)
	after := base.Add(2 * time.Hour)
	before := base.Add(4 * time.Hour)
	tests := []struct {
		name string
		f    usher.UserFilter
		want string
	}{
		{"default excludes deleted and suspended", usher.UserFilter{}, "[alice bob dave ci-bot]"},
		{"include both", usher.UserFilter{Deleted: usher.Include, Suspended: usher.Include}, "[alice bob carol dave eve ci-bot]"},
		{"only deleted", usher.UserFilter{Deleted: usher.Only, Suspended: usher.Include}, "[eve]"},
		{"only suspended", usher.UserFilter{Suspended: usher.Only}, "[carol]"},
		{"state", usher.UserFilter{State: usher.StateBlocked}, "[bob]"},
		{"kind", usher.UserFilter{Kind: usher.KindBot}, "[dave]"},
		{"admin", usher.UserFilter{Admin: ptr(true)}, "[alice]"},
		{"not admin", usher.UserFilter{Admin: ptr(false)}, "[bob dave ci-bot]"},
		{"username any case", usher.UserFilter{Username: "BOB"}, "[bob]"},
		{"email any case", usher.UserFilter{Email: "Dave@Corp.Test"}, "[dave]"},
		{"created range", usher.UserFilter{CreatedAfter: &after, CreatedBefore: &before, Suspended: usher.Include}, "[carol dave]"},
		{"ids", usher.UserFilter{IDs: []int64{us[0].ID, us[1].ID, us[5].ID + 99}}, "[alice bob]"},
		{"sort username desc", usher.UserFilter{Sort: usher.SortUsernameDesc}, "[dave ci-bot bob alice]"},
		{"sort id desc", usher.UserFilter{Sort: usher.SortIDDesc}, "[ci-bot dave bob alice]"},
		{"sort created desc", usher.UserFilter{Sort: usher.SortCreatedDesc}, "[ci-bot dave bob alice]"},
		{"exclude is the default", usher.UserFilter{Deleted: usher.Exclude, Suspended: usher.Exclude}, "[alice bob dave ci-bot]"},
		{"no service accounts", usher.UserFilter{Kinds: []usher.UserKind{usher.KindNormal, usher.KindBot}, Suspended: usher.Include}, "[alice bob carol dave]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(usernames(list(t, s, tt.f))); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

// testUserSeen: UserSeen records a time unless one since notBefore is
// recorded, and changes nothing else of the user, its version included.
func testUserSeen(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	steps := []struct {
		name          string
		at, notBefore time.Time
		want          time.Time
	}{
		{"first", base.Add(time.Minute), base, base.Add(time.Minute)},
		{"recent: kept", base.Add(90 * time.Second), base.Add(30 * time.Second), base.Add(time.Minute)},
		{"stale: written", base.Add(3 * time.Minute), base.Add(2 * time.Minute), base.Add(3 * time.Minute)},
	}
	for _, st := range steps {
		if err := s.UserSeen(ctx, a.ID, st.at, st.notBefore); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := mustGet(t, s, usher.UserKey{ID: a.ID})
		if got.LastSeenAt == nil || !got.LastSeenAt.Equal(st.want) || got.Version != a.Version || !got.UpdatedAt.Equal(a.UpdatedAt) {
			t.Errorf("%s: last seen %v, version %d, updated %v", st.name, got.LastSeenAt, got.Version, got.UpdatedAt)
		}
	}
	if err := s.UserSeen(ctx, a.ID+99, base, base); err != nil {
		t.Errorf("an unknown user: %v", err)
	}
}

func testUserListSearch(t *testing.T, s store.Store) {
	seed(t, s)
	tests := []struct{ q, want string }{
		{"ali", "[alice]"},            // username prefix
		{"LIDD", "[alice]"},           // name, any case
		{"corp.te", "[bob dave]"},     // e-mail
		{"v", "[dave]"},               // one character, no trigram
		{"ob", "[bob ci-bot]"},        // two characters
		{"Robert Paulson", "[bob]"},   // with a space
		{"example.com", "[alice]"},    // carol suspended, eve deleted
		{"%", "[]"},                   // LIKE wildcards are literal
		{"_", "[]"},                   //
		{`"quoted"`, "[]"},            // FTS syntax is literal
		{"a} : x", "[]"},              //
		{"nobody-matches-this", "[]"}, //
	}
	for _, tt := range tests {
		if got := fmt.Sprint(usernames(list(t, s, usher.UserFilter{Query: tt.q, SearchEmail: true}))); got != tt.want {
			t.Errorf("search %q: got %s, want %s", tt.q, got, tt.want)
		}
	}
	got := fmt.Sprint(usernames(list(t, s, usher.UserFilter{Query: "example.com", SearchEmail: true, Deleted: usher.Include, Suspended: usher.Include})))
	if got != "[alice carol eve]" {
		t.Errorf("search with deleted and suspended: %s", got)
	}
	// Without SearchEmail addresses are not searched.
	for _, tt := range []struct{ q, want string }{
		{"corp.te", "[]"}, {"co", "[]"}, {"ali", "[alice]"}, {"Robert", "[bob]"}, {"ob", "[bob ci-bot]"},
	} {
		if got := fmt.Sprint(usernames(list(t, s, usher.UserFilter{Query: tt.q}))); got != tt.want {
			t.Errorf("search %q without e-mail: got %s, want %s", tt.q, got, tt.want)
		}
	}
}

func testUserListKeyset(t *testing.T, s store.Store) {
	seed(t, s)
	for _, sort := range []usher.UserSort{usher.SortIDAsc, usher.SortIDDesc, usher.SortUsernameAsc,
		usher.SortUsernameDesc, usher.SortCreatedAsc, usher.SortCreatedDesc, usher.SortUUIDAsc, usher.SortUUIDDesc} {
		// A search pages the same way: its index may drive the statement.
		for _, tt := range []struct {
			q           string
			limit, want int
		}{{"", 4, 6}, {"example.com", 1, 3}} {
			f := usher.UserFilter{Query: tt.q, SearchEmail: true, Sort: sort, Deleted: usher.Include, Suspended: usher.Include, Page: usher.PageRequest{Limit: 100}}
			all := usernames(list(t, s, f))
			var paged []string
			f.Page.Limit = tt.limit
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatalf("%s %q: pagination does not end", sort, tt.q)
				}
				p := list(t, s, f)
				paged = append(paged, usernames(p)...)
				if p.Next == nil {
					break
				}
				f.Page.After = p.Next
			}
			if fmt.Sprint(paged) != fmt.Sprint(all) || len(all) != tt.want {
				t.Errorf("%s %q: pages give %v, one list gives %v", sort, tt.q, paged, all)
			}
		}
	}
}

func testUserListOffsetAndTotal(t *testing.T, s store.Store) {
	seed(t, s)
	p := list(t, s, usher.UserFilter{Page: usher.PageRequest{Offset: 1, Limit: 2, WithTotal: true}})
	if got := fmt.Sprint(usernames(p)); got != "[bob dave]" || p.Total != 4 || p.Next == nil {
		t.Fatalf("offset page: %s total=%d next=%v; want [bob dave] total=4 and a next page", got, p.Total, p.Next)
	}
	p = list(t, s, usher.UserFilter{Page: usher.PageRequest{Offset: 2, Limit: 2}})
	if got := fmt.Sprint(usernames(p)); got != "[dave ci-bot]" || p.Total != -1 || p.Next != nil {
		t.Fatalf("last page: %s total=%d next=%v", got, p.Total, p.Next)
	}
	// Past the end no row carries the total: it is counted all the same.
	p = list(t, s, usher.UserFilter{Page: usher.PageRequest{Offset: 10, Limit: 2, WithTotal: true}})
	if len(p.Items) != 0 || p.Total != 4 || p.Next != nil {
		t.Fatalf("past the end: %s total=%d next=%v; want [] total=4", usernames(p), p.Total, p.Next)
	}
	p = list(t, s, usher.UserFilter{Query: "example", SearchEmail: true, Page: usher.PageRequest{WithTotal: true}})
	if p.Total != 1 {
		t.Fatalf("search total = %d, want 1", p.Total)
	}
}

// testUserListBrief: a brief list holds the users, pages, cursors and
// totals of the full one, each user with the brief fields only and no
// identities; the full one holds each user's identities, whichever
// statement reads them.
func testUserListBrief(t *testing.T, s store.Store) {
	seed(t, s)
	u := newUser("frank", "frank@example.com", "Frank Example")
	u.Bio, u.Metadata, u.ExternalID = "bio", map[string]string{"team": "blue"}, "ext-frank"
	u.FirstName, u.LastName, u.Language, u.TwoFactorEnabled = "Frank", "Example", "de", true
	u.Identities = []usher.Identity{{Provider: "github", ExternUID: "42"}}
	mustCreateUser(t, s, u)
	brief := func(u *usher.User) *usher.User {
		return &usher.User{ID: u.ID, UUID: u.UUID, Username: u.Username, Email: u.Email, Name: u.Name,
			FirstName: u.FirstName, LastName: u.LastName, Language: u.Language, State: u.State, Kind: u.Kind,
			Admin: u.Admin, TwoFactorEnabled: u.TwoFactorEnabled, ExternalID: u.ExternalID,
			OrganisationID: u.OrganisationID, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
			DeletedAt: u.DeletedAt, Version: u.Version}
	}
	all := usher.PageRequest{Limit: 100}
	for _, tt := range []struct {
		name string
		f    usher.UserFilter
	}{
		{"every user", usher.UserFilter{Page: all}},
		{"with its total", usher.UserFilter{Page: usher.PageRequest{Limit: 2, WithTotal: true}}},
		{"search", usher.UserFilter{Query: "example.com", SearchEmail: true, Deleted: usher.Include, Page: all}},
		{"search of two characters", usher.UserFilter{Query: "ob", SearchEmail: true, Page: all}},
		{"search, a page of one", usher.UserFilter{Query: "example.com", SearchEmail: true, Page: usher.PageRequest{Limit: 1}}},
		{"search, by id descending", usher.UserFilter{Query: "example.com", SearchEmail: true, Sort: usher.SortIDDesc, Page: all}},
		{"search by username", usher.UserFilter{UsernameContains: "fra", Page: all}},
		{"deleted only", usher.UserFilter{Deleted: usher.Only, Page: all}},
		{"by username", usher.UserFilter{Sort: usher.SortUsernameDesc, Page: usher.PageRequest{Limit: 2}}},
		{"by creation, an offset", usher.UserFilter{Sort: usher.SortCreatedAsc, Page: usher.PageRequest{Limit: 2, Offset: 1, WithTotal: true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			full := list(t, s, tt.f)
			f := tt.f
			f.Brief = true
			got := list(t, s, f)
			if fmt.Sprint(usernames(got)) != fmt.Sprint(usernames(full)) || got.Total != full.Total ||
				fmt.Sprint(got.Next) != fmt.Sprint(full.Next) || len(got.Items) == 0 {
				t.Fatalf("brief %v total %d next %v; full %v total %d next %v", usernames(got), got.Total, got.Next,
					usernames(full), full.Total, full.Next)
			}
			for i, u := range got.Items {
				if want := brief(full.Items[i]); fmt.Sprintf("%+v", *u) != fmt.Sprintf("%+v", *want) {
					t.Errorf("brief user:\n got %+v\nwant %+v", *u, *want)
				}
				if want := mustGet(t, s, usher.UserKey{ID: u.ID}).Identities; fmt.Sprint(full.Items[i].Identities) != fmt.Sprint(want) {
					t.Errorf("%s's identities in the list: %v, want %v", u.Username, full.Items[i].Identities, want)
				}
			}
		})
	}
}

// testUserListSortedSearchMany: a search sorted other than by id that
// matches more users than a page's sort should read (SQLite walks the
// order's index then, the search a condition on each user) pages as the
// list of every user does, by cursor and by offset, with ties, deleted
// and suspended users among them and users it does not match between.
func testUserListSortedSearchMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	var users []*usher.User
	for i := range 3200 {
		name := fmt.Sprintf("walker-%04d", i)
		if i%8 == 7 {
			name = fmt.Sprintf("other-%04d", i)
		}
		u := newUser(name, "", "")
		u.CreatedAt = base.Add(time.Duration(i*7919%600) * time.Minute)
		switch {
		case i%13 == 0:
			u.DeletedAt = &u.CreatedAt
		case i%17 == 0:
			u.State, u.SuspendedAt = usher.StateSuspended, &u.CreatedAt
		}
		users = append(users, u)
	}
	if err := s.UserCreateMany(ctx, users, make([]string, len(users))); err != nil {
		t.Fatal(err)
	}
	for _, sort := range []usher.UserSort{usher.SortUsernameAsc, usher.SortUsernameDesc, usher.SortCreatedAsc,
		usher.SortCreatedDesc, usher.SortUUIDAsc, usher.SortUUIDDesc} {
		var want []string
		for _, name := range usernames(list(t, s, usher.UserFilter{Sort: sort})) {
			if strings.HasPrefix(name, "walker-") {
				want = append(want, name)
			}
		}
		f := usher.UserFilter{Query: "alker", Sort: sort, Page: usher.PageRequest{Limit: 97}}
		var paged []string
		for pages := 0; ; pages++ {
			if pages > 40 {
				t.Fatalf("%s: pagination does not end", sort)
			}
			p := list(t, s, f)
			paged = append(paged, usernames(p)...)
			if p.Next == nil {
				break
			}
			f.Page.After = p.Next
		}
		if len(want) < 2300 || fmt.Sprint(paged) != fmt.Sprint(want) {
			t.Errorf("%s: the search's %d pages' users differ from the %d of every user's list", sort, len(paged), len(want))
		}
		at := list(t, s, usher.UserFilter{Query: "alker", Sort: sort, Page: usher.PageRequest{Offset: 1000, Limit: 5}})
		if got := usernames(at); fmt.Sprint(got) != fmt.Sprint(want[1000:1005]) {
			t.Errorf("%s at offset 1000: %v, want %v", sort, got, want[1000:1005])
		}
	}
}

// testUserListUncommon: a page of users of an uncommon value —
// administrators, a state other than active, kinds other than normal —
// pages as the list of every user does, in every order, whether there are
// few of them (read through their own index: uncommonIndex) or more than
// a walk of the order's index should pass (SQLite: 2,000), with deleted,
// suspended and ordinary users between them.
func testUserListUncommon(t *testing.T, s store.Store) {
	ctx := context.Background()
	var users []*usher.User
	for i := range 3200 {
		u := newUser(fmt.Sprintf("user-%04d", i*7919%3200), "", "")
		u.CreatedAt = base.Add(time.Duration(i*104729%700) * time.Minute)
		switch {
		case i%23 == 0:
			u.DeletedAt = &u.CreatedAt
			u.Admin = i%2 == 0
		case i%19 == 0:
			u.State, u.SuspendedAt = usher.StateSuspended, &u.CreatedAt
		case i%4 != 0:
			u.State = usher.StateBlocked
		}
		u.Admin = u.Admin || i%41 == 0
		if i%9 == 0 {
			u.Kind = usher.KindBot
		} else if i%50 == 1 {
			u.Kind = usher.KindServiceAccount
		}
		users = append(users, u)
	}
	if err := s.UserCreateMany(ctx, users, make([]string, len(users))); err != nil {
		t.Fatal(err)
	}
	yes := true
	filters := []struct {
		name string
		f    usher.UserFilter
		keep func(u *usher.User) bool
	}{
		{"administrators", usher.UserFilter{Admin: &yes}, func(u *usher.User) bool { return u.Admin }},
		{"blocked, more than a walk passes", usher.UserFilter{State: usher.StateBlocked}, func(u *usher.User) bool { return u.State == usher.StateBlocked }},
		{"suspended", usher.UserFilter{Suspended: usher.Only}, func(u *usher.User) bool { return u.State == usher.StateSuspended }},
		{"bots", usher.UserFilter{Kind: usher.KindBot}, func(u *usher.User) bool { return u.Kind == usher.KindBot }},
		{"bots and service accounts", usher.UserFilter{Kinds: []usher.UserKind{usher.KindBot, usher.KindServiceAccount}},
			func(u *usher.User) bool { return u.Kind != usher.KindNormal }},
		{"blocked administrators", usher.UserFilter{Admin: &yes, State: usher.StateBlocked},
			func(u *usher.User) bool { return u.Admin && u.State == usher.StateBlocked }},
	}
	for _, sort := range []usher.UserSort{usher.SortIDAsc, usher.SortIDDesc, usher.SortUsernameAsc, usher.SortUsernameDesc,
		usher.SortCreatedAsc, usher.SortCreatedDesc, usher.SortUUIDAsc, usher.SortUUIDDesc} {
		every := list(t, s, usher.UserFilter{Sort: sort, Suspended: usher.Include})
		for _, tt := range filters {
			var want []string
			for _, u := range every.Items {
				if tt.keep(u) {
					want = append(want, u.Username)
				}
			}
			f := tt.f
			f.Sort, f.Page = sort, usher.PageRequest{Limit: 37}
			if f.Suspended == usher.Default {
				f.Suspended = usher.Include
			}
			var paged []string
			for pages := 0; ; pages++ {
				if pages > 80 {
					t.Fatalf("%s by %s: pagination does not end", tt.name, sort)
				}
				p := list(t, s, f)
				paged = append(paged, usernames(p)...)
				if p.Next == nil {
					break
				}
				f.Page.After = p.Next
			}
			if len(want) == 0 || fmt.Sprint(paged) != fmt.Sprint(want) {
				t.Errorf("%s by %s: %d users paged, want the %d of every user's list", tt.name, sort, len(paged), len(want))
			}
		}
	}
}
