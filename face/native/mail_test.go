package native_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
)

// TestPasswordChangedMail: changing the password through the API mails the
// account's address when and from where it happened, with the link to the
// reset page; a wrong current password changes nothing and mails nothing.
func TestPasswordChangedMail(t *testing.T) {
	t.Parallel()
	b := setupMail(t, core.Policy{})
	const first, second = "the first long passphrase", "the second long passphrase"
	b.env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", Password: first})
	var sess sessionBody
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "pat", "password": first}}, 200, &sess)
	b.call(t, req{method: "POST", path: "/v1/auth/password", token: sess.Token,
		body: map[string]any{"current_password": "not the password at all", "new_password": second}}, 403, nil)
	b.call(t, req{method: "POST", path: "/v1/auth/password", token: sess.Token, header: map[string]string{"User-Agent": "pat-cli/2.1"},
		body: map[string]any{"current_password": first, "new_password": second}}, 204, nil)
	m, _ := b.mailTo(t, 1, "pat@example.com")
	if m.Subject != "Your password was changed" {
		t.Fatalf("subject %q", m.Subject)
	}
	for _, want := range []string{"from 127.0.0.1", "(pat-cli/2.1)", "/forgot-password",
		"the password of the account with this address was changed"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the mail lacks %q:\n%s", want, m.Body)
		}
	}
	if !strings.Contains(m.HTML, "usher") || !strings.Contains(m.HTML, "/forgot-password") {
		t.Errorf("the HTML part:\n%s", m.HTML)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if msgs, err := b.smtp.Wait(ctx, 2); err == nil {
		t.Fatalf("a second mail: %q", msgs[1].Subject)
	}
}
