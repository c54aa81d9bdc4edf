package core_test

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/mail"
	"usher/mail/smtptest"
)

// mailedCode finds a one-time code in a mail: 32 base62 characters on a
// line of their own.
var mailedCode = regexp.MustCompile(`(?m)^\s+([0-9A-Za-z]{32})\s*$`)

// mailServer starts an SMTP server for the test and returns it with a
// transport that delivers to it.
func mailServer(t *testing.T) (*smtptest.Server, *mail.SMTP) {
	t.Helper()
	srv := smtptest.New(t)
	tr, err := mail.NewSMTP(srv.URL(), "usher@example.test")
	if err != nil {
		t.Fatal(err)
	}
	return srv, tr
}

// TestCreateSendsConfirmation checks UserCreate.SendConfirmation (GitLab's
// confirm, true by default): the core mails the address a code, over SMTP
// from its outbox, and keeps the account pending until the code comes
// back; an address an administrator marks confirmed is mailed nothing.
func TestCreateSendsConfirmation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		policy    core.Policy
		in        usher.UserCreate
		mailed    bool
		state     usher.UserState
		confirmed bool
	}{
		{name: "asked", in: usher.UserCreate{SendConfirmation: true},
			mailed: true, state: usher.StatePending},
		{name: "asked, the policy skips confirmation", policy: core.Policy{SkipEmailConfirmation: true},
			in: usher.UserCreate{SendConfirmation: true}, mailed: true, state: usher.StateActive},
		{name: "asked, with a state", in: usher.UserCreate{SendConfirmation: true, State: usher.StateActive},
			mailed: true, state: usher.StateActive},
		{name: "asked, but confirmed by an administrator (confirm=false)",
			in:    usher.UserCreate{SendConfirmation: true, SkipConfirmation: true},
			state: usher.StateActive, confirmed: true},
		{name: "asked, marked confirmed", in: usher.UserCreate{SendConfirmation: true, EmailConfirmed: true},
			state: usher.StateActive, confirmed: true},
		{name: "not asked", in: usher.UserCreate{}, state: usher.StateActive},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, tr := mailServer(t)
			env := coretest.New(t, coretest.Options{Policy: tt.policy, Transport: tr})
			admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
			in := tt.in
			in.Username, in.Email, in.Password = "dana", "dana@example.com", "correct horse battery staple"
			u, err := env.Core.Users.Create(as(admin), in)
			if err != nil {
				t.Fatal(err)
			}
			if u.State != tt.state || (u.EmailConfirmedAt != nil) != tt.confirmed {
				t.Fatalf("created %s, confirmed %v; want %s, %v", u.State, u.EmailConfirmedAt != nil, tt.state, tt.confirmed)
			}
			sent, failed, err := env.Core.Outbox.DeliverDue(context.Background(), 10)
			if err != nil || failed != 0 {
				t.Fatalf("deliver: %d sent, %d failed, %v", sent, failed, err)
			}
			msgs := srv.Messages()
			if !tt.mailed {
				if sent != 0 || len(msgs) != 0 {
					t.Fatalf("%d mails sent, want none", len(msgs))
				}
				return
			}
			if sent != 1 || len(msgs) != 1 || !slices.Contains(msgs[0].To, "dana@example.com") {
				t.Fatalf("mails: %d sent, %+v", sent, msgs)
			}
			code := mailedCode.FindStringSubmatch(msgs[0].Body)
			if code == nil {
				t.Fatalf("the mail has no code:\n%s", msgs[0].Body)
			}
			got, err := env.Core.Auth.Confirm(context.Background(), code[1])
			if err != nil || got.EmailConfirmedAt == nil || got.State != usher.StateActive {
				t.Fatalf("confirm: %+v, %v", got, err)
			}
		})
	}
}

// TestCreateConfirmedOnlyByAdministrators checks that only an
// administrator creates an account with its address confirmed: anyone a
// rule lets create users must let the owner prove the address.
func TestCreateConfirmedOnlyByAdministrators(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	role, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: "onboarding"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.SetRules(as(b.admin), usher.GroupRef{ID: role.ID},
		[]usher.Rule{{Resource: "user", Operation: "create", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(as(b.admin), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: b.bob.ID}, ""); err != nil {
		t.Fatal(err)
	}
	_, err = b.users.Create(as(b.bob), usher.UserCreate{Username: "erin", Email: "erin@example.com", SkipConfirmation: true})
	wantKind(t, err, usher.KindForbidden, "")
	u, err := b.users.Create(as(b.bob), usher.UserCreate{Username: "erin", Email: "erin@example.com", SendConfirmation: true})
	if err != nil || u.EmailConfirmedAt != nil || u.State != usher.StatePending {
		t.Fatalf("create with a confirmation mail: %+v, %v", u, err)
	}
	if m, err := b.env.Store.OutboxGet(context.Background(), 1); err != nil || m.To != "erin@example.com" || m.Kind != "confirm" {
		t.Fatalf("the queued mail: %+v, %v", m, err)
	}
}

// TestLiftingGivesBackPending: lifting a block or a suspension of an
// account whose address is unproved gives back its pending state, walked
// back through a suspension that was blocked, on both backends; an
// account made active by an administrator goes back to active.
func TestLiftingGivesBackPending(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			env := coretest.New(t, coretest.Options{Postgres: pg})
			admin := as(env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true}))
			users := env.Core.Users
			for i, tt := range []struct {
				name  string
				in    usher.UserCreate
				steps []func(context.Context, usher.UserKey) (*usher.User, error)
				want  usher.UserState
			}{
				{"pending, block, unblock", usher.UserCreate{SendConfirmation: true},
					[]func(context.Context, usher.UserKey) (*usher.User, error){users.Block, users.Unblock}, usher.StatePending},
				{"pending, suspend, unsuspend", usher.UserCreate{SendConfirmation: true},
					[]func(context.Context, usher.UserKey) (*usher.User, error){users.Suspend, users.Unsuspend}, usher.StatePending},
				{"pending, suspend, block, unblock", usher.UserCreate{SendConfirmation: true},
					[]func(context.Context, usher.UserKey) (*usher.User, error){users.Suspend, users.Block, users.Unblock}, usher.StatePending},
				{"pending, block, unblock twice", usher.UserCreate{SendConfirmation: true},
					[]func(context.Context, usher.UserKey) (*usher.User, error){users.Block, users.Unblock, users.Block, users.Unblock}, usher.StatePending},
				{"active, unproved, block, unblock", usher.UserCreate{},
					[]func(context.Context, usher.UserKey) (*usher.User, error){users.Block, users.Unblock}, usher.StateActive},
				// Other events about the user, however many, hide no block:
				// a walk through the latest thousand of them gave up and
				// answered active.
				{"pending, block, renamed 1,001 times, unblock", usher.UserCreate{SendConfirmation: true},
					[]func(context.Context, usher.UserKey) (*usher.User, error){users.Block, renames(users, 1001), users.Unblock}, usher.StatePending},
			} {
				in := tt.in
				in.Username = "user" + strconv.Itoa(i)
				in.Email = in.Username + "@example.com"
				u, err := users.Create(admin, in)
				if err != nil {
					t.Fatal(err)
				}
				for _, step := range tt.steps {
					if u, err = step(admin, usher.UserKey{ID: u.ID}); err != nil {
						t.Fatalf("%s: %v", tt.name, err)
					}
				}
				if u.State != tt.want {
					t.Errorf("%s: %s, want %s", tt.name, u.State, tt.want)
				}
			}
		})
	}
}

// renames returns a step that renames a user n times, each rename an
// audit event about it.
func renames(users *core.Users, n int) func(context.Context, usher.UserKey) (*usher.User, error) {
	return func(ctx context.Context, key usher.UserKey) (u *usher.User, err error) {
		for i := range n {
			name := "Name " + strconv.Itoa(i)
			if u, err = users.Update(ctx, key, usher.UserUpdate{Name: &name}); err != nil {
				return nil, err
			}
		}
		return u, nil
	}
}
