package core_test

import (
	"context"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// TestOutboxTest: an administrator's test mail is sent at once and
// audited with its outcome; a refused delivery is the outcome, not an
// error; anyone else is refused and sends nothing.
func TestOutboxTest(t *testing.T) {
	t.Parallel()
	srv, tr := mailServer(t)
	env := coretest.New(t, coretest.Options{Transport: tr, Policy: core.Policy{MaxFailuresPerKey: 3}})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true, Password: "root's long passphrase"})
	bob := env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com", Password: "bob's long passphrase"})
	outbox := env.Core.Outbox
	for _, tt := range []struct {
		name string
		ctx  context.Context
		to   string
		kind usher.Kind
	}{
		{"anonymous", context.Background(), "x@example.org", usher.KindUnauthenticated},
		{"plain user", as(bob, usher.ScopeAPI), "x@example.org", usher.KindForbidden},
		{"read-only token", as(admin, usher.ScopeReadAPI), "x@example.org", usher.KindForbidden},
		{"impersonation", usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser,
			User: admin, Impersonator: admin, Scopes: []string{usher.ScopeAPI}}), "x@example.org", usher.KindForbidden},
		{"not an address", as(admin), "x", usher.KindInvalid},
		{"a header in the address", as(admin), "x@example.org\r\nBcc: y@example.org", usher.KindInvalid},
	} {
		if _, err := outbox.Test(tt.ctx, tt.to); usher.AsError(err).Kind != tt.kind || err == nil {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.kind)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("refused tests sent %d mails", n)
	}
	res, err := outbox.Test(as(admin), "x@example.org")
	if err != nil || !res.Sent || res.Error != "" {
		t.Fatalf("test mail: %+v, %v", res, err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].To[0] != "x@example.org" {
		t.Fatalf("the server got %+v", msgs)
	}
	srv.FailNext(1)
	res, err = outbox.Test(as(admin), "x@example.org")
	if err != nil || res.Sent || res.Error == "" {
		t.Fatalf("refused test mail: %+v, %v", res, err)
	}
	page, err := env.Core.Audit.List(as(admin), usher.AuditFilter{Action: "mail.test"})
	if err != nil || len(page.Items) != 2 || page.Items[0].Meta["outcome"] != "failed" || page.Items[1].Meta["outcome"] != "sent" ||
		page.Items[0].ActorID != admin.ID || page.Items[0].ResourceID != "x@example.org" {
		t.Fatalf("the audit: %+v, %v", page, err)
	}
	if _, err := outbox.Test(as(admin), "x@example.org"); err != nil {
		t.Fatalf("the third test: %v", err)
	}
	if _, err := outbox.Test(as(admin), "x@example.org"); usher.AsError(err).Kind != usher.KindRateLimited {
		t.Fatalf("the fourth test within the window: %v, want rate limited", err)
	}
}
