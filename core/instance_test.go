package core_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/password"
)

// signupBody is a sign-up with a fresh username.
func signupBody(name string) usher.Signup {
	return usher.Signup{Username: name, Email: name + "@example.com", Password: "a long enough passphrase"}
}

func TestInstanceSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.env.Core.Instance

	// Only administrators, or a rule, read or change them.
	_, err := inst.List(as(b.alice), "")
	wantKind(t, err, usher.KindForbidden, "")
	_, err = inst.Set(as(b.alice), "ui.theme", []byte(`"dark"`))
	wantKind(t, err, usher.KindForbidden, "")
	_, err = inst.Set(context.Background(), "ui.theme", []byte(`"dark"`))
	wantKind(t, err, usher.KindUnauthenticated, "")
	_, err = inst.Set(as(b.admin, usher.ScopeReadAPI), "ui.theme", []byte(`"dark"`))
	wantKind(t, err, usher.KindForbidden, "")

	_, events := b.env.Counts(t)
	st, err := inst.Set(as(b.admin), "ui.theme", []byte(` { "name" : "dark" } `))
	if err != nil || string(st.Value) != `{"name":"dark"}` || st.UpdatedBy != b.admin.ID {
		t.Fatalf("Set: %+v, %v", st, err)
	}
	// Setting the same value again changes nothing and audits nothing.
	if _, err := inst.Set(as(b.admin), "ui.theme", []byte(`{"name":"dark"}`)); err != nil {
		t.Fatal(err)
	}
	if _, after := b.env.Counts(t); after != events+1 {
		t.Fatalf("audit events: %d, want %d", after, events+1)
	}
	got, err := inst.Get(as(b.admin), "ui.theme")
	if err != nil || string(got.Value) != `{"name":"dark"}` {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	_, err = inst.Get(as(b.admin), "ui.missing")
	wantKind(t, err, usher.KindNotFound, usher.CodeSettingNotFound)

	// Many at once; null deletes; a bad one refuses them all.
	out, err := inst.Update(as(b.admin), []usher.InstanceSettingValue{
		{Name: "general.mail.from", Value: []byte(`"usher@example.com"`)}, {Name: "ui.theme"}, {Name: "ui.logo", Value: []byte("null")}})
	if err != nil || len(out) != 1 || out[0].Name != "general.mail.from" {
		t.Fatalf("Update: %+v, %v", out, err)
	}
	list, err := inst.List(as(b.admin), "ui.")
	if err != nil || len(list) != 0 {
		t.Fatalf("List(ui.) after delete: %+v, %v", list, err)
	}
	for _, tc := range []struct {
		name  string
		value string
	}{
		{"unknown prefix", "nope.x"}, {"upper case", "ui.Theme"}, {"empty word", "ui..x"},
	} {
		_, err := inst.Set(as(b.admin), tc.value, []byte("1"))
		wantKind(t, err, usher.KindUnprocessable, "")
	}
	for _, tc := range []struct{ name, setting, value string }{
		{"not JSON", "ui.x", "{"},
		{"not a boolean", usher.SettingSignupEnabled, `"no"`},
		{"too large", "ui.x", `"` + string(make([]byte, 17<<10)) + `"`},
	} {
		_, err := inst.Update(as(b.admin), []usher.InstanceSettingValue{{Name: "ui.ok", Value: []byte("1")}, {Name: tc.setting, Value: []byte(tc.value)}})
		if usher.ErrorKind(err) != usher.KindUnprocessable {
			t.Errorf("%s: %v, want unprocessable", tc.name, err)
		}
	}
	if _, err := inst.Get(as(b.admin), "ui.ok"); usher.ErrorKind(err) != usher.KindNotFound {
		t.Fatalf("a refused update wrote: %v", err)
	}

	// A rule lets a non-administrator manage them.
	bg := &groupBundle{bundle: b, g: b.env.Core.Groups}
	bg.grantRole(t, "settings-admins", b.alice, usher.Rule{Resource: "instance_settings", Operation: "manage", Access: usher.Allow})
	if _, err := inst.Set(as(b.alice), "ui.colour", []byte(`"red"`)); err != nil {
		t.Fatalf("with a rule: %v", err)
	}
}

func TestInstanceSettingsDriveSignupAndReset(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Policy: core.Policy{SignupEnabled: true}})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	ctx := context.Background()
	c := env.Core

	current := func() map[string]json.RawMessage {
		t.Helper()
		cur, err := c.Instance.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cur
	}
	if cur := current(); string(cur[usher.SettingSignupEnabled]) != "true" || string(cur[usher.SettingPasswordResetEnabled]) != "true" {
		t.Fatalf("current by default: %s", cur)
	}
	if _, err := c.Auth.Signup(ctx, signupBody("before")); err != nil {
		t.Fatal(err)
	}
	// The stored setting wins over the policy, at once.
	if _, err := c.Instance.Set(as(admin), usher.SettingSignupEnabled, []byte("false")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Auth.Signup(ctx, signupBody("after"))
	wantKind(t, err, usher.KindForbidden, usher.CodeSignupDisabled)
	if cur := current(); string(cur[usher.SettingSignupEnabled]) != "false" {
		t.Fatalf("current: %s", cur)
	}
	// Deleting it gives the policy back.
	if _, err := c.Instance.Set(as(admin), usher.SettingSignupEnabled, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth.Signup(ctx, signupBody("again")); err != nil {
		t.Fatal(err)
	}
	// Internal log-in off turns sign-up and password reset off.
	if _, err := c.Instance.Set(as(admin), usher.SettingInternalEnabled, []byte("false")); err != nil {
		t.Fatal(err)
	}
	_, err = c.Auth.Signup(ctx, signupBody("internal"))
	wantKind(t, err, usher.KindForbidden, usher.CodeSignupDisabled)
	err = c.Auth.RequestPasswordReset(ctx, "root@example.com")
	wantKind(t, err, usher.KindForbidden, usher.CodePasswordResetOff)

	if _, err := c.Instance.Update(as(admin), []usher.InstanceSettingValue{{Name: usher.SettingInternalEnabled},
		{Name: usher.SettingPasswordResetEnabled, Value: []byte("false")}, {Name: "ui.brand", Value: []byte(`"Usher"`)}}); err != nil {
		t.Fatal(err)
	}
	err = c.Auth.RequestPasswordReset(ctx, "root@example.com")
	wantKind(t, err, usher.KindForbidden, usher.CodePasswordResetOff)
	cur := current()
	if string(cur[usher.SettingPasswordResetEnabled]) != "false" || string(cur["ui.brand"]) != `"Usher"` {
		t.Fatalf("current: %s", cur)
	}
	if _, ok := cur["general.mail.from"]; ok {
		t.Fatal("current shows more than ui.* and the auth flags")
	}
}

// TestInstanceSettingsAcrossReplicas runs two cores on one database: a
// change through one applies on the other within the settings' bound.
func TestInstanceSettingsAcrossReplicas(t *testing.T) {
	t.Parallel()
	policy := core.Policy{SignupEnabled: true}
	env := coretest.New(t, coretest.Options{Policy: policy})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	other := core.New(core.Config{Store: env.Replica(t), Policy: policy,
		Hasher: password.NewHasher(coretest.FastParams, password.Pool{Queue: 64})})
	ctx := context.Background()

	// The other core reads the settings, and keeps them: it writes
	// nothing meanwhile that would make it read them again.
	signupOn := func() bool {
		t.Helper()
		cur, err := other.Instance.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(cur[usher.SettingSignupEnabled]) == "true"
	}
	if !signupOn() {
		t.Fatal("sign-up starts off")
	}
	if _, err := env.Core.Instance.Set(as(admin), usher.SettingSignupEnabled, []byte("false")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for signupOn() {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the other core still has sign-up on after 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("seen by the other core after %v", time.Since(start))
	_, err := other.Auth.Signup(ctx, signupBody("replica"))
	wantKind(t, err, usher.KindForbidden, usher.CodeSignupDisabled)
}

// TestInternalLoginOff: auth.internal.enabled false refuses every log-in
// by password, right or wrong, with one code, and hides the password
// method; tokens go on working, and turning it on again restores log-in.
func TestInternalLoginOff(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true,
		Password: "correct horse battery staple"})
	tok := env.MustToken(t, admin.ID, usher.TokenPersonal)
	ctx := context.Background()
	c := env.Core
	if _, err := c.Instance.Set(as(admin), usher.SettingInternalEnabled, []byte("false")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, login, password string }{
		{"the right password", "root", "correct horse battery staple"},
		{"a wrong password", "root", "wrong"},
		{"an unknown login", "nobody@example.com", "x"},
		{"no password", "root", ""},
	} {
		_, err := c.Auth.Login(ctx, tt.login, tt.password)
		if e := usher.AsError(err); err == nil || e.Kind != usher.KindForbidden || e.Code != usher.CodePasswordLoginOff {
			t.Fatalf("%s: %v, want forbidden %s", tt.name, err, usher.CodePasswordLoginOff)
		}
	}
	for _, m := range c.Auth.Methods(ctx) {
		if m.Name == "password" {
			t.Fatal("the password method is listed while it is off")
		}
	}
	if _, err := c.Auth.Authenticate(ctx, tok); err != nil {
		t.Fatalf("a token stopped working: %v", err)
	}
	if _, err := c.Instance.Set(as(admin), usher.SettingInternalEnabled, []byte("true")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth.Login(ctx, "root", "correct horse battery staple"); err != nil {
		t.Fatalf("log-in after turning it on: %v", err)
	}
}

// TestSignupMethods: the ways to sign up follow the settings, and with
// none open the answer is Escape's "Signup disabled.".
func TestSignupMethods(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Policy: core.Policy{SignupEnabled: true}})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	ctx := context.Background()
	c := env.Core
	methods, err := c.Auth.SignupMethods(ctx)
	if err != nil || len(methods) != 1 || methods[0].Name != "password" || methods[0].Type != "secret-token" {
		t.Fatalf("open: %+v, %v", methods, err)
	}
	for _, tt := range []struct{ name, value string }{
		{usher.SettingSignupEnabled, "false"},
		{usher.SettingInternalEnabled, "false"},
	} {
		if _, err := c.Instance.Set(as(admin), tt.name, []byte(tt.value)); err != nil {
			t.Fatal(err)
		}
		_, err := c.Auth.SignupMethods(ctx)
		wantKind(t, err, usher.KindForbidden, usher.CodeSignupDisabled)
		if _, err := c.Instance.Set(as(admin), tt.name, nil); err != nil {
			t.Fatal(err)
		}
	}
}
