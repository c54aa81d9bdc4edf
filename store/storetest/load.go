package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// testUserFind: the live users a batch of usernames and external ids
// names, each once, found case-insensitively by name; deleted users and
// unknown names are not.
func testUserFind(t *testing.T, s store.Store) {
	ctx := context.Background()
	us := seed(t, s) // eve is deleted
	ext := newUser("ext", "", "")
	ext.ExternalID = "emp-7"
	mustCreateUser(t, s, ext)
	found, err := s.UserFind(ctx, []string{"ALICE", "eve", "nobody", "#" + us[0].UUID, "ext"}, []string{"emp-7", "emp-8", ""})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range found {
		names = append(names, u.Username)
	}
	slices.Sort(names)
	if want := []string{"alice", "ext"}; !slices.Equal(names, want) {
		t.Fatalf("UserFind found %v, want %v", names, want)
	}
	if found, err := s.UserFind(ctx, nil, nil); err != nil || len(found) != 0 {
		t.Fatalf("UserFind of nothing: %v, %v", found, err)
	}
}

// testUserCreateManyMatchesCreate: a user written in bulk is, field for
// field, the user UserCreate writes, and is found, searched, counted and
// holds its address exactly as that one.
func testUserCreateManyMatchesCreate(t *testing.T, s store.Store) {
	ctx := context.Background()
	full := func(name string) *usher.User {
		u := newUser(name, name+"@Example.com", "Full "+name+" Person")
		u.FirstName, u.LastName, u.DisplayName, u.Handle = "Full", name, "F. "+name, name+"-handle"
		u.ExternalID, u.Metadata, u.Meta = "ext-"+name, map[string]string{"team": "ops"}, []byte(`{"k":"v"}`)
		u.EmailConfirmedAt, u.SuspendedAt, u.State = ptr(base), ptr(base), usher.StateSuspended
		u.Admin, u.Language, u.GitLab.ProjectsLimit, u.Version = true, "de", 7, 1
		return u
	}
	one, many := full("single"), full("bulk")
	if err := s.UserCreate(ctx, one, "$2a$10$hash"); err != nil {
		t.Fatal(err)
	}
	if err := s.UserCreateMany(ctx, []*usher.User{many}, []string{"$2a$10$hash"}); err != nil {
		t.Fatal(err)
	}
	a, b := mustGet(t, s, usher.UserKey{ID: one.ID}), mustGet(t, s, usher.UserKey{ID: many.ID})
	// The fields that name the user differ, by construction.
	b.ID, b.UUID, b.Username, b.Email, b.Name, b.LastName, b.DisplayName, b.Handle, b.ExternalID =
		a.ID, a.UUID, a.Username, a.Email, a.Name, a.LastName, a.DisplayName, a.Handle, a.ExternalID
	if got, want := fmt.Sprintf("%+v", b), fmt.Sprintf("%+v", a); got != want {
		t.Fatalf("a user created in bulk:\n%s\nwant, as UserCreate writes it:\n%s", got, want)
	}
	for _, key := range []usher.UserKey{{Username: "BULK"}, {Email: "bulk@example.com"}, {Handle: "Bulk-Handle"},
		{UUID: many.UUID}, {ExternalID: "ext-bulk"}} {
		if got := mustGet(t, s, key); got.ID != many.ID {
			t.Fatalf("UserGet(%+v) = %d, want %d", key, got.ID, many.ID)
		}
	}
	if hash, err := s.PasswordGet(ctx, many.ID); err != nil || hash != "$2a$10$hash" {
		t.Fatalf("password of the bulk user: %q, %v", hash, err)
	}
	for _, q := range []string{"bulk", "ull bul", "BULK@EXAMPLE"} {
		p := list(t, s, usher.UserFilter{Query: q, SearchEmail: true, Suspended: usher.Include})
		if len(p.Items) != 1 || p.Items[0].ID != many.ID {
			t.Fatalf("search %q found %v, want the bulk user", q, p.Items)
		}
	}
	// Its address is claimed: no one else may take it, as a secondary
	// address either.
	err := s.EmailAdd(ctx, &usher.Email{UserID: one.ID, Email: "BULK@example.com", ConfirmedAt: ptr(base), CreatedAt: base})
	if err == nil {
		t.Fatal("another user took the bulk user's address")
	}
	wantUnique(t, s.UserCreate(ctx, newUser("other", "bulk@example.com", ""), ""), "email")
}

// testLoad: a load into a small table sets its indexes aside and builds
// them at its end, so that what was loaded is searched and sorted as
// usual; a load never finished (a crash) is finished by the next start;
// a table past store.LoadSmallTable is loaded in place.
func testLoad(t *testing.T, s store.Store) {
	ctx := context.Background()
	seed(t, s)
	batch := func(prefix string, n int) {
		t.Helper()
		users := make([]*usher.User, n)
		for i := range users {
			users[i] = newUser(fmt.Sprintf("%s%04d", prefix, i), fmt.Sprintf("%s%04d@load.test", prefix, i), "Loaded "+prefix)
			users[i].CreatedAt = base.Add(-time.Hour)
		}
		if err := s.UserCreateMany(ctx, users, make([]string, n)); err != nil {
			t.Fatal(err)
		}
	}
	found := func(q string, want int) {
		t.Helper()
		p := list(t, s, usher.UserFilter{Query: q, Page: usher.PageRequest{Limit: 2000, WithTotal: true}})
		if len(p.Items) != want {
			t.Fatalf("search %q finds %d users, want %d", q, len(p.Items), want)
		}
	}
	for _, finish := range []bool{true, false} {
		loading, err := s.LoadStart(ctx)
		if err != nil || !loading {
			t.Fatalf("LoadStart on a small table = %v, %v", loading, err)
		}
		prefix := map[bool]string{true: "fin", false: "crash"}[finish]
		batch(prefix, 300)
		if finish {
			if err := s.LoadFinish(ctx); err != nil {
				t.Fatal(err)
			}
			found("Loaded fin", 300)
			p := list(t, s, usher.UserFilter{Sort: usher.SortCreatedAsc, Page: usher.PageRequest{Limit: 1}})
			if len(p.Items) != 1 || p.Items[0].CreatedAt.After(base) {
				t.Fatalf("first user by created_at: %+v", p.Items)
			}
		}
	}
	// The second load was never finished: the next start finishes it.
	loading, err := s.LoadStart(ctx)
	if err != nil || !loading {
		t.Fatalf("LoadStart after an unfinished load = %v, %v", loading, err)
	}
	found("Loaded crash", 300)
	batch("big", store.LoadSmallTable)
	for range 2 { // idempotent
		if err := s.LoadFinish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	found("Loaded big", store.LoadSmallTable)
	if loading, err := s.LoadStart(ctx); err != nil || loading {
		t.Fatalf("LoadStart on a table of %d users = %v, %v", store.LoadSmallTable+600, loading, err)
	}
	st, err := s.StatsGet(ctx)
	if err != nil || st.Users.Total < store.LoadSmallTable+600 {
		t.Fatalf("stats after loads: %+v, %v", st, err)
	}
}

// testInLoadTx: a load's batch commits as a transaction does, and one
// that fails, on a username taken or on its caller's error, leaves none
// of its users; meanwhile every other transaction keeps its foreign-key
// checks (an address for a user who does not exist is refused), before a
// batch and after one, during the load and after it.
func testInLoadTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	seed(t, s)
	orphan := func(when string) {
		t.Helper()
		err := s.InTx(ctx, func(tx store.Tx) error {
			return tx.EmailAdd(ctx, &usher.Email{UserID: 1 << 40, Email: "orphan@load.test", CreatedAt: base})
		})
		if err == nil {
			t.Fatalf("%s: an address of a user who does not exist was written", when)
		}
	}
	errCaller := errors.New("the caller gives up")
	batch := func(fail error, names ...string) error {
		return s.InLoadTx(ctx, func(tx store.Tx) error {
			users := make([]*usher.User, len(names))
			for i, name := range names {
				users[i] = newUser(name, name+"@load.test", "Batch "+name)
			}
			if err := tx.UserCreateMany(ctx, users, slices.Repeat([]string{"$2a$10$hash"}, len(names))); err != nil {
				return err
			}
			return fail
		})
	}
	exists := func(name string) bool {
		t.Helper()
		_, err := s.UserGet(ctx, usher.UserKey{Username: name})
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	if loading, err := s.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	orphan("during a load, before a batch")
	if err := batch(nil, "batch1", "batch2"); err != nil {
		t.Fatal(err)
	}
	if !exists("batch1") || !exists("batch2") {
		t.Fatal("a committed batch's users are missing")
	}
	orphan("during a load, after a batch")
	var ue *usher.UniqueError
	if err := batch(nil, "batch3", "batch4", "BATCH1", "batch5"); !errors.As(err, &ue) {
		t.Fatalf("a batch with a username taken: %v, want a unique violation", err)
	}
	if err := batch(errCaller, "batch6"); !errors.Is(err, errCaller) {
		t.Fatalf("a batch its caller gave up: %v", err)
	}
	for _, name := range []string{"batch3", "batch4", "batch5", "batch6"} {
		if exists(name) {
			t.Fatalf("%s of a failed batch was written", name)
		}
	}
	orphan("during a load, after failed batches")
	if err := s.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := batch(nil, "batch7"); err != nil || !exists("batch7") {
		t.Fatalf("a batch after the load: %v", err)
	}
	orphan("after the load")
}

// testInLoadTxTurns: batches of a load written at once take their ids in
// the order of their import turns, whichever begins first, and a batch
// that fails gives its turn up to the next.
func testInLoadTxTurns(t *testing.T, s store.Store) {
	ctx := context.Background()
	seed(t, s)
	if loading, err := s.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	errCaller := errors.New("the caller gives up")
	first := usher.NextImportTurn(nil)
	second := usher.NextImportTurn(first)
	third := usher.NextImportTurn(second)
	type written struct {
		ids []int64
		err error
	}
	write := func(turn *usher.ImportTurn, fail error, names ...string) <-chan written {
		c := make(chan written, 1)
		go func() {
			users := make([]*usher.User, len(names))
			for i, name := range names {
				users[i] = newUser(name, name+"@turn.test", "Turn "+name)
			}
			err := s.InLoadTx(usher.WithImportTurn(ctx, turn), func(tx store.Tx) error {
				if err := tx.UserCreateMany(ctx, users, make([]string, len(users))); err != nil {
					return err
				}
				return fail
			})
			var ids []int64
			for _, u := range users {
				ids = append(ids, u.ID)
			}
			c <- written{ids, err}
		}()
		return c
	}
	// The later batches are sent first: each waits for the turn before it.
	w3 := write(third, nil, "turn5", "turn6")
	w2 := write(second, errCaller, "turn3", "turn4")
	time.Sleep(50 * time.Millisecond)
	w1 := write(first, nil, "turn1", "turn2")
	r1, r2, r3 := <-w1, <-w2, <-w3
	if r1.err != nil || r3.err != nil || !errors.Is(r2.err, errCaller) {
		t.Fatalf("batches: %v, %v, %v", r1.err, r2.err, r3.err)
	}
	if !(r1.ids[0] < r1.ids[1] && r1.ids[1] < r3.ids[0] && r3.ids[0] < r3.ids[1]) {
		t.Fatalf("ids %v then %v, want the first batch's before the third's", r1.ids, r3.ids)
	}
	if err := s.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
}

// testLoadPurge: a user loaded and then purged before the load finishes
// leaves nothing behind, neither the password nor the claim of the
// address, which another user may then take.
func testLoadPurge(t *testing.T, s store.Store) {
	ctx := context.Background()
	seed(t, s)
	if loading, err := s.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	users := []*usher.User{newUser("gone", "gone@purge.test", "Gone"), newUser("kept", "kept@purge.test", "Kept")}
	err := s.InLoadTx(ctx, func(tx store.Tx) error {
		return tx.UserCreateMany(ctx, users, []string{"$2a$10$hash", "$2a$10$hash"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UserPurge(ctx, users[0].ID) }); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PasswordGet(ctx, users[0].ID); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("the purged user's password: %v, want not found", err)
	}
	if h, err := s.PasswordGet(ctx, users[1].ID); err != nil || h == "" {
		t.Fatalf("the kept user's password: %q, %v", h, err)
	}
	again := newUser("again", "gone@purge.test", "Again")
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UserCreate(ctx, again, "") }); err != nil {
		t.Fatalf("the purged user's address, taken again: %v", err)
	}
	// The address is claimed again, by its new holder.
	taken := newUser("taken", "GONE@purge.test", "Taken")
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UserCreate(ctx, taken, "") }); err == nil {
		t.Fatal("an address claimed twice")
	}
}

// Loader is a store whose load can be cut short, for RunLoadSchema.
type Loader interface {
	LoadStart(ctx context.Context) (bool, error)
	LoadFinish(ctx context.Context) error
	LoadRecover(ctx context.Context) (bool, error)
	UserCreateMany(ctx context.Context, users []*usher.User, passwordHashes []string) error
	EmailHolder(ctx context.Context, emailKey string) (int64, error)
}

// RunLoadSchema checks that the objects a load sets aside come back as
// the migrations made them: after a finished load, and after one a crash
// cut short, by a store opened afresh (reopen) that recovers it, as usher
// serve does at its start; the store running a load does not recover it.
// schema describes the database's objects; during a load it must not
// contain setAside.
func RunLoadSchema(t *testing.T, db Loader, reopen func() Loader, schema func() string, setAside string) {
	ctx := context.Background()
	want := schema()
	for _, finish := range []bool{true, false} {
		if loading, err := db.LoadStart(ctx); err != nil || !loading {
			t.Fatalf("LoadStart = %v, %v", loading, err)
		}
		if got := schema(); strings.Contains(got, setAside) {
			t.Fatalf("%s stays during a load:\n%s", setAside, got)
		}
		if finish {
			if err := db.LoadFinish(ctx); err != nil {
				t.Fatal(err)
			}
			if got := schema(); got != want {
				t.Fatalf("schema after a load:\n%s\nwant\n%s", got, want)
			}
		}
	}
	if found, err := db.LoadRecover(ctx); err != nil || found {
		t.Fatalf("LoadRecover by the store running the load = %v, %v; want false", found, err)
	}
	if got := schema(); strings.Contains(got, setAside) {
		t.Fatalf("%s came back while the store that set it aside was still loading:\n%s", setAside, got)
	}
	other := reopen()
	if found, err := other.LoadRecover(ctx); err != nil || !found {
		t.Fatalf("LoadRecover of a load cut short = %v, %v; want true", found, err)
	}
	if got := schema(); got != want {
		t.Fatalf("schema after an unfinished load was recovered:\n%s\nwant\n%s", got, want)
	}
	if found, err := other.LoadRecover(ctx); err != nil || found {
		t.Fatalf("LoadRecover with no load unfinished = %v, %v; want false", found, err)
	}
	if err := reopen().LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	if got := schema(); got != want {
		t.Fatalf("schema after LoadFinish with no load unfinished:\n%s\nwant\n%s", got, want)
	}

	// Two processes that start at once (replicas of usher serve) may both
	// find a load unfinished, here one that a third is still running:
	// they take turns, one finishes it and the other finds it finished,
	// and the third goes on loading to the same end.
	loader := reopen()
	if loading, err := loader.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	var loaded []*usher.User
	batch := func(name string) {
		t.Helper()
		users := []*usher.User{newUser(name+"1", name+"1@recover.test", ""), newUser(name+"2", name+"2@recover.test", "")}
		if err := loader.UserCreateMany(ctx, users, []string{"", ""}); err != nil {
			t.Fatal(err)
		}
		loaded = append(loaded, users...)
	}
	batch("before")
	a, b := reopen(), reopen()
	var wg sync.WaitGroup
	var errs [2]error
	var found [2]bool
	for i, s := range []Loader{a, b} {
		wg.Go(func() { found[i], errs[i] = s.LoadRecover(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil || found[0] == found[1] {
		t.Fatalf("two LoadRecover at once = %v, %v; want no error and one true", found, err)
	}
	if got := schema(); got != want {
		t.Fatalf("schema after two LoadRecover at once:\n%s\nwant\n%s", got, want)
	}
	batch("after")
	if err := loader.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	if got := schema(); got != want {
		t.Fatalf("schema after the load that was recovered finished:\n%s\nwant\n%s", got, want)
	}
	for _, u := range loaded {
		if id, err := loader.EmailHolder(ctx, u.Email); err != nil || id != u.ID {
			t.Fatalf("EmailHolder(%s) = %d, %v; want %d", u.Email, id, err, u.ID)
		}
	}
}

// testLoadClaims: a load claims its users' addresses at its end, yet
// refuses during it an address claimed before; a loaded user whose
// address another loaded user added as a secondary one keeps the load
// from finishing, names both, and loses nothing; once one is changed the
// load finishes, every address is claimed by its holder, and the totals
// count every loaded user.
func testLoadClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	seed(t, s)
	before := list(t, s, usher.UserFilter{Page: usher.PageRequest{Limit: 1, WithTotal: true}}).Total
	holder := mustCreateUser(t, s, newUser("holder", "holder@load.test", ""))
	if err := s.EmailAdd(ctx, &usher.Email{UserID: holder.ID, Email: "taken@load.test", ConfirmedAt: ptr(base), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if loading, err := s.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	for _, email := range []string{"Taken@load.test", "HOLDER@load.test"} {
		err := s.UserCreateMany(ctx, []*usher.User{newUser("late", email, "")}, []string{""})
		var ue *usher.UniqueError
		if !errors.As(err, &ue) || !slices.Contains(append(ue.Fields, ue.Field), "email") {
			t.Fatalf("a loaded user with the claimed address %s: %v, want email taken", email, err)
		}
	}
	a, b := newUser("loada", "a@load.test", ""), newUser("loadb", "b@load.test", "")
	if err := s.UserCreateMany(ctx, []*usher.User{a, b}, []string{"", ""}); err != nil {
		t.Fatal(err)
	}
	if err := s.EmailAdd(ctx, &usher.Email{UserID: a.ID, Email: "B@load.test", ConfirmedAt: ptr(base), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("user %d's address b@load.test is user %d's secondary address", b.ID, a.ID)
	for range 2 {
		if err := s.LoadFinish(ctx); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("LoadFinish with a conflict: %v, want %q", err, want)
		}
	}
	if _, err := s.UserGet(ctx, usher.UserKey{ID: b.ID}); err != nil {
		t.Fatalf("the loaded user after the failed finish: %v", err)
	}
	if _, err := s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Email = "b2@load.test"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	for key, id := range map[string]int64{"a@load.test": a.ID, "b@load.test": a.ID, "b2@load.test": b.ID,
		"taken@load.test": holder.ID, "holder@load.test": holder.ID} {
		if got, err := s.EmailHolder(ctx, key); err != nil || got != id {
			t.Fatalf("EmailHolder(%s) = %d, %v, want %d", key, got, err, id)
		}
	}
	// The claims are back: an address a loaded user holds is refused.
	if err := s.UserCreate(ctx, newUser("copy", "a@load.test", ""), ""); !errors.Is(err, usher.ErrExists) {
		t.Fatalf("a user with a loaded user's address: %v, want ErrExists", err)
	}
	if got := list(t, s, usher.UserFilter{Page: usher.PageRequest{Limit: 1, WithTotal: true}}).Total; got != before+3 {
		t.Fatalf("total after the load: %d, want %d", got, before+3)
	}
}
