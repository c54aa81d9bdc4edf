// Package storetest is the conformance suite of the store contract. Every
// backend runs it from its own tests:
//
//	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//
// The open function returns a migrated, empty store that the test owns.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// Run runs every conformance case against stores made by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"UserRoundTrip", testUserRoundTrip},
		{"UserLookups", testUserLookups},
		{"UserUniqueCaseInsensitive", testUserUnique},
		{"UserDeletedFreesNames", testUserDeletedFreesNames},
		{"UserUpdate", testUserUpdate},
		{"UserUpdateConflict", testUserUpdateConflict},
		{"UserCredentialsSince", testUserCredentialsSince},
		{"UserListFilters", testUserListFilters},
		{"UserSeen", testUserSeen},
		{"UserListSearch", testUserListSearch},
		{"UserListContains", testUserListContains},
		{"UserListKinds", testUserListKinds},
		{"UserConflictFields", testUserConflictFields},
		{"UserListKeyset", testUserListKeyset},
		{"UserListOffsetAndTotal", testUserListOffsetAndTotal},
		{"AnalyzeKeepsResults", testAnalyzeKeepsResults},
		{"UserCreateMany", testUserCreateMany},
		{"Changes", testChanges},
		{"Ready", testReady},
		{"UserPurgeCascades", testUserPurgeCascades},
		{"Identities", testIdentities},
		{"Passwords", testPasswords},
		{"Tokens", testTokens},
		{"Audit", testAudit},
		{"TxRollback", testTxRollback},
		{"Codes", testCodes},
		{"CodeUsedOnce", testCodeUsedOnce},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"Throttles", testThrottles},
		{"SigningKeys", testSigningKeys},
		{"EmailClaims", testEmailClaims},
		{"UnconfirmedEmails", testUnconfirmedEmails},
		{"SSHKeys", testSSHKeys},
		{"Groups", testGroups},
		{"Memberships", testMemberships},
		{"MembershipsOf", testMembershipsOf},
		{"Rules", testRules},
		{"Plans", testPlans},
		{"Organisations", testOrganisations},
		{"SettingsAndAvatars", testSettingsAndAvatars},
		{"ConcurrentUniqueCreates", testConcurrentUniqueCreates},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// base is a fixed time with microsecond precision, the precision of both
// backends.
var base = time.Date(2024, 3, 1, 12, 30, 45, 123456000, time.UTC)

var uuidSeq struct {
	sync.Mutex
	n int
}

func newUUID() string {
	uuidSeq.Lock()
	defer uuidSeq.Unlock()
	uuidSeq.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", uuidSeq.n)
}

// newUser returns a user ready to insert.
func newUser(username, email, name string) *usher.User {
	return &usher.User{
		UUID: newUUID(), Username: username, Email: email, Name: name,
		State: usher.StateActive, Kind: usher.KindNormal, CanCreateGroup: true,
		ThemeID: 1, ColorSchemeID: 1, Language: "en",
		CreatedAt: base, UpdatedAt: base,
	}
}

func mustCreateUser(t *testing.T, s store.Store, u *usher.User) *usher.User {
	t.Helper()
	if err := s.UserCreate(context.Background(), u, ""); err != nil {
		t.Fatalf("UserCreate(%s): %v", u.Username, err)
	}
	return u
}

func mustGet(t *testing.T, s store.Store, key usher.UserKey) *usher.User {
	t.Helper()
	u, err := s.UserGet(context.Background(), key)
	if err != nil {
		t.Fatalf("UserGet(%+v): %v", key, err)
	}
	return u
}

func wantUnique(t *testing.T, err error, field string) {
	t.Helper()
	var ue *usher.UniqueError
	if !errors.As(err, &ue) || !errors.Is(err, usher.ErrExists) {
		t.Fatalf("err = %v, want a UniqueError on %s", err, field)
	}
	if ue.Field != field {
		t.Fatalf("UniqueError.Field = %q, want %q", ue.Field, field)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func ptr[T any](v T) *T { return &v }

func testUserRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	confirmed := base.Add(time.Hour)
	u := newUser("john_smith", "John@Example.com", "John Smith")
	u.FirstName, u.LastName, u.DisplayName, u.Handle = "John", "Smith", "Johnny", "jsmith"
	u.Bio, u.Location, u.Skype, u.LinkedIn, u.Twitter, u.WebsiteURL = "bio", "Berlin", "sk", "li", "tw", "https://example.com"
	u.Admin, u.External, u.CanCreateGroup, u.TwoFactorEnabled = true, true, false, true
	u.ProjectsLimit, u.ThemeID, u.ColorSchemeID = 100, 2, 3
	u.ExternalID = "ext-1"
	u.Metadata = map[string]string{"team": "blue"}
	u.Kind = usher.KindBot
	u.EmailConfirmedAt = &confirmed
	u.Identities = []usher.Identity{{Provider: "github", ExternUID: "2435223452345"}, {Provider: "bitbucket", ExternUID: "john.smith"}}
	mustCreateUser(t, s, u)
	if u.ID == 0 || u.Version != 1 {
		t.Fatalf("after create: ID=%d Version=%d, want an id and version 1", u.ID, u.Version)
	}
	got := mustGet(t, s, usher.UserKey{ID: u.ID})
	sort.Slice(got.Identities, func(i, j int) bool { return got.Identities[i].Provider > got.Identities[j].Provider })
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *u) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", *got, *u)
	}
	if !got.CreatedAt.Equal(base) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, want %v in UTC", got.CreatedAt, base)
	}
	n, err := s.UserCount(ctx)
	if err != nil || n != 1 {
		t.Fatalf("UserCount = %d, %v; want 1", n, err)
	}
	_, err = s.UserGet(ctx, usher.UserKey{ID: u.ID + 1000})
	wantNotFound(t, err)
	_, err = s.UserGet(ctx, usher.UserKey{})
	wantNotFound(t, err)
}

// testUserCredentialsSince keeps when a user's credentials last ended, and
// clears it.
func testUserCredentialsSince(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mustCreateUser(t, s, newUser("ended", "", ""))
	if got := mustGet(t, s, usher.UserKey{ID: u.ID}); got.CredentialsSince != nil {
		t.Fatalf("a new user's CredentialsSince = %v", got.CredentialsSince)
	}
	since := base.Add(time.Minute)
	for _, want := range []*time.Time{&since, nil} {
		if _, err := s.UserUpdate(ctx, u.ID, func(u *usher.User) error { u.CredentialsSince = want; return nil }); err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, s, usher.UserKey{ID: u.ID}).CredentialsSince
		if (got == nil) != (want == nil) || (got != nil && (!got.Equal(*want) || got.Location() != time.UTC)) {
			t.Fatalf("CredentialsSince = %v, want %v", got, want)
		}
	}
	many := newUser("many", "", "")
	many.CredentialsSince = &since
	if err := s.UserCreateMany(ctx, []*usher.User{many}, []string{""}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, usher.UserKey{ID: many.ID}).CredentialsSince; got == nil || !got.Equal(since) {
		t.Fatalf("CredentialsSince of a user created in bulk = %v", got)
	}
}

func testUserLookups(t *testing.T, s store.Store) {
	u := newUser("Alice", "Alice@Example.com", "Alice A")
	u.ExternalID = "ext-alice"
	mustCreateUser(t, s, u)
	u.Identities = nil
	if err := s.IdentitySet(context.Background(), u.ID, usher.Identity{Provider: "github", ExternUID: "42"}, base); err != nil {
		t.Fatal(err)
	}
	for _, key := range []usher.UserKey{
		{ID: u.ID}, {Username: "alice"}, {Username: "ALICE"}, {Email: "alice@example.COM"},
		{UUID: u.UUID}, {ExternalID: "ext-alice"}, {Provider: "github", ExternUID: "42"},
	} {
		if got := mustGet(t, s, key); got.ID != u.ID {
			t.Errorf("UserGet(%+v).ID = %d, want %d", key, got.ID, u.ID)
		}
	}
	for _, key := range []usher.UserKey{{Username: "alicia"}, {Provider: "github", ExternUID: "43"}, {Provider: "gitlab", ExternUID: "42"}, {Provider: "github"}} {
		_, err := s.UserGet(context.Background(), key)
		wantNotFound(t, err)
	}
}

func testUserUnique(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newUser("Alice", "alice@example.com", "")
	a.ExternalID = "x1"
	mustCreateUser(t, s, a)
	tests := []struct {
		name  string
		user  *usher.User
		field string
	}{
		{"username differs in case", newUser("alice", "other@example.com", ""), "username"},
		{"email differs in case", newUser("bob", "ALICE@example.com", ""), "email"},
		{"external id", func() *usher.User { u := newUser("carol", "c@example.com", ""); u.ExternalID = "x1"; return u }(), "external_id"},
		{"uuid", func() *usher.User { u := newUser("dave", "d@example.com", ""); u.UUID = a.UUID; return u }(), "uuid"},
	}
	for _, tt := range tests {
		wantUnique(t, s.UserCreate(ctx, tt.user, ""), tt.field)
	}
	// Users without an e-mail do not collide with each other.
	mustCreateUser(t, s, newUser("svc-1", "", ""))
	mustCreateUser(t, s, newUser("svc-2", "", ""))
	n, _ := s.UserCount(ctx)
	if n != 3 {
		t.Fatalf("UserCount = %d, want 3 (failed inserts must leave nothing)", n)
	}
}

func testUserDeletedFreesNames(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	deleted := base.Add(time.Minute)
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = &deleted; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err := s.UserGet(ctx, usher.UserKey{Username: "alice"})
	wantNotFound(t, err)
	if got := mustGet(t, s, usher.UserKey{ID: a.ID}); got.DeletedAt == nil || !got.DeletedAt.Equal(deleted) {
		t.Fatalf("deleted user by id: DeletedAt = %v, want %v", got.DeletedAt, deleted)
	}
	b := mustCreateUser(t, s, newUser("Alice", "ALICE@example.com", ""))
	// Undeleting the first one now collides.
	_, err = s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = nil; return nil })
	wantUnique(t, err, "username")
	if got := mustGet(t, s, usher.UserKey{Username: "alice"}); got.ID != b.ID {
		t.Fatalf("alice is %d, want %d", got.ID, b.ID)
	}
}

func testUserUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", "Alice"))
	later := base.Add(time.Hour)
	got, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error {
		u.Name, u.Email, u.State, u.UpdatedAt = "Alice B", "alice.b@example.com", usher.StateBlocked, later
		u.Metadata = map[string]string{"k": "v"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Name != "Alice B" || got.State != usher.StateBlocked {
		t.Fatalf("returned %+v, want version 2, the new name and state", got)
	}
	again := mustGet(t, s, usher.UserKey{Email: "Alice.B@example.com"})
	if again.Version != 2 || !again.UpdatedAt.Equal(later) || again.Metadata["k"] != "v" || !again.CreatedAt.Equal(base) {
		t.Fatalf("stored %+v", again)
	}
	// An error from fn writes nothing.
	boom := errors.New("boom")
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Name = "x"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got := mustGet(t, s, usher.UserKey{ID: a.ID}); got.Name != "Alice B" || got.Version != 2 {
		t.Fatalf("after failed update: %+v", got)
	}
	_, err = s.UserUpdate(ctx, a.ID+99, func(u *usher.User) error { return nil })
	wantNotFound(t, err)
}

func testUserUpdateConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	b := mustCreateUser(t, s, newUser("bob", "bob@example.com", ""))
	_, err := s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Username = "ALICE"; return nil })
	wantUnique(t, err, "username")
	_, err = s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Email = "Alice@Example.com"; return nil })
	wantUnique(t, err, "email")
	// Keeping one's own name is no conflict.
	if _, err := s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Username = "Bob"; return nil }); err != nil {
		t.Fatal(err)
	}
}

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
	p := list(t, s, usher.UserFilter{Offset: 1, Page: usher.PageRequest{Limit: 2, WithTotal: true}})
	if got := fmt.Sprint(usernames(p)); got != "[bob dave]" || p.Total != 4 || p.Next == nil {
		t.Fatalf("offset page: %s total=%d next=%v; want [bob dave] total=4 and a next page", got, p.Total, p.Next)
	}
	p = list(t, s, usher.UserFilter{Offset: 2, Page: usher.PageRequest{Limit: 2}})
	if got := fmt.Sprint(usernames(p)); got != "[dave ci-bot]" || p.Total != -1 || p.Next != nil {
		t.Fatalf("last page: %s total=%d next=%v", got, p.Total, p.Next)
	}
	p = list(t, s, usher.UserFilter{Query: "example", SearchEmail: true, Page: usher.PageRequest{WithTotal: true}})
	if p.Total != 1 {
		t.Fatalf("search total = %d, want 1", p.Total)
	}
}

// testUserCreateMany: many users at once get their ids, passwords and
// search entries; one that collides keeps them all out.
func testUserCreateMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	seed(t, s)
	var users []*usher.User
	var hashes []string
	for i := range 450 { // more than one statement's worth
		users = append(users, newUser(fmt.Sprintf("bulk%03d", i), fmt.Sprintf("bulk%03d@many.test", i), "Bulk Person"))
		hashes = append(hashes, map[bool]string{true: fmt.Sprintf("hash-%d", i)}[i%2 == 0])
	}
	if err := s.UserCreateMany(ctx, users, hashes); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 401, 449} {
		got, err := s.UserGet(ctx, usher.UserKey{ID: users[i].ID})
		if err != nil || got.Username != users[i].Username || got.Email != users[i].Email {
			t.Fatalf("user %d: %+v, %v", i, got, err)
		}
		hash, err := s.PasswordGet(ctx, users[i].ID)
		if want := hashes[i]; hash != want || (want == "" && !errors.Is(err, usher.ErrNotFound)) {
			t.Fatalf("user %d: password %q, %v; want %q", i, hash, err, want)
		}
	}
	p := list(t, s, usher.UserFilter{Query: "bulk44", Page: usher.PageRequest{WithTotal: true}})
	if p.Total != 10 {
		t.Fatalf("search finds %d of the new users, want 10", p.Total)
	}
	clash := []*usher.User{newUser("fresh1", "", ""), newUser("ALICE", "", ""), newUser("fresh2", "", "")}
	err := s.UserCreateMany(ctx, clash, make([]string, 3))
	if !errors.Is(err, usher.ErrExists) {
		t.Fatalf("a taken username: %v", err)
	}
	if _, err := s.UserGet(ctx, usher.UserKey{Username: "fresh1"}); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("a failed UserCreateMany wrote fresh1: %v", err)
	}
}

// testChanges: the count of changes grows with each committed write, in a
// transaction or not, and not with a rolled-back one or a token's touch.
func testChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	tok := &usher.Token{Kind: usher.TokenPersonal, UserID: a.ID, Hint: "usp_x", Hash: []byte("h1"), CreatedAt: base}
	if err := s.TokenCreate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		write func() error
		grows bool
	}{
		{"revoke outside a transaction", func() error {
			_, err := s.TokenRevoke(ctx, store.TokenFilter{ID: tok.ID}, base)
			return err
		}, true},
		{"update in a transaction", func() error {
			return s.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Name = "Alice"; return nil })
				return err
			})
		}, true},
		{"rolled back", func() error {
			err := s.InTx(ctx, func(tx store.Tx) error {
				if _, err := tx.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Name = "Not Alice"; return nil }); err != nil {
					return err
				}
				return errors.New("roll back")
			})
			if err == nil {
				return errors.New("the transaction committed")
			}
			return nil
		}, false},
		{"touch", func() error { return s.TokenTouch(ctx, tok.ID, base.Add(time.Hour), base) }, false},
		{"seen", func() error { return s.UserSeen(ctx, a.ID, base.Add(time.Hour), base) }, false},
		{"readiness check", func() error { return s.Ready(ctx) }, false},
	}
	for _, st := range steps {
		before := s.Changes()
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if grew := s.Changes() > before; grew != st.grows {
			t.Errorf("%s: the count grew: %v, want %v", st.name, grew, st.grows)
		}
	}
}

// testReady: a migrated store that takes writes is ready, again and again
// and from several callers at once, and the check's write is no change
// that Changes counts or a reader sees.
func testReady(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	before := s.Changes()
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- s.Ready(ctx) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("Ready: %v", err)
		}
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready again: %v", err)
	}
	if after := s.Changes(); after != before {
		t.Errorf("Ready counted as %d changes", after-before)
	}
	if n, err := s.UserCount(ctx); err != nil || n != 1 {
		t.Errorf("users after Ready: %d, %v", n, err)
	}
}

// testAnalyzeKeepsResults: refreshing the statistics works and changes no
// answer.
func testAnalyzeKeepsResults(t *testing.T, s store.Store) {
	seed(t, s)
	f := usher.UserFilter{Query: "example.com", SearchEmail: true, Deleted: usher.Include, Suspended: usher.Include}
	before := fmt.Sprint(usernames(list(t, s, f)))
	if err := s.Analyze(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := fmt.Sprint(usernames(list(t, s, f))); after != before || before != "[alice carol eve]" {
		t.Fatalf("search before analyze %s, after %s", before, after)
	}
}

func testUserPurgeCascades(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newUser("alice", "alice@example.com", "")
	a.Identities = []usher.Identity{{Provider: "github", ExternUID: "1"}}
	if err := s.UserCreate(ctx, a, "hash"); err != nil {
		t.Fatal(err)
	}
	tok := &usher.Token{Kind: usher.TokenPersonal, UserID: a.ID, Hint: "usp_x", Hash: []byte("h1"), CreatedAt: base}
	if err := s.TokenCreate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.UserPurge(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.UserGet(ctx, usher.UserKey{ID: a.ID})
	wantNotFound(t, err)
	_, err = s.TokenByHash(ctx, []byte("h1"))
	wantNotFound(t, err)
	_, err = s.PasswordGet(ctx, a.ID)
	wantNotFound(t, err)
	wantNotFound(t, s.UserPurge(ctx, a.ID))
	// The identity is free again.
	b := newUser("bob", "", "")
	b.Identities = []usher.Identity{{Provider: "github", ExternUID: "1"}}
	mustCreateUser(t, s, b)
}

func testIdentities(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	b := mustCreateUser(t, s, newUser("bob", "", ""))
	if err := s.IdentitySet(ctx, a.ID, usher.Identity{Provider: "github", ExternUID: "1"}, base); err != nil {
		t.Fatal(err)
	}
	// Replacing one's identity at the same provider.
	if err := s.IdentitySet(ctx, a.ID, usher.Identity{Provider: "github", ExternUID: "2"}, base); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, usher.UserKey{ID: a.ID}).Identities; fmt.Sprint(got) != "[{github 2}]" {
		t.Fatalf("identities = %v", got)
	}
	wantUnique(t, s.IdentitySet(ctx, b.ID, usher.Identity{Provider: "github", ExternUID: "2"}, base), "identity")
	if err := s.IdentityDelete(ctx, a.ID, "github"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.IdentityDelete(ctx, a.ID, "github"))
	p := list(t, s, usher.UserFilter{})
	for _, u := range p.Items {
		if len(u.Identities) != 0 {
			t.Fatalf("%s has identities %v", u.Username, u.Identities)
		}
	}
}

func testPasswords(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	_, err := s.PasswordGet(ctx, a.ID)
	wantNotFound(t, err)
	for _, h := range []string{"first", "second"} {
		if err := s.PasswordSet(ctx, a.ID, h, base); err != nil {
			t.Fatal(err)
		}
		if got, err := s.PasswordGet(ctx, a.ID); err != nil || got != h {
			t.Fatalf("PasswordGet = %q, %v; want %q", got, err, h)
		}
	}
	if err := s.PasswordSet(ctx, a.ID, "", base); err != nil {
		t.Fatal(err)
	}
	_, err = s.PasswordGet(ctx, a.ID)
	wantNotFound(t, err)
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	b := mustCreateUser(t, s, newUser("bob", "", ""))
	exp := base.Add(time.Hour)
	mk := func(user *usher.User, kind usher.TokenKind, hash string, expires *time.Time) *usher.Token {
		tok := &usher.Token{Kind: kind, UserID: user.ID, Name: "n-" + hash, Scopes: []string{"api"},
			Hint: "hint", Hash: []byte(hash), ExpiresAt: expires, CreatedAt: base,
			Address: "192.0.2.1", UserAgent: "test"}
		if err := s.TokenCreate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	t1 := mk(a, usher.TokenSession, "h1", &exp)
	t2 := mk(a, usher.TokenPersonal, "h2", nil)
	mk(a, usher.TokenSession, "h3", ptr(base.Add(-time.Hour))) // expired
	mk(b, usher.TokenSession, "h4", nil)
	wantUnique(t, s.TokenCreate(ctx, &usher.Token{Kind: usher.TokenPersonal, UserID: a.ID, Hint: "x", Hash: []byte("h1"), CreatedAt: base}), "hash")

	got, err := s.TokenByHash(ctx, []byte("h1"))
	if err != nil || got.ID != t1.ID || got.Kind != usher.TokenSession || fmt.Sprint(got.Scopes) != "[api]" ||
		!got.ExpiresAt.Equal(exp) || got.Address != "192.0.2.1" || got.UserAgent != "test" || got.Name != "n-h1" {
		t.Fatalf("TokenByHash = %+v, %v", got, err)
	}
	if got, err := s.TokenGet(ctx, t2.ID); err != nil || got.ExpiresAt != nil || string(got.Hash) != "h2" {
		t.Fatalf("TokenGet = %+v, %v", got, err)
	}
	_, err = s.TokenByHash(ctx, []byte("nope"))
	wantNotFound(t, err)

	active := store.TokenFilter{UserID: a.ID, Active: true, Now: base}
	if toks, _ := s.TokenList(ctx, active); len(toks) != 2 {
		t.Fatalf("active tokens of alice = %d, want 2", len(toks))
	}
	for _, c := range []struct {
		name string
		f    store.TokenFilter
		want int
	}{
		{"alice's active tokens", active, 2},
		{"alice's active sessions", store.TokenFilter{UserID: a.ID, Kinds: []usher.TokenKind{usher.TokenSession}, Active: true, Now: base}, 1},
		{"alice's sessions, expired or not", store.TokenFilter{UserID: a.ID, Kinds: []usher.TokenKind{usher.TokenSession}}, 2},
		{"alice's active tokens but one", store.TokenFilter{UserID: a.ID, Active: true, Now: base, ExceptID: t1.ID}, 1},
		{"everyone's tokens", store.TokenFilter{}, 4},
	} {
		if n, err := s.TokenCount(ctx, c.f); err != nil || n != c.want {
			t.Errorf("TokenCount of %s = %d, %v; want %d", c.name, n, err, c.want)
		}
	}
	if toks, _ := s.TokenList(ctx, store.TokenFilter{UserID: a.ID, Kinds: []usher.TokenKind{usher.TokenSession}}); len(toks) != 2 || toks[0].ID < toks[1].ID {
		t.Fatalf("sessions of alice, newest first: %v", toks)
	}
	at := base.Add(time.Minute)
	if err := s.TokenTouch(ctx, t2.ID, at, at.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A second use within the window is not written.
	if err := s.TokenTouch(ctx, t2.ID, at.Add(time.Second), at.Add(-59*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TokenGet(ctx, t2.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, at)
	}
	if _, err := s.TokenRevoke(ctx, store.TokenFilter{}, at); err == nil {
		t.Fatal("TokenRevoke with an empty filter revoked something")
	}
	// A token of a user that does not exist.
	err = s.TokenCreate(ctx, &usher.Token{Kind: usher.TokenPersonal, UserID: b.ID + 100, Hint: "x", Hash: []byte("h9"), CreatedAt: base})
	wantNotFound(t, err)
	// Revoke alice's sessions except t1: only the expired one is left to revoke.
	n, err := s.TokenRevoke(ctx, store.TokenFilter{UserID: a.ID, Kinds: []usher.TokenKind{usher.TokenSession}, ExceptID: t1.ID}, at)
	if err != nil || n != 1 {
		t.Fatalf("TokenRevoke = %d, %v; want 1", n, err)
	}
	n, _ = s.TokenRevoke(ctx, store.TokenFilter{UserID: a.ID}, at)
	if n != 2 {
		t.Fatalf("second TokenRevoke = %d, want 2 (already revoked ones are left alone)", n)
	}
	if toks, _ := s.TokenList(ctx, active); len(toks) != 0 {
		t.Fatalf("active tokens after revoke: %d", len(toks))
	}
	if got, _ := s.TokenGet(ctx, t1.ID); got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Fatalf("RevokedAt = %v", got.RevokedAt)
	}
	if toks, _ := s.TokenList(ctx, store.TokenFilter{UserID: b.ID, Active: true, Now: base}); len(toks) != 1 {
		t.Fatalf("bob's tokens were touched: %d", len(toks))
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		e := &usher.AuditEvent{
			At: base.Add(time.Duration(i) * time.Minute), ActorKind: usher.PrincipalUser, ActorID: int64(i%2 + 1),
			ActorName: "alice", Action: []string{"user.create", "user.update", "auth.login"}[i%3],
			ResourceType: "user", ResourceID: fmt.Sprint(i), Address: "192.0.2.1", UserAgent: "ua", RequestID: "r",
			Changes: map[string]usher.Change{"name": {Old: "a", New: "b"}},
			Meta:    map[string]string{"k": "v"},
		}
		if err := s.AuditAppend(ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 {
			t.Fatal("AuditAppend set no id")
		}
	}
	from, to := base.Add(time.Minute), base.Add(4*time.Minute)
	tests := []struct {
		name string
		f    usher.AuditFilter
		want string // resource ids, newest first
	}{
		{"all", usher.AuditFilter{}, "[4 3 2 1 0]"},
		{"range", usher.AuditFilter{From: &from, To: &to}, "[3 2 1]"},
		{"actor", usher.AuditFilter{ActorID: ptr(int64(2))}, "[3 1]"},
		{"action", usher.AuditFilter{Action: "user.update"}, "[4 1]"},
		{"action prefix", usher.AuditFilter{Action: "user."}, "[4 3 1 0]"},
		{"resource", usher.AuditFilter{ResourceType: "user", ResourceID: "2"}, "[2]"},
		{"before", usher.AuditFilter{Page: usher.PageRequest{After: &usher.Cursor{ID: 3}, Limit: 1}}, "[1]"},
	}
	for _, tt := range tests {
		page, err := s.AuditList(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range page.Items {
			ids = append(ids, e.ResourceID)
		}
		if got := fmt.Sprint(ids); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	page, _ := s.AuditList(ctx, usher.AuditFilter{Page: usher.PageRequest{Limit: 2}})
	if len(page.Items) != 2 || page.Next == nil || page.Next.ID != page.Items[1].ID || page.Total != -1 {
		t.Fatalf("first page of 2: %d events, next %v, total %d", len(page.Items), page.Next, page.Total)
	}
	if last, _ := s.AuditList(ctx, usher.AuditFilter{Page: usher.PageRequest{After: page.Next, Limit: 3}}); len(last.Items) != 3 || last.Next != nil {
		t.Fatalf("last page: %d events, next %v", len(last.Items), last.Next)
	}
	e := page.Items[0]
	if e.Changes["name"].New != "b" || e.Meta["k"] != "v" || !e.At.Equal(base.Add(4*time.Minute)) || e.ActorKind != usher.PrincipalUser {
		t.Fatalf("event round trip: %+v", e)
	}
	if n, _ := s.AuditCount(ctx); n != 5 {
		t.Fatalf("AuditCount = %d", n)
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		u := newUser("alice", "", "")
		if err := tx.UserCreate(ctx, u, "hash"); err != nil {
			return err
		}
		if err := tx.AuditAppend(ctx, &usher.AuditEvent{At: base, Action: "user.create", ResourceType: "user", ResourceID: "1"}); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.UserGet(ctx, usher.UserKey{Username: "alice"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	users, _ := s.UserCount(ctx)
	events, _ := s.AuditCount(ctx)
	if users != 0 || events != 0 {
		t.Fatalf("after rollback: %d users, %d events", users, events)
	}
	// A unique violation inside a transaction fails the transaction cleanly.
	mustCreateUser(t, s, newUser("bob", "", ""))
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.UserCreate(ctx, newUser("BOB", "", ""), "") })
	wantUnique(t, err, "username")
}

func testConcurrentUniqueCreates(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.InTx(ctx, func(tx store.Tx) error {
				return tx.UserCreate(ctx, newUser("same", fmt.Sprintf("u%d@example.com", i), ""), "")
			})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, usher.ErrExists):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1", ok)
	}
}

// Migrator is a database that applies its own migrations.
type Migrator interface {
	Migrate(ctx context.Context, now time.Time) ([]int, error)
	Close() error
}

// RunConcurrentMigrate opens several handles onto one fresh database, as
// replicas starting together would, and migrates from all of them at once:
// every migration must be applied exactly once and no handle may fail.
func RunConcurrentMigrate(t *testing.T, open func(t *testing.T) Migrator) {
	const n = 6
	handles := make([]Migrator, n)
	for i := range handles {
		handles[i] = open(t)
		t.Cleanup(func() { handles[i].Close() })
	}
	applied := make([][]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, h := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = h.Migrate(context.Background(), base)
		}()
	}
	wg.Wait()
	seen := map[int]int{}
	for i := range handles {
		if errs[i] != nil {
			t.Fatalf("handle %d: %v", i, errs[i])
		}
		for _, v := range applied[i] {
			seen[v]++
		}
	}
	if len(seen) == 0 {
		t.Fatal("no migration was applied")
	}
	for v, times := range seen {
		if times != 1 {
			t.Errorf("migration %d applied %d times", v, times)
		}
	}
	// Once more changes nothing.
	if again, err := handles[0].Migrate(context.Background(), base); err != nil || len(again) != 0 {
		t.Fatalf("second Migrate: %v, %v", again, err)
	}
}

func testCodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	c := &usher.Code{Kind: usher.CodeConfirm, Hash: []byte("c1"), UserID: a.ID, Data: "sealed",
		EmailKey: "alice@example.com", ExpiresAt: base.Add(time.Hour), CreatedAt: base}
	if err := s.CodeCreate(ctx, c); err != nil || c.ID == 0 {
		t.Fatalf("CodeCreate: %v", err)
	}
	wantUnique(t, s.CodeCreate(ctx, &usher.Code{Kind: usher.CodeReset, Hash: []byte("c1"), ExpiresAt: base, CreatedAt: base}), "hash")
	got, err := s.CodeByHash(ctx, usher.CodeConfirm, []byte("c1"))
	if err != nil || got.ID != c.ID || got.UserID != a.ID || got.Data != "sealed" || got.EmailKey != c.EmailKey || !got.ExpiresAt.Equal(c.ExpiresAt) || got.UsedAt != nil {
		t.Fatalf("CodeByHash: %+v, %v", got, err)
	}
	_, err = s.CodeByHash(ctx, usher.CodeReset, []byte("c1"))
	wantNotFound(t, err)
	// Used once; a second use, or a use after expiry, finds nothing.
	if err := s.CodeUse(ctx, c.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.CodeUse(ctx, c.ID, base.Add(2*time.Minute)))
	late := &usher.Code{Kind: usher.CodeReset, Hash: []byte("c2"), ExpiresAt: base.Add(time.Minute), CreatedAt: base}
	if err := s.CodeCreate(ctx, late); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.CodeUse(ctx, late.ID, base.Add(time.Hour)))
	// A code learns its account later.
	redeem := &usher.Code{Kind: usher.CodeRedeem, Hash: []byte("c3"), ExpiresAt: base.Add(time.Hour), CreatedAt: base}
	if err := s.CodeCreate(ctx, redeem); err != nil {
		t.Fatal(err)
	}
	if err := s.CodeSetUser(ctx, redeem.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CodeByHash(ctx, usher.CodeRedeem, []byte("c3")); got.UserID != a.ID {
		t.Fatalf("CodeSetUser: %+v", got)
	}
	wantNotFound(t, s.CodeSetUser(ctx, c.ID, a.ID)) // used already
	// Deleting a user's unused codes of a kind.
	fresh := &usher.Code{Kind: usher.CodeConfirm, Hash: []byte("c4"), UserID: a.ID, ExpiresAt: base.Add(time.Hour), CreatedAt: base}
	if err := s.CodeCreate(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.CodeDeleteUser(ctx, a.ID, usher.CodeConfirm); err != nil {
		t.Fatal(err)
	}
	_, err = s.CodeByHash(ctx, usher.CodeConfirm, []byte("c4"))
	wantNotFound(t, err)
	if _, err := s.CodeByHash(ctx, usher.CodeConfirm, []byte("c1")); err != nil {
		t.Fatalf("a used code was deleted with the unused ones: %v", err)
	}
	// Deleting the unused codes sent to one address, of some kinds.
	sent := map[string]*usher.Code{}
	for _, k := range []struct {
		hash, key string
		kind      usher.CodeKind
	}{{"old-confirm", "old@example.com", usher.CodeConfirm}, {"old-reset", "old@example.com", usher.CodeReset},
		{"old-device", "old@example.com", usher.CodeDevice}, {"new-confirm", "new@example.com", usher.CodeConfirm}} {
		sc := &usher.Code{Kind: k.kind, Hash: []byte(k.hash), UserID: a.ID, EmailKey: k.key,
			ExpiresAt: base.Add(time.Hour), CreatedAt: base}
		if err := s.CodeCreate(ctx, sc); err != nil {
			t.Fatal(err)
		}
		sent[k.hash] = sc
	}
	if err := s.CodeDeleteAddress(ctx, a.ID, "old@example.com", usher.CodeConfirm, usher.CodeReset); err != nil {
		t.Fatal(err)
	}
	for hash, gone := range map[string]bool{"old-confirm": true, "old-reset": true, "old-device": false, "new-confirm": false} {
		_, err := s.CodeByHash(ctx, sent[hash].Kind, []byte(hash))
		if gone != errors.Is(err, usher.ErrNotFound) {
			t.Errorf("CodeDeleteAddress: %s gone = %v, want %v", hash, !gone, gone)
		}
	}
	n, err := s.CodeDeleteExpired(ctx, base.Add(30*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("CodeDeleteExpired = %d, %v; want 1", n, err)
	}
}

func testCodeUsedOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := &usher.Code{Kind: usher.CodeReset, Hash: []byte("once"), ExpiresAt: base.Add(time.Hour), CreatedAt: base}
	if err := s.CodeCreate(ctx, c); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.CodeUse(ctx, c.ID, base) })
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, usher.ErrNotFound) {
				t.Errorf("CodeUse: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent uses succeeded, want 1", wins.Load())
	}
}

func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, kind := range []string{"confirm", "reset", "later"} {
		m := &usher.Mail{Kind: kind, To: kind + "@example.com", Subject: "s " + kind, Body: "body " + kind,
			CreatedAt: base, NextAttemptAt: base.Add(time.Duration(i) * time.Minute)}
		if kind == "later" {
			m.NextAttemptAt = base.Add(time.Hour)
		}
		if err := s.OutboxAdd(ctx, m); err != nil || m.ID == 0 {
			t.Fatalf("OutboxAdd: %v", err)
		}
	}
	lease := base.Add(5 * time.Minute)
	got, err := s.OutboxClaim(ctx, base.Add(2*time.Minute), lease, 10)
	if err != nil || len(got) != 2 || got[0].Kind != "confirm" || got[1].Kind != "reset" || got[0].Body != "body confirm" || got[0].To != "confirm@example.com" {
		t.Fatalf("first claim: %v, %v", got, err)
	}
	// Claimed mails are not due again until the lease ends.
	if again, _ := s.OutboxClaim(ctx, base.Add(3*time.Minute), lease, 10); len(again) != 0 {
		t.Fatalf("claimed twice: %v", again)
	}
	if err := s.OutboxSent(ctx, got[0].ID, base.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxFailed(ctx, got[1].ID, 1, base.Add(10*time.Minute), "451 try later"); err != nil {
		t.Fatal(err)
	}
	sent, err := s.OutboxGet(ctx, got[0].ID)
	if err != nil || sent.SentAt == nil || sent.Body != "" || sent.Attempts != 1 {
		t.Fatalf("sent mail: %+v, %v (the body must be wiped)", sent, err)
	}
	failed, _ := s.OutboxGet(ctx, got[1].ID)
	if failed.SentAt != nil || failed.Attempts != 1 || failed.LastError != "451 try later" || failed.Body != "body reset" {
		t.Fatalf("failed mail: %+v", failed)
	}
	due, _ := s.OutboxClaim(ctx, base.Add(2*time.Hour), base.Add(3*time.Hour), 10)
	if len(due) != 2 || due[0].Kind != "reset" || due[1].Kind != "later" {
		t.Fatalf("retry claim: %v", due)
	}
	_, err = s.OutboxGet(ctx, 9999)
	wantNotFound(t, err)
}

func testOutboxConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		if err := s.OutboxAdd(ctx, &usher.Mail{Kind: "k", To: fmt.Sprintf("u%d@example.com", i), Subject: "s", Body: "b",
			CreatedAt: base, NextAttemptAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.OutboxClaim(ctx, base, base.Add(time.Hour), 3)
				if err != nil {
					t.Errorf("OutboxClaim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d mails claimed, want %d", len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Fatalf("mail %d claimed %d times", id, times)
		}
	}
}

func testThrottles(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.ThrottleGet(ctx, "addr:192.0.2.1")
	wantNotFound(t, err)
	window := 15 * time.Minute
	var th *usher.Throttle
	for i := 1; i <= 3; i++ {
		now := base.Add(time.Duration(i) * time.Minute)
		th, err = s.ThrottleFail(ctx, "addr:192.0.2.1", now, now.Add(-window))
		if err != nil || th.Failures != i || !th.WindowStart.Equal(base.Add(time.Minute)) {
			t.Fatalf("failure %d: %+v, %v", i, th, err)
		}
	}
	until := base.Add(time.Hour)
	if err := s.ThrottleLock(ctx, "addr:192.0.2.1", until); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); th.LockedUntil == nil || !th.LockedUntil.Equal(until) || th.Failures != 3 {
		t.Fatalf("locked throttle: %+v", th)
	}
	// A failure after the window starts counting again.
	later := base.Add(2 * time.Hour)
	if th, _ = s.ThrottleFail(ctx, "addr:192.0.2.1", later, later.Add(-window)); th.Failures != 1 || !th.WindowStart.Equal(later) {
		t.Fatalf("new window: %+v", th)
	}
	if err := s.ThrottleForgive(ctx, "addr:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); th.Failures != 0 {
		t.Fatalf("after forgiving: %+v", th)
	}
	if err := s.ThrottleForgive(ctx, "addr:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); th.Failures != 0 {
		t.Fatalf("failures went below zero: %+v", th)
	}
	if err := s.ThrottleClear(ctx, "addr:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.ThrottleGet(ctx, "addr:192.0.2.1")
	wantNotFound(t, err)
	// Pruning keeps what still counts or still locks.
	for _, k := range []string{"old", "locked", "recent"} {
		at := base
		if k == "recent" {
			at = base.Add(time.Hour)
		}
		if _, err := s.ThrottleFail(ctx, k, at, at.Add(-window)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ThrottleLock(ctx, "locked", base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ThrottlePrune(ctx, base.Add(30*time.Minute)); err != nil || n != 1 {
		t.Fatalf("ThrottlePrune = %d, %v; want 1", n, err)
	}
	_, err = s.ThrottleGet(ctx, "old")
	wantNotFound(t, err)
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, id := range []string{"k1", "k2"} {
		k := &usher.SigningKey{ID: id, Algorithm: "EdDSA", Private: "sealed-" + id, Public: []byte{byte(i), 0, 255},
			CreatedAt: base.Add(time.Duration(i) * time.Hour)}
		if err := s.SigningKeyAdd(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SigningKeyRetire(ctx, "k1", base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.SigningKeyRetire(ctx, "k1", base.Add(3*time.Hour)))
	keys, err := s.SigningKeyList(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" || keys[0].RetiredAt == nil || keys[1].RetiredAt != nil ||
		keys[1].Private != "sealed-k2" || string(keys[1].Public) != string([]byte{1, 0, 255}) {
		t.Fatalf("SigningKeyList: %+v, %v", keys, err)
	}
}
