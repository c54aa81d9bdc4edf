package core_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// scopeBundle holds one user in each state that matters to a list, and a
// service account.
type scopeBundle struct {
	*bundle
	suspended, blocked, deleted, sa *usher.User
}

func setupScope(t *testing.T) *scopeBundle {
	t.Helper()
	b := &scopeBundle{bundle: setup(t)}
	ctx := coretest.System()
	b.suspended = b.env.MustCreateUser(t, usher.UserCreate{Username: "sus", State: usher.StateSuspended})
	b.blocked = b.env.MustCreateUser(t, usher.UserCreate{Username: "blo"})
	if _, err := b.users.Block(ctx, usher.UserKey{ID: b.blocked.ID}); err != nil {
		t.Fatal(err)
	}
	b.deleted = b.env.MustCreateUser(t, usher.UserCreate{Username: "del"})
	if _, err := b.users.Delete(ctx, usher.UserKey{ID: b.deleted.ID}); err != nil {
		t.Fatal(err)
	}
	b.sa = b.env.MustCreateUser(t, usher.UserCreate{Username: "robot", Kind: usher.KindServiceAccount})
	return b
}

func listed(t *testing.T, users *core.Users, ctx context.Context, f usher.UserFilter) []string {
	t.Helper()
	page, err := users.List(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, u := range page.Items {
		out = append(out, u.Username)
	}
	return out
}

// TestListShowsWhatGetFinds: by default a list holds exactly the users Get
// finds, for an administrator and for a plain user alike: suspended and
// blocked ones too, deleted ones not; asked for some kinds of account,
// neither finds the others, and neither does MeOfKinds.
func TestListShowsWhatGetFinds(t *testing.T) {
	t.Parallel()
	b := setupScope(t)
	noSA := []usher.UserKind{usher.KindNormal, usher.KindBot}
	for name, ctx := range map[string]context.Context{"admin": as(b.admin), "plain user": as(b.alice)} {
		for _, scope := range [][]usher.UserKind{nil, noSA} {
			t.Run(fmt.Sprintf("%s %v", name, scope), func(t *testing.T) {
				t.Parallel()
				got := listed(t, b.users, ctx, usher.UserFilter{Kinds: scope, Page: usher.PageRequest{Limit: 100}})
				for _, u := range []*usher.User{b.admin, b.alice, b.suspended, b.blocked, b.deleted, b.sa} {
					_, err := b.users.Get(ctx, usher.UserKey{Username: u.Username, Kinds: scope})
					if byID, errID := b.users.Get(ctx, usher.UserKey{ID: u.ID, Kinds: scope}); (err == nil) != (errID == nil) || (byID != nil && byID.ID != u.ID) {
						t.Errorf("%s: found by name %v, by id %v", u.Username, err, errID)
					}
					if found, isListed := err == nil, slices.Contains(got, u.Username); found != isListed {
						t.Errorf("%s: found %v (%v), listed %v (%v)", u.Username, found, err, isListed, got)
					}
				}
				want := []string{"root", "alice", "sus", "blo", "robot"}
				if scope != nil {
					want = want[:4]
				}
				if !slices.Equal(got, want) {
					t.Errorf("listed %v, want %v", got, want)
				}
			})
		}
	}
	// The filter still narrows on request.
	for name, tc := range map[string]struct {
		f    usher.UserFilter
		want []string
	}{
		"suspended excluded": {usher.UserFilter{Suspended: usher.Exclude}, []string{"root", "alice", "blo", "robot"}},
		"only suspended":     {usher.UserFilter{Suspended: usher.Only}, []string{"sus"}},
		"state suspended":    {usher.UserFilter{State: usher.StateSuspended}, []string{"sus"}},
		"deleted included":   {usher.UserFilter{Deleted: usher.Include, Kinds: noSA}, []string{"root", "alice", "sus", "blo", "del"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := listed(t, b.users, as(b.admin), tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMeOfKinds: a service account asking who it is, of a product that
// knows no service accounts as users, gets the answer Get gives for its id.
func TestMeOfKinds(t *testing.T) {
	t.Parallel()
	b := setupScope(t)
	noSA := []usher.UserKind{usher.KindNormal, usher.KindBot}
	for name, tc := range map[string]struct {
		who   *usher.User
		scope []usher.UserKind
		kind  usher.Kind
	}{
		"service account, every account":    {b.sa, nil, 0},
		"service account, no SAs":           {b.sa, noSA, usher.KindNotFound},
		"user, no SAs":                      {b.alice, noSA, 0},
		"user read again (no User), no SAs": {&usher.User{ID: b.alice.ID, Kind: usher.KindNormal}, noSA, 0},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := &usher.Principal{Kind: usher.PrincipalUser, User: tc.who}
			if tc.who.Kind == usher.KindServiceAccount {
				p.Kind = usher.PrincipalServiceAccount
			}
			ctx := usher.WithPrincipal(context.Background(), p)
			me, err := b.users.MeOfKinds(ctx, tc.scope)
			_, ferr := b.users.Get(ctx, usher.UserKey{ID: tc.who.ID, Kinds: tc.scope})
			if usher.ErrorKind(err) != usher.ErrorKind(ferr) && (err != nil || ferr != nil) {
				t.Errorf("MeOfKinds %v, Get %v: they disagree", err, ferr)
			}
			if tc.kind != 0 {
				wantKind(t, err, tc.kind, "user_not_found")
				return
			}
			if err != nil || me.ID != tc.who.ID {
				t.Fatalf("MeOfKinds: %+v, %v", me, err)
			}
		})
	}
	if _, err := b.users.MeOfKinds(context.Background(), noSA); usher.ErrorKind(err) != usher.KindUnauthenticated {
		t.Errorf("anonymous: %v", err)
	}
}

// TestNameRule: a product's name rule holds on top of usher's own.
func TestNameRule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, tc := range map[string]struct {
		username string
		rule     usher.NameRule
		code     string // of the username's field error; "" when created
	}{
		"resource name":             {"mary-jane", usher.NameResource, ""},
		"digits and hyphens":        {"a-1-b", usher.NameResource, ""},
		"upper case":                {"Mary", usher.NameResource, "invalid"},
		"upper case without a rule": {"Mary2", "", ""},
		"leading hyphen":            {"-mary", usher.NameResource, "invalid"},
		"trailing hyphen":           {"mary-", usher.NameResource, "invalid"},
		"dot":                       {"mary.jane", usher.NameResource, "invalid"},
		"e-mail":                    {"mary@example.com", usher.NameResource, "invalid"},
		"usher's rule first":        {"12345", usher.NameResource, "invalid"},
		"too long":                  {string(make([]byte, 101)), usher.NameResource, "too_long"},
		"empty":                     {"", usher.NameResource, "required"},
		"unknown rule":              {"mary-ann", "mystery", "invalid"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u, err := b.users.Create(as(b.admin), usher.UserCreate{Username: tc.username, NameRule: tc.rule})
			if tc.code == "" {
				if err != nil || u.Username != tc.username {
					t.Fatalf("Create: %+v, %v", u, err)
				}
				return
			}
			wantKind(t, err, usher.KindUnprocessable, "validation_failed")
			if f := usher.AsError(err).Fields; len(f) != 1 || f[0].Field != "username" || f[0].Code != tc.code {
				t.Errorf("fields %+v, want username %s", f, tc.code)
			}
		})
	}
}

// TestLastSeen: using a token marks its account seen, at most once a
// minute, without counting as a change (the checks stay cached); an
// impersonation does not mark the impersonated account.
func TestLastSeen(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	tok := b.env.MustToken(t, b.alice.ID, usher.TokenPersonal)
	seen := func() *time.Time {
		t.Helper()
		u, err := b.env.Store.UserGet(context.Background(), usher.UserKey{ID: b.alice.ID})
		if err != nil {
			t.Fatal(err)
		}
		return u.LastSeenAt
	}
	if seen() != nil {
		t.Fatal("seen before any use")
	}
	start := b.clock.Now()
	steps := []struct {
		name  string
		after time.Duration
		want  time.Time
	}{
		{"first use", 0, start},
		{"a second later", time.Second, start},
		{"half a minute later", 29 * time.Second, start},
		{"a minute after the first", 30 * time.Second, start},
		{"past the minute", time.Second, start.Add(61 * time.Second)},
		{"soon after", 10 * time.Second, start.Add(61 * time.Second)},
		{"much later", time.Hour, start.Add(time.Hour + 71*time.Second)},
	}
	for _, st := range steps {
		b.clock.Add(st.after)
		changes := b.env.Store.Changes()
		p, err := b.auth.Authenticate(context.Background(), tok)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := seen(); got == nil || !got.Equal(st.want) {
			t.Errorf("%s: last seen %v, want %v", st.name, got, st.want)
		}
		if p.User.LastSeenAt == nil || !p.User.LastSeenAt.Equal(st.want) {
			t.Errorf("%s: the principal's account was seen %v, want %v", st.name, p.User.LastSeenAt, st.want)
		}
		if b.env.Store.Changes() != changes {
			t.Errorf("%s: marking the account seen counted as a change", st.name)
		}
	}

	// The administrator's session marks the administrator; the
	// impersonation made with it does not mark alice.
	before := seen()
	_, ap := b.rootSession(t)
	b.clock.Add(time.Hour)
	raw, _, _, err := b.auth.Impersonate(usher.WithPrincipal(context.Background(), ap), usher.UserKey{ID: b.alice.ID}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.auth.Authenticate(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	if got := seen(); !got.Equal(*before) {
		t.Errorf("the impersonation marked alice seen at %v", got)
	}
	admin, _ := b.env.Store.UserGet(context.Background(), usher.UserKey{ID: b.admin.ID})
	if admin.LastSeenAt == nil || !admin.LastSeenAt.Equal(b.clock.Now()) {
		t.Errorf("the administrator was seen at %v, want %v", admin.LastSeenAt, b.clock.Now())
	}
}

// TestListWithGroups: a page brings its users' groups, read at once, with
// their counts, and shown as UserGroups shows them to the caller.
func TestListWithGroups(t *testing.T) {
	t.Parallel()
	b := setupScope(t)
	ctx := coretest.System()
	group := func(kind usher.GroupKind, handle string, members ...*usher.User) {
		t.Helper()
		g, err := b.env.Core.Groups.Create(ctx, usher.GroupCreate{Kind: kind, Handle: handle})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range members {
			if _, err := b.env.Core.Groups.AddMember(ctx, usher.GroupRef{ID: g.ID}, usher.UserKey{ID: u.ID}, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	group(usher.GroupPlain, "dev", b.alice, b.sa, b.suspended)
	group(usher.GroupRole, "auditors", b.alice, b.sa)
	group(usher.GroupTeam, "secret", b.suspended)
	group(usher.GroupInternal, "machinery", b.alice)
	show := func(page *usher.UserPage) string {
		var out []string
		for _, u := range page.Items {
			for _, m := range page.Memberships[u.ID] {
				g := m.Group
				out = append(out, fmt.Sprintf("%s/%s:%s m%d s%d r%d", u.Username, g.Kind, g.Handle, g.Members, g.ServiceAccounts, g.Roles))
			}
		}
		return fmt.Sprint(out)
	}
	for name, tc := range map[string]struct {
		ctx   context.Context
		kinds []usher.GroupKind
		want  string
	}{
		"plain groups": {as(b.admin), []usher.GroupKind{usher.GroupPlain},
			"[alice/group:dev m3 s1 r1 sus/group:dev m3 s1 r1 robot/group:dev m3 s1 r1]"},
		"admin sees all": {as(b.admin), []usher.GroupKind{usher.GroupPlain, usher.GroupRole, usher.GroupTeam, usher.GroupInternal},
			"[alice/group:dev m3 s1 r1 alice/internal:machinery m1 s0 r1 alice/role:auditors m2 s1 r1 sus/group:dev m3 s1 r1 sus/team:secret m1 s0 r0 robot/group:dev m3 s1 r1 robot/role:auditors m2 s1 r1]"},
		"alice sees her own, not others' teams": {as(b.alice), []usher.GroupKind{usher.GroupPlain, usher.GroupRole, usher.GroupTeam, usher.GroupInternal},
			"[alice/group:dev m3 s1 r1 alice/internal:machinery m1 s0 r1 alice/role:auditors m2 s1 r1 sus/group:dev m3 s1 r1 robot/group:dev m3 s1 r1 robot/role:auditors m2 s1 r1]"},
		"none asked": {as(b.admin), nil, "[]"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			page, err := b.users.List(tc.ctx, usher.UserFilter{WithGroups: tc.kinds, Page: usher.PageRequest{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			if got := show(page); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
