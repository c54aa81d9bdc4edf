package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func newScript(name string, kind usher.ScriptKind, triggers ...usher.Trigger) *usher.Script {
	return &usher.Script{Name: name, Kind: kind, Source: "usher.log('hi')", Triggers: triggers, Enabled: true,
		Version: 1, CreatedAt: base, UpdatedAt: base}
}

func mustAddScript(t *testing.T, s store.Store, sc *usher.Script) *usher.Script {
	t.Helper()
	if err := s.ScriptAdd(context.Background(), sc); err != nil || sc.ID == 0 {
		t.Fatalf("ScriptAdd(%s): %v", sc.Name, err)
	}
	return sc
}

func testScripts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	one := newScript("one", usher.ScriptServer, usher.TriggerUserBeforeCreate, usher.TriggerUserAfterCreate)
	one.CreatedBy = a.ID
	mustAddScript(t, s, one)
	bad := newScript("bad", usher.ScriptServer, usher.TriggerUserAfterCreate)
	bad.CompileError = "SyntaxError"
	mustAddScript(t, s, bad)
	client := newScript("client", usher.ScriptClient)
	client.Bundle, client.Directory = "admin", true
	mustAddScript(t, s, client)
	if err := s.ScriptAdd(ctx, newScript("one", usher.ScriptClient)); !errors.Is(err, usher.ErrExists) {
		t.Fatalf("a second script named one: %v", err)
	}

	got, err := s.ScriptGet(ctx, "one")
	if err != nil || got.ID != one.ID || got.Kind != usher.ScriptServer || got.CreatedBy != a.ID || !got.Enabled ||
		len(got.Triggers) != 2 || got.Triggers[1] != usher.TriggerUserAfterCreate || !got.CreatedAt.Equal(base) || got.Version != 1 {
		t.Fatalf("ScriptGet: %+v, %v", got, err)
	}
	if got, _ := s.ScriptGet(ctx, "client"); !got.Directory || got.Bundle != "admin" || len(got.Triggers) != 0 {
		t.Fatalf("client script: %+v", got)
	}
	_, err = s.ScriptGet(ctx, "none")
	wantNotFound(t, err)

	later := base.Add(time.Minute)
	upd, err := s.ScriptUpdate(ctx, "one", func(sc *usher.Script) error {
		sc.Source, sc.Triggers, sc.Enabled, sc.Version, sc.UpdatedAt = "x(", []usher.Trigger{usher.TriggerBeforeLogin}, false, 2, later
		sc.CompileError = "SyntaxError: x"
		return nil
	})
	if err != nil || upd.ID != one.ID {
		t.Fatalf("ScriptUpdate: %+v, %v", upd, err)
	}
	if got, _ := s.ScriptGet(ctx, "one"); got.Source != "x(" || got.Enabled || got.Version != 2 || !got.UpdatedAt.Equal(later) ||
		len(got.Triggers) != 1 || got.Triggers[0] != usher.TriggerBeforeLogin || got.CompileError == "" {
		t.Fatalf("after update: %+v", got)
	}
	_, err = s.ScriptUpdate(ctx, "none", func(*usher.Script) error { return nil })
	wantNotFound(t, err)

	yes, no := true, false
	for _, tt := range []struct {
		name string
		f    usher.ScriptFilter
		want string
	}{
		{"all", usher.ScriptFilter{}, "[one bad client]"},
		{"server", usher.ScriptFilter{Kind: usher.ScriptServer}, "[one bad]"},
		{"invalid", usher.ScriptFilter{Invalid: &yes}, "[one bad]"},
		{"valid", usher.ScriptFilter{Invalid: &no}, "[client]"},
		{"trigger", usher.ScriptFilter{Trigger: usher.TriggerUserAfterCreate}, "[bad]"},
		{"trigger prefix is no match", usher.ScriptFilter{Trigger: "user.after"}, "[]"},
		{"enabled", usher.ScriptFilter{EnabledOnly: true}, "[bad client]"},
		{"bundle", usher.ScriptFilter{Bundle: "admin"}, "[client]"},
		{"resources", usher.ScriptFilter{Resources: []string{"auth", "role"}}, "[one]"},
		{"resource prefix is no match", usher.ScriptFilter{Resources: []string{"us"}}, "[]"},
		{"events", usher.ScriptFilter{Events: []string{"after_create", "manual"}}, "[bad]"},
		{"resources and events", usher.ScriptFilter{Resources: []string{"user"}, Events: []string{"before_login"}}, "[]"},
		{"page", usher.ScriptFilter{Page: usher.PageRequest{Limit: 1, After: &usher.Cursor{ID: one.ID}}}, "[bad]"},
	} {
		page, err := s.ScriptList(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var names []string
		for _, sc := range page.Items {
			names = append(names, sc.Name)
		}
		if got := fmt.Sprint(names); got != tt.want && !(tt.want == "[]" && len(names) == 0) {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}

	// Deleting a script deletes its runs.
	r := &usher.ScriptRun{ScriptID: bad.ID, Trigger: usher.TriggerUserAfterCreate, Resource: "user:1",
		Subject: []byte(`{"id":1}`), CreatedAt: base}
	if err := s.ScriptRunAdd(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.ScriptDelete(ctx, "bad"); err != nil {
		t.Fatalf("ScriptDelete: %v", err)
	}
	wantNotFound(t, s.ScriptDelete(ctx, "bad"))
	_, err = s.ScriptRunGet(ctx, r.ID)
	wantNotFound(t, err)
}

func testScriptRunClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	sc := mustAddScript(t, s, newScript("after", usher.ScriptServer, usher.TriggerUserAfterCreate))
	r := &usher.ScriptRun{ScriptID: sc.ID, Trigger: usher.TriggerUserAfterCreate, Resource: "user:1",
		Subject: []byte(`{"id":1}`), ActorID: a.ID, CreatedAt: base}
	if err := s.ScriptRunAdd(ctx, r); err != nil || r.ID == 0 {
		t.Fatalf("ScriptRunAdd: %v", err)
	}
	now, lease := base.Add(time.Minute), base.Add(3*time.Minute)
	got, err := s.ScriptRunClaim(ctx, now, lease, "one", 10)
	if err != nil || len(got) != 1 || got[0].ID != r.ID || got[0].Script != "after" || string(got[0].Subject) != `{"id":1}` ||
		got[0].ActorID != a.ID || got[0].Trigger != usher.TriggerUserAfterCreate || got[0].Resource != "user:1" {
		t.Fatalf("ScriptRunClaim: %+v, %v", got, err)
	}
	if again, _ := s.ScriptRunClaim(ctx, now, lease, "two", 10); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	// After the lease another sender takes it over; the first claim is void.
	if got, _ := s.ScriptRunClaim(ctx, lease, lease.Add(time.Minute), "two", 10); len(got) != 1 {
		t.Fatalf("claim after the lease: %+v", got)
	}
	wantNotFound(t, s.ScriptRunDone(ctx, r.ID, "one", lease, "ok", nil))
	if err := s.ScriptRunDone(ctx, r.ID, "two", lease, "ok", []string{"a", "b"}); err != nil {
		t.Fatalf("ScriptRunDone: %v", err)
	}
	wantNotFound(t, s.ScriptRunDone(ctx, r.ID, "two", lease, "ok", nil))
	if got, err := s.ScriptRunGet(ctx, r.ID); err != nil || got.DoneAt == nil || got.Outcome != "ok" || fmt.Sprint(got.Log) != "[a b]" {
		t.Fatalf("done: %+v, %v", got, err)
	}
	if again, _ := s.ScriptRunClaim(ctx, lease.Add(time.Hour), lease.Add(2*time.Hour), "three", 10); len(again) != 0 {
		t.Fatalf("a done run claimed: %+v", again)
	}
}

func testScriptRunConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	sc := mustAddScript(t, s, newScript("after", usher.ScriptServer, usher.TriggerUserAfterCreate))
	const n = 30
	for i := range n {
		if err := s.ScriptRunAdd(ctx, &usher.ScriptRun{ScriptID: sc.ID, Trigger: usher.TriggerUserAfterCreate,
			Resource: fmt.Sprintf("user:%d", i), Subject: []byte(`{}`), CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claim := fmt.Sprintf("worker-%d", w)
			for {
				got, err := s.ScriptRunClaim(ctx, base.Add(time.Hour), base.Add(2*time.Hour), claim, 3)
				if err != nil {
					t.Errorf("ScriptRunClaim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, r := range got {
					if err := s.ScriptRunDone(ctx, r.ID, claim, base.Add(time.Hour), "ok", nil); err != nil {
						t.Errorf("ScriptRunDone(%d): %v", r.ID, err)
					}
					mu.Lock()
					seen[r.ID]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d runs, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("run %d claimed %d times", id, k)
		}
	}
}
