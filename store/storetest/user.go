package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func testUserRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	confirmed := base.Add(time.Hour)
	u := newUser("john_smith", "John@Example.com", "John Smith")
	u.FirstName, u.LastName, u.DisplayName, u.Handle = "John", "Smith", "Johnny", "jsmith"
	u.Bio, u.Location, u.GitLab.Skype, u.GitLab.LinkedIn, u.GitLab.Twitter, u.WebsiteURL = "bio", "Berlin", "sk", "li", "tw", "https://example.com"
	u.Admin, u.External, u.GitLab.CanCreateGroup, u.TwoFactorEnabled = true, true, false, true
	u.GitLab.ProjectsLimit, u.GitLab.ThemeID, u.GitLab.ColorSchemeID = 100, 2, 3
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

// testUserAwkwardText reads back, by every kind of key and in a page,
// text that a row passed as JSON (SQLite's one-column read) must escape
// and unescape: quotes, backslashes, control characters, characters
// beyond the Basic Multilingual Plane, and strings that look like JSON
// themselves; and integers at the ends of their range.
func testUserAwkwardText(t *testing.T, s store.Store) {
	texts := []string{`say "hi"`, `back\slash\`, "tab\tnew\nline\r\x01\x1f", "emoji 🦀 and é, ß, 漢字",
		"\u2028 line separator", "null", "[1,2]", "{}", `{"a":1}`, "-12", "1e5", ""}
	u := newUser("awkward", "awkward@example.com", texts[0])
	u.FirstName, u.LastName, u.DisplayName, u.Bio, u.Location = texts[1], texts[2], texts[3], texts[4], texts[5]
	u.GitLab.Skype, u.GitLab.LinkedIn, u.GitLab.Twitter, u.WebsiteURL = texts[6], texts[7], texts[8], texts[9]
	u.Language, u.UnconfirmedEmail, u.ExternalID = texts[10], texts[11]+"un@example.com", `ext"\`
	u.Handle = "h\"x"
	u.Metadata = map[string]string{"quote\"": "back\\slash", "emoji 🦀": "new\nline"}
	// Keys in jsonb's order (shorter first), which PostgreSQL keeps.
	u.Meta = []byte(`{"nested":{"s":"\"q\" \\ 🦀","list":[1,"two",null,true]}}`)
	u.GitLab.ProjectsLimit = 1<<31 - 1
	u.Version = 1<<62 + 1
	u.Identities = []usher.Identity{{Provider: `git"hub`, ExternUID: `a\b`}, {Provider: "ldap", ExternUID: "cn=Ö 🦀,dc=x"}}
	mustCreateUser(t, s, u)
	want := fmt.Sprintf("%+v", *u)
	for _, key := range []usher.UserKey{{ID: u.ID}, {Username: "AWKWARD"}, {Email: u.Email}, {Handle: u.Handle},
		{UUID: u.UUID}, {ExternalID: u.ExternalID}, {Provider: "ldap", ExternUID: "cn=Ö 🦀,dc=x"}} {
		got := mustGet(t, s, key)
		sort.Slice(got.Identities, func(i, j int) bool { return got.Identities[i].Provider < got.Identities[j].Provider })
		if g := fmt.Sprintf("%+v", *got); g != want {
			t.Errorf("UserGet(%+v):\n got %s\nwant %s", key, g, want)
		}
	}
	p := list(t, s, usher.UserFilter{})
	if len(p.Items) != 1 {
		t.Fatalf("listed %d users, want 1", len(p.Items))
	}
	got := p.Items[0]
	sort.Slice(got.Identities, func(i, j int) bool { return got.Identities[i].Provider < got.Identities[j].Provider })
	if g := fmt.Sprintf("%+v", *got); g != want {
		t.Errorf("UserList:\n got %s\nwant %s", g, want)
	}
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

// testOtherAdministrator: only a live, active person who is an
// administrator counts as another administrator.
func testOtherAdministrator(t *testing.T, s store.Store) {
	ctx := context.Background()
	root := mustCreateUser(t, s, newUser("root", "root@example.com", ""))
	other := func(want bool, what string) {
		t.Helper()
		got, err := s.OtherAdministrator(ctx, root.ID)
		if err != nil || got != want {
			t.Fatalf("%s: another administrator = %v, %v; want %v", what, got, err, want)
		}
	}
	other(false, "none")
	set := func(u *usher.User, fn func(u *usher.User)) {
		t.Helper()
		if _, err := s.UserUpdate(ctx, u.ID, func(u *usher.User) error { fn(u); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	set(root, func(u *usher.User) { u.Admin = true })
	other(false, "root alone")
	ada := mustCreateUser(t, s, newUser("ada", "ada@example.com", ""))
	set(ada, func(u *usher.User) { u.Admin, u.Kind = true, usher.KindServiceAccount })
	other(false, "a service account")
	set(ada, func(u *usher.User) { u.Kind, u.State = usher.KindNormal, usher.StateBlocked })
	other(false, "a blocked one")
	gone := base.Add(time.Minute)
	set(ada, func(u *usher.User) { u.State, u.DeletedAt = usher.StatePending, &gone })
	other(false, "a deleted one")
	set(ada, func(u *usher.User) { u.DeletedAt = nil })
	other(false, "a pending one")
	set(ada, func(u *usher.User) { u.State = usher.StateActive })
	other(true, "an active one")
	// The lock is held within a transaction, and the count read there.
	if err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.AdministratorsLock(ctx); err != nil {
			return err
		}
		if other, err := tx.OtherAdministrator(ctx, ada.ID); err != nil || !other {
			return fmt.Errorf("ada's other administrator under the lock = %v, %v; want root", other, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
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

// testIdentitiesListed checks that every way of listing users gives each
// its identities, ordered by provider, and none to a user without: the
// page's own statement carries them in id order from the start, a second
// statement does otherwise.
func testIdentitiesListed(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	b := mustCreateUser(t, s, newUser("bob", "bob@example.com", ""))
	c := mustCreateUser(t, s, newUser("carol", "carol@example.com", ""))
	for _, id := range []usher.Identity{{Provider: "gitlab", ExternUID: "a-gl"}, {Provider: "github", ExternUID: "a-gh"}} {
		if err := s.IdentitySet(ctx, a.ID, id, base); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.IdentitySet(ctx, c.ID, usher.Identity{Provider: "oidc", ExternUID: "c\"quoted\""}, base); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{
		a.ID: "[{github a-gh} {gitlab a-gl}]",
		b.ID: "[]",
		c.ID: `[{oidc c"quoted"}]`,
	}
	for _, tc := range []struct {
		name string
		f    usher.UserFilter
	}{
		{"id order", usher.UserFilter{}},
		{"first page with total", usher.UserFilter{Page: usher.PageRequest{Limit: 2, WithTotal: true}}},
		{"after a cursor", usher.UserFilter{Page: usher.PageRequest{Limit: 2, After: &usher.Cursor{ID: a.ID}}}},
		{"offset", usher.UserFilter{Page: usher.PageRequest{Limit: 2, Offset: 1}}},
		{"id descending", usher.UserFilter{Sort: usher.SortIDDesc}},
		{"by username", usher.UserFilter{Sort: usher.SortUsernameAsc}},
		{"search", usher.UserFilter{Query: "example.com", SearchEmail: true, Page: usher.PageRequest{Limit: 10}}},
	} {
		p := list(t, s, tc.f)
		if len(p.Items) == 0 {
			t.Fatalf("%s: no users", tc.name)
		}
		for _, u := range p.Items {
			if got := fmt.Sprint(u.Identities); got != want[u.ID] {
				t.Errorf("%s: %s has identities %s, want %s", tc.name, u.Username, got, want[u.ID])
			}
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
