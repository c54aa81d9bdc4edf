package pages_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"usher"
	"usher/core/coretest"
)

// screens, when set, has the browser tests write a screenshot of each page
// they visit to docs/screens: go test ./face/pages -run Browser -screens.
var screens = flag.Bool("screens", false, "write the browser tests' screenshots to docs/screens")

// chrome is the one headless Chromium the browser tests share; each test
// opens its own browser context in it, with its own cookies.
type chrome struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

var shared chrome

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

// tab returns a new tab in a browser context of its own, or skips the test
// when there is no Chromium (and fails it on CI, which installs one).
func tab(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	shared.once.Do(func() {
		opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(filepath.Join(os.TempDir(), fmt.Sprintf("usher-chromium-%d", os.Getpid()))), chromedp.WindowSize(1024, 768)}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		shared.ctx, shared.cancel = ctx, func() { cancel(); cancelAlloc() }
		shared.err = chromedp.Do(ctx)
	})
	if shared.err != nil {
		t.Fatalf("start chromium: %v", shared.err)
	}
	ctx, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// chromium returns the browser's path, or skips the test when there is
// none (and fails it on CI, which installs one).
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI has no chromium: .ci/run installs it")
		}
		t.Skip("no chromium on this machine")
	}
	return path
}

// run runs steps in the tab, failing the test on an error.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// onPage waits until the page's h1 reads title.
func onPage(title string) chromedp.Action[chromedp.Void] {
	return waitFor(fmt.Sprintf(`document.readyState === "complete" && !!document.querySelector("h1") && document.querySelector("h1").textContent === %q`, title))
}

// waitFor waits until the expression is true in the page. It asks again
// and again rather than polling in the page, which a navigation would end.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, tg)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				body, _ := chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)(context.WithoutCancel(ctx), tg)
				return chromedp.Void{}, fmt.Errorf("waiting for %s, on %q: %w", expr, body, ctx.Err())
			case <-time.After(25 * time.Millisecond):
			}
		}
	}
}

// submit clicks the first element sel matches and waits until the browser
// has left the page for the next.
func submit(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.left = "yes"`),
		chromedp.Click(chromedp.CSS(sel)),
		waitFor(`document.readyState === "complete" && document.documentElement.dataset.left !== "yes"`))
}

// fill types value into the field with id.
func fill(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS("#"+id), value)
}

// click clicks the first element sel matches.
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel))
}

// shoot keeps a screenshot of the page as docs/screens/name.png when the
// -screens flag asks for it.
func shoot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if !*screens {
			return chromedp.Void{}, nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join("..", "..", "docs", "screens", name+".png"), png, 0o644)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBrowserAccountJourney: sign up, follow the mail's link, confirm, log
// in, change the password, end another session, create and revoke a
// token — in Chromium.
func TestBrowserAccountJourney(t *testing.T) {
	t.Parallel()
	ctx := tab(t)
	b := setup(t)
	u := b.srv.URL
	run(t, ctx, chromedp.Navigate(u+"/signup"), onPage("Sign up"),
		fill("username", "erin"), fill("email", "erin@example.com"), fill("name", "Erin Example"), fill("password", password),
		shoot(t, "signup"), submit("main button[type=submit]"), onPage("Check your mail"))
	link := b.link(t, b.mailTo(t, 1, "erin@example.com"), "/confirm")
	run(t, ctx, chromedp.Navigate(u+link), onPage("Confirm your e-mail address"), shoot(t, "confirm"),
		submit("main button[type=submit]"), onPage("Address confirmed"))

	other := b.browser(t)
	other.login(t, "erin", password)
	run(t, ctx, chromedp.Navigate(u+"/login"), onPage("Log in"), fill("login", "erin"), fill("password", password),
		shoot(t, "login"), submit("main button[type=submit]"), onPage("You are signed in"), shoot(t, "home"))

	run(t, ctx, chromedp.Navigate(u+"/account"), onPage("Your profile"), shoot(t, "account"),
		chromedp.Navigate(u+"/account/sessions"), onPage("Your sessions"))
	if n := eval[int](t, ctx, `document.querySelectorAll("tbody tr").length`); n != 2 {
		t.Fatalf("%d sessions listed, want 2", n)
	}
	run(t, ctx, shoot(t, "sessions"), submit("tbody form button"), onPage("Your sessions"))
	if got := eval[string](t, ctx, `document.querySelector("[role=status]").textContent`); got != "The session is ended." {
		t.Fatalf("after ending: %q", got)
	}
	if p := other.get(t, "/account"); p.status != http.StatusSeeOther {
		t.Fatalf("the ended session still works: %d", p.status)
	}

	run(t, ctx, chromedp.Navigate(u+"/account/password"), onPage("Change your password"),
		fill("current_password", password), fill("new_password", "erin's second passphrase"),
		submit("main button[type=submit]"), onPage("Change your password"))
	if got := eval[string](t, ctx, `document.querySelector("[role=status]").textContent`); got != "Your password is changed." {
		t.Fatalf("after the change: %q", got)
	}

	run(t, ctx, chromedp.Navigate(u+"/account/tokens"), onPage("Personal access tokens"),
		fill("name", "deploy"), click("#scope-read_api"), fill("expires_days", "7"),
		submit("main form.card button[type=submit]"), onPage("Personal access tokens"), shoot(t, "tokens"))
	secret := eval[string](t, ctx, `document.getElementById("secret").value`)
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), secret); err != nil {
		t.Fatalf("the token the page showed: %v", err)
	}
	run(t, ctx, submit("tbody form button"), onPage("Personal access tokens"))
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("the revoked token still works")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#secret").length`); n != 0 {
		t.Fatal("the secret is shown again")
	}
}

// TestBrowserForgotPassword: the reset mail's link, a new password, and a
// log-in with it.
func TestBrowserForgotPassword(t *testing.T) {
	t.Parallel()
	ctx := tab(t)
	b := setup(t)
	u := b.srv.URL
	run(t, ctx, chromedp.Navigate(u+"/login"), onPage("Log in"), submit(`a[href="/forgot-password"]`), onPage("Forgot your password?"),
		fill("email", "plain@example.com"), shoot(t, "forgot-password"), submit("main button[type=submit]"), onPage("Check your mail"))
	link := b.link(t, b.mailTo(t, 1, "plain@example.com"), "/reset-password")
	run(t, ctx, chromedp.Navigate(u+link), onPage("Choose a new password"), fill("password", "plain's new passphrase"),
		shoot(t, "reset-password"), submit("main button[type=submit]"), onPage("Password changed"),
		chromedp.Navigate(u+"/login"), onPage("Log in"), fill("login", "plain"), fill("password", "plain's new passphrase"),
		submit("main button[type=submit]"), onPage("You are signed in"))
}

// TestBrowserAdminJourney: an administrator searches 10,000 users as they
// type, edits one, sends them a password reset, ends their sessions and
// blocks them — their open session refused at once each time — puts a
// user in a team, creates and revokes a service account's token, and
// imports a file, following its progress to the end.
func TestBrowserAdminJourney(t *testing.T) {
	t.Parallel()
	chromium(t)
	b := setup(t)
	batch := make([]usher.ImportUser, 10000)
	for i := range batch {
		batch[i] = usher.ImportUser{UserCreate: usher.UserCreate{Username: fmt.Sprintf("user%05d", i),
			Email: fmt.Sprintf("user%05d@example.com", i), Name: fmt.Sprintf("User Number %d", i)}}
	}
	if _, err := b.env.Core.Users.Import(coretest.System(), batch); err != nil {
		t.Fatal(err)
	}
	team := mustGroup(t, b, usher.GroupTeam, "crew", b.admin.ID)
	victim := b.browser(t)
	victim.login(t, "plain", password)
	// The tab's time runs from here, after the import.
	ctx := tab(t)
	u := b.srv.URL
	run(t, ctx, chromedp.Navigate(u+"/login"), onPage("Log in"), fill("login", "root"), fill("password", password),
		submit("main button[type=submit]"), onPage("You are signed in"),
		chromedp.Navigate(u+"/admin/users"), onPage("Users"), shoot(t, "admin-users"), fill("q", "plain"))
	// The live search replaces the results as the administrator types,
	// without a submit.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#results tbody tr").length === 1`)); err != nil {
		t.Fatalf("the live search: %v", err)
	}
	run(t, ctx, shoot(t, "admin-search"), submit("#results tbody a"), onPage("plain"), shoot(t, "admin-user"),
		chromedp.SetValue(chromedp.CSS("#name"), "Plain Edited"), submit("#edit button"), onPage("plain"))
	if got := notice(t, ctx); got != "The user is saved." {
		t.Fatalf("after the edit: %q", got)
	}
	if u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.user.ID}); err != nil || u.Name != "Plain Edited" {
		t.Fatalf("the edited user: %+v, %v", u, err)
	}

	run(t, ctx, submit(`form[action$="/reset"] button`), onPage("plain"))
	b.link(t, b.mailTo(t, 1, "plain@example.com"), "/reset-password")
	run(t, ctx, submit(`form[action$="/end-sessions"] button`), onPage("plain"))
	if got := notice(t, ctx); got != "Sessions ended: 1." {
		t.Fatalf("after ending the sessions: %q", got)
	}
	if p := victim.get(t, "/account"); p.status != http.StatusSeeOther {
		t.Fatalf("the ended session: %d", p.status)
	}
	victim.login(t, "plain", password)
	run(t, ctx, submit(`form[action$="/block"] button`), onPage("plain"))
	if got := eval[string](t, ctx, `document.getElementById("state").textContent`); got != "blocked" {
		t.Fatalf("state %q", got)
	}
	if p := victim.get(t, "/account"); p.status != http.StatusSeeOther {
		t.Fatalf("the blocked user's session: %d", p.status)
	}

	run(t, ctx, chromedp.Navigate(u+"/admin/groups"), onPage("Groups"), submit(`a[href="/admin/groups/`+itoa(team.ID)+`"]`),
		onPage("The crew"), fill("member", "user00042"), chromedp.SetValue(chromedp.CSS("#level"), "write"),
		submit("#add-member button"), onPage("The crew"), shoot(t, "admin-group"))
	if got := eval[string](t, ctx, `document.querySelector("#members tbody").innerText`); !strings.Contains(got, "user00042") {
		t.Fatalf("the members: %q", got)
	}
	run(t, ctx, fill("account-username", "crew-bot"), submit("#add-account button"), onPage("crew-bot"),
		submit("#add-token button"), onPage("crew-bot"), shoot(t, "admin-account"))
	secret := eval[string](t, ctx, `document.getElementById("secret").value`)
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), secret); err != nil {
		t.Fatalf("the service account's token: %v", err)
	}
	run(t, ctx, submit("#tokens tbody form button"), onPage("crew-bot"))
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("the revoked token still works")
	}

	var lines strings.Builder
	for i := range 9 {
		fmt.Fprintf(&lines, `{"username":"new%d","email":"new%d@example.com"}`+"\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "users.ndjson")
	if err := os.WriteFile(file, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(u+"/admin/import"), onPage("Import and export"), shoot(t, "admin-import"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}), submit("#import button"), onPage("Import"),
		// usher.js follows the import on the page, without a reload.
		waitFor(`document.getElementById("job").dataset.poll === "" && document.getElementById("created").textContent === "9"`),
		shoot(t, "admin-import-job"))
	if got := eval[string](t, ctx, `document.getElementById("job-state").textContent`); !strings.HasPrefix(got, "Finished in") {
		t.Fatalf("the import's state: %q", got)
	}
	run(t, ctx, chromedp.Navigate(u+"/admin/apps"), onPage("Applications"), fill("name", "Wiki"),
		submit("#add-app button"), onPage("Applications"), shoot(t, "admin-apps"))
}

// TestBrowserSettingsMail: an administrator reads the mail configuration
// on the settings page and sends a test mail, which arrives; the page a
// command-line log-in's browser lands on is in the same look.
func TestBrowserSettingsMail(t *testing.T) {
	t.Parallel()
	ctx := tab(t)
	b := setup(t)
	u := b.srv.URL
	run(t, ctx, chromedp.Navigate(u+"/login"), onPage("Log in"), fill("login", "root"), fill("password", password),
		submit("main button[type=submit]"), onPage("You are signed in"),
		chromedp.Navigate(u+"/admin/settings"), onPage("Settings"), fill("to", "check@example.org"),
		submit("#mail-test button"), onPage("Settings"), shoot(t, "admin-settings"))
	if got := notice(t, ctx); got != "The test mail to check@example.org is sent: "+b.smtp.Addr()+" accepted it." {
		t.Fatalf("after the test mail: %q", got)
	}
	b.mailTo(t, 1, "check@example.org")
	run(t, ctx, chromedp.Navigate(u+"/device/done"), onPage("Return to your terminal"), shoot(t, "device-done"))
}

// notice returns the page's notice.
func notice(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `document.querySelector("[role=status]") ? document.querySelector("[role=status]").textContent : ""`)
}

// TestBrowserCrossSiteForm: another site's form that posts to usher's
// log-in is refused, and the browser is not signed in.
func TestBrowserCrossSiteForm(t *testing.T) {
	t.Parallel()
	ctx := tab(t)
	b := setup(t)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>evil</title><form method="post" action="%s/login">
<input name="login" value="plain"><input name="password" value="%s"><input name="csrf_token" value="x">
<button id="go" type="submit">Win a prize</button></form></html>`, b.srv.URL, password)
	}))
	t.Cleanup(evil.Close)
	// Another host name for the same address, so that the browser counts
	// the two sites apart.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	run(t, ctx, chromedp.Navigate(evilURL), submit("#go"), onPage("Forbidden"))
	if got := eval[string](t, ctx, `document.querySelector("[role=alert]").textContent`); !strings.Contains(got, "did not come from this site") {
		t.Fatalf("the refusal: %q", got)
	}
	run(t, ctx, chromedp.Navigate(b.srv.URL+"/account"), onPage("Log in"))
}

// TestBrowserScriptInName: a name with a script element is shown as text
// and runs nothing.
func TestBrowserScriptInName(t *testing.T) {
	t.Parallel()
	ctx := tab(t)
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "mallory", Email: "m@example.com",
		Name: `<script>document.title="owned"</script>`, Password: password})
	u := b.srv.URL
	run(t, ctx, chromedp.Navigate(u+"/login"), onPage("Log in"), fill("login", "plain"), fill("password", password),
		submit("main button[type=submit]"), onPage("You are signed in"), chromedp.Navigate(u+"/u/mallory"), onPage("mallory"), shoot(t, "profile"))
	if got := eval[string](t, ctx, `document.querySelector(".profile .name").textContent`); got != `<script>document.title="owned"</script>` {
		t.Fatalf("the name reads %q", got)
	}
	if title := eval[string](t, ctx, `document.title`); title == "owned" {
		t.Fatal("the script in the name ran")
	}
}
