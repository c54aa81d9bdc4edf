package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// deviceConnector is a provider that is never asked for more than where to
// send the browser.
type deviceConnector struct{}

func (deviceConnector) Name() string { return "corp" }
func (deviceConnector) AuthCodeURL(state, nonce, challenge string) string {
	return "https://idp.example/authorize?state=" + state
}
func (deviceConnector) Exchange(context.Context, string, string, string) (*usher.ExternalIdentity, error) {
	return nil, &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeOAuthFailed, Message: "not in this test"}
}

func setupDevice(t *testing.T, opts coretest.Options) (*coretest.Env, *clock) {
	t.Helper()
	c := &clock{t: time.Now().UTC()}
	opts.Now, opts.Connectors = c.Now, []usher.Connector{deviceConnector{}}
	return coretest.New(t, opts), c
}

// TestDeviceApprovalNeedsDescription: no single call approves a device
// log-in. ApproveDevice takes only the nonce DescribeDevice issued for that
// code to the same viewer (the browser's form token), so a face must have
// described the client to the person first, in that browser; a refused
// approval leaves the code whole.
func TestDeviceApprovalNeedsDescription(t *testing.T) {
	t.Parallel()
	testDeviceApprovalNeedsDescription(t, coretest.Options{})
}

// TestDeviceApprovalNeedsDescriptionPostgres is
// TestDeviceApprovalNeedsDescription on PostgreSQL.
func TestDeviceApprovalNeedsDescriptionPostgres(t *testing.T) {
	t.Parallel()
	testDeviceApprovalNeedsDescription(t, coretest.Options{Postgres: true})
}

func testDeviceApprovalNeedsDescription(t *testing.T, opts coretest.Options) {
	env, _ := setupDevice(t, opts)
	auth := env.Core.Auth
	ctx := from("192.0.2.7")
	d, err := auth.StartDeviceLogin(ctx, "corp")
	if err != nil {
		t.Fatal(err)
	}
	other, err := auth.StartDeviceLogin(ctx, "corp")
	if err != nil {
		t.Fatal(err)
	}
	otherInfo, err := auth.DescribeDevice(ctx, other.UserCode, "viewer")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := auth.DescribeDevice(ctx, d.UserCode, "another viewer")
	if err != nil {
		t.Fatal(err)
	}
	none, err := auth.DescribeDevice(ctx, d.UserCode, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, approval, viewer string
	}{
		{"no nonce", "", "viewer"},
		{"another code's nonce", otherInfo.Approval, "viewer"},
		{"a made-up nonce", "v1.not-sealed", "viewer"},
		{"the user code itself", d.UserCode, "viewer"},
		// The one who started the log-in describes it in a browser of
		// their own and hands its nonce to another's.
		{"another viewer's nonce", theirs.Approval, "viewer"},
		{"a nonce issued to no viewer", none.Approval, "viewer"},
		{"a nonce issued to no viewer, with none", none.Approval, ""},
	} {
		_, err := auth.ApproveDevice(ctx, d.UserCode, tt.approval, tt.viewer)
		if e := usher.AsError(err); err == nil || e.Kind != usher.KindForbidden || e.Code != usher.CodeDeviceNotApproved {
			t.Errorf("%s: %v; want forbidden %s", tt.name, err, usher.CodeDeviceNotApproved)
		}
	}
	// The same viewer's secret from another address: one a sibling host
	// planted over plain HTTP in the victim's browser, the attacker's own
	// description made with it.
	planted, err := auth.DescribeDevice(from("198.51.100.9"), d.UserCode, "viewer")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, approval string
	}{
		{"the same viewer's nonce, described at another address", planted.Approval},
	} {
		_, err := auth.ApproveDevice(ctx, d.UserCode, tt.approval, "viewer")
		if e := usher.AsError(err); err == nil || e.Kind != usher.KindForbidden || e.Code != usher.CodeDeviceNotApproved {
			t.Errorf("%s: %v; want forbidden %s", tt.name, err, usher.CodeDeviceNotApproved)
		}
	}
	info, err := auth.DescribeDevice(ctx, strings.ToLower(d.UserCode), "viewer")
	if err != nil || info.Provider != "corp" || info.Address != "192.0.2.7" || info.Device != "test" || info.Approval == "" {
		t.Fatalf("describe: %+v, %v", info, err)
	}
	st, err := auth.ApproveDevice(ctx, d.UserCode, info.Approval, "viewer")
	if err != nil || !strings.HasPrefix(st.AuthURL, "https://idp.example/authorize?state=") || st.Binding == "" {
		t.Fatalf("approve: %+v, %v", st, err)
	}
	// The code, and its nonce with it, is used up.
	_, err = auth.ApproveDevice(ctx, d.UserCode, info.Approval, "viewer")
	wantKind(t, err, usher.KindNotFound, usher.CodeDeviceNotFound)
	_, err = auth.DescribeDevice(ctx, d.UserCode, "viewer")
	wantKind(t, err, usher.KindNotFound, usher.CodeDeviceNotFound)
}

// TestDeviceStartBoundedPerAddress: one address starts a bounded number of
// device log-ins within the failure window; another address, and a call
// without one (the core's own), are not held back; the window's end lets
// the address start again.
func TestDeviceStartBoundedPerAddress(t *testing.T) {
	t.Parallel()
	testDeviceStartBoundedPerAddress(t, coretest.Options{})
}

// TestDeviceStartBoundedPerAddressPostgres is
// TestDeviceStartBoundedPerAddress on PostgreSQL.
func TestDeviceStartBoundedPerAddressPostgres(t *testing.T) {
	t.Parallel()
	testDeviceStartBoundedPerAddress(t, coretest.Options{Postgres: true})
}

func testDeviceStartBoundedPerAddress(t *testing.T, opts coretest.Options) {
	env, c := setupDevice(t, opts)
	auth := env.Core.Auth
	for _, addr := range []string{"192.0.2.9", "2001:db8::1"} {
		for i := range 30 {
			if _, err := auth.StartDeviceLogin(from(addr), "corp"); err != nil {
				t.Fatalf("%s: start %d: %v", addr, i, err)
			}
		}
	}
	// The same /64 counts as one client.
	for _, addr := range []string{"192.0.2.9", "2001:db8::2"} {
		_, err := auth.StartDeviceLogin(from(addr), "corp")
		wantKind(t, err, usher.KindRateLimited, usher.CodeTooManyAttempts)
		if e := usher.AsError(err); e.RetryAfter <= 0 || !strings.Contains(e.Message, "started from this address") {
			t.Errorf("%s: %+v", addr, e)
		}
	}
	if _, err := auth.StartDeviceLogin(from("192.0.2.10"), "corp"); err != nil {
		t.Errorf("another address: %v", err)
	}
	if _, err := auth.StartDeviceLogin(context.Background(), "corp"); err != nil {
		t.Errorf("no address: %v", err)
	}
	c.Add(core.DefaultPolicy().FailureWindow + core.DefaultPolicy().LockMax)
	if _, err := auth.StartDeviceLogin(from("192.0.2.9"), "corp"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestExpiredCodesPurgedSoon: the outbox's housekeeping deletes codes once
// they expire, not a day later, so that anonymous device starts do not pile
// up; live codes stay.
func TestExpiredCodesPurgedSoon(t *testing.T) {
	t.Parallel()
	_, tr := mailServer(t)
	env, c := setupDevice(t, coretest.Options{Transport: tr})
	for range 3 {
		if _, err := env.Core.Auth.StartDeviceLogin(context.Background(), "corp"); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(core.DefaultPolicy().RedeemTTL + time.Second)
	live, err := env.Core.Auth.StartDeviceLogin(context.Background(), "corp")
	if err != nil {
		t.Fatal(err)
	}
	count := func() int { return env.Rows(t, "codes") }
	if n := count(); n != 8 {
		t.Fatalf("codes before the housekeeping: %d; want 8", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for count() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if n := count(); n != 2 {
		t.Fatalf("codes after the housekeeping: %d; want the live start's 2", n)
	}
	if _, err := env.Core.Auth.DescribeDevice(context.Background(), live.UserCode, ""); err != nil {
		t.Fatalf("the live code: %v", err)
	}
}
