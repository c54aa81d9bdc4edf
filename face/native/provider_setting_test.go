package native_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"usher"
	"usher/connector"
	"usher/connector/oidctest"
	"usher/core"
	"usher/core/coretest"
)

// TestProviderSettings turns external log-in off through the instance
// settings, first for one provider and then for all, and checks every step
// of a log-in: the methods listed, the start, and a log-in already under
// way when the provider was turned off.
func TestProviderSettings(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, "usher-client", "usher-secret")
	const public = "http://usher.test"
	oidc, err := connector.NewOIDC(context.Background(), connector.OIDCConfig{Name: "corp", Issuer: idp.Issuer(),
		ClientID: "usher-client", ClientSecret: "usher-secret", RedirectURL: public + "/v1/auth/oauth/corp/callback"})
	if err != nil {
		t.Fatal(err)
	}
	b := setupWith(t, coretest.Options{Connectors: []usher.Connector{oidc}, Policy: core.Policy{PublicURL: public, SignupEnabled: true}})
	idp.SetUser(oidctest.User{Subject: "sub-9", Email: "ada@corp.example", EmailVerified: true, Username: "ada"})

	set := func(name string, value any) {
		t.Helper()
		want := 200
		if value == nil {
			want = 204
		}
		b.call(t, req{method: "PUT", path: "/v1/settings/" + name, token: b.adminTok, body: map[string]any{"value": value}}, want, nil)
	}
	offered := func() bool {
		t.Helper()
		var methods struct{ Methods []struct{ Name string } }
		b.call(t, req{method: "GET", path: "/v1/auth/methods"}, 200, &methods)
		for _, m := range methods.Methods {
			if m.Name == "corp" {
				return true
			}
		}
		return false
	}
	current := func() (all, corp string) {
		t.Helper()
		var cur map[string]json.RawMessage
		b.call(t, req{method: "GET", path: "/v1/settings/current"}, 200, &cur)
		return string(cur["auth.external.enabled"]), string(cur["auth.external.providers.corp.enabled"])
	}
	start := func() *response {
		return b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/start?redirect_url=/app"})
	}
	refused := func(what string, res *response) {
		t.Helper()
		if res.status != http.StatusForbidden || res.problem(t).Code != usher.CodeProviderDisabled {
			t.Fatalf("%s: %d %s, want 403 %s", what, res.status, res.body, usher.CodeProviderDisabled)
		}
	}

	if !offered() {
		t.Fatal("corp is not offered while nothing turns it off")
	}
	if all, corp := current(); all != "true" || corp != "true" {
		t.Fatalf("current: external %s, corp %s", all, corp)
	}

	// A log-in is under way when the provider is turned off: it does not
	// complete, and no account is made.
	res := start()
	if res.status != http.StatusFound {
		t.Fatalf("start: %d %s", res.status, res.body)
	}
	binding := cookieValue(t, res, "usher_oauth")
	callback, err := idp.Login(context.Background(), res.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	set("auth.external.providers.corp.enabled", false)
	refused("a callback after the provider was turned off", b.api.do(t, req{method: "GET",
		path: "/v1/auth/oauth/corp/callback?" + callback.RawQuery, header: map[string]string{"Cookie": "usher_oauth=" + binding}}))
	var users userList
	b.call(t, req{method: "GET", path: "/v1/users?q=ada", token: b.adminTok}, 200, &users)
	if len(users.Items) != 0 {
		t.Fatalf("the refused log-in made an account: %+v", users.Items)
	}
	if offered() {
		t.Fatal("a provider turned off is still offered")
	}
	refused("a start while the provider is off", start())
	if all, corp := current(); all != "true" || corp != "false" {
		t.Fatalf("current: external %s, corp %s", all, corp)
	}

	// Turned back on, then every provider off at once.
	set("auth.external.providers.corp.enabled", nil)
	if res := start(); res.status != http.StatusFound {
		t.Fatalf("start after turning corp back on: %d %s", res.status, res.body)
	}
	set("auth.external.enabled", false)
	refused("a start while external log-in is off", start())
	if offered() {
		t.Fatal("providers are offered while external log-in is off")
	}
	if all, corp := current(); all != "false" || corp != "false" {
		t.Fatalf("current: external %s, corp %s", all, corp)
	}

	// The provider switches take only booleans; an unknown provider's
	// switch is a setting like any other.
	for _, name := range []string{"auth.external.enabled", "auth.external.providers.corp.enabled"} {
		p := b.call(t, req{method: "PUT", path: "/v1/settings/" + name, token: b.adminTok, body: map[string]any{"value": "no"}}, 422, nil).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Code != usher.CodeInvalid {
			t.Fatalf("%s = \"no\": %+v", name, p)
		}
	}
	set("auth.external.enabled", nil)
	if !offered() {
		t.Fatal("corp is not offered once the settings are deleted")
	}
}
