package pages_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"usher"
	"usher/core/coretest"
)

// TestPagesAccessible checks every page for the basics: the language set,
// one h1, every input labelled, and the headers that keep other sites'
// pages and injected script out.
func TestPagesAccessible(t *testing.T) {
	t.Parallel()
	b := setup(t)
	anon, admin := b.browser(t), b.browser(t)
	admin.login(t, "root", password)
	id := itoa(b.user.ID)
	team := mustGroup(t, b, usher.GroupTeam, "crew", b.admin.ID)
	role := mustGroup(t, b, usher.GroupRole, "auditors", b.user.ID)
	bot, err := b.env.Core.Groups.CreateServiceAccount(coretest.System(), usher.GroupRef{ID: team.ID}, "crew-bot", "")
	if err != nil {
		t.Fatal(err)
	}
	admin.get(t, "/admin/import")
	job := admin.upload(t, "u.ndjson", `{"username":"ann"}`+"\n", "ndjson").header.Get("Location")
	tests := []struct {
		br     *browser
		path   string
		status int
	}{
		{anon, "/login", 200},
		{anon, "/signup", 200},
		{anon, "/confirm?code=x", 200},
		{anon, "/forgot-password", 200},
		{anon, "/reset-password?token=x", 200},
		{anon, "/logout", 200},
		{anon, "/device/done", 200},
		{anon, "/login/failed?code=oauth_binding", 401},
		{admin, "/device/done", 200},
		{anon, "/u/plain", 303},
		{admin, "/u/nobody", 404},
		{admin, "/", 200},
		{admin, "/u/plain", 200},
		{admin, "/account", 200},
		{admin, "/account/password", 200},
		{admin, "/account/emails", 200},
		{admin, "/account/keys", 200},
		{admin, "/account/teams", 200},
		{admin, "/account/sessions", 200},
		{admin, "/account/tokens", 200},
		{admin, "/admin/users", 200},
		{admin, "/admin/users/" + id, 200},
		{admin, "/admin/groups", 200},
		{admin, "/admin/settings", 200},
		{admin, "/admin/audit", 200},
		{admin, "/admin/audit?action=auth.", 200},
		{admin, "/admin/groups/" + itoa(team.ID), 200},
		{admin, "/admin/groups/" + itoa(role.ID), 200},
		{admin, "/admin/groups/" + itoa(team.ID) + "/accounts/" + itoa(bot.ID), 200},
		{admin, "/admin/apps", 200},
		{admin, "/admin/orgs", 200},
		{admin, "/admin/groups?kind=team", 200},
		{admin, "/admin/import", 200},
		{admin, job, 200},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := tt.br.get(t, tt.path)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d", p.status, tt.status)
			}
			if p.status == http.StatusSeeOther {
				return
			}
			for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
				if p.header.Get(h) == "" {
					t.Errorf("no %s header", h)
				}
			}
			if csp := p.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			for _, problem := range checkHTML(t, p.body) {
				t.Error(problem)
			}
		})
	}
}

// checkHTML returns what is wrong with a page's markup.
func checkHTML(t *testing.T, src string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	labels := map[string]bool{}
	var inputs []*html.Node
	h1 := 0
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "html":
				if attr(n, "lang") == "" {
					problems = append(problems, "the page sets no language")
				}
			case "h1":
				h1++
			case "label":
				labels[attr(n, "for")] = true
				inLabel = true
			case "input", "select", "textarea":
				switch attr(n, "type") {
				case "hidden", "submit", "button":
				default:
					if !inLabel {
						inputs = append(inputs, n)
					}
				}
			case "script":
				if attr(n, "src") == "" {
					problems = append(problems, "an inline script")
				}
			}
			if attr(n, "style") != "" {
				problems = append(problems, "an inline style on <"+n.Data+">")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	if h1 != 1 {
		problems = append(problems, "the page has "+itoa(int64(h1))+" h1 elements")
	}
	for _, in := range inputs {
		if id := attr(in, "id"); id == "" || !labels[id] {
			problems = append(problems, "<"+in.Data+` name="`+attr(in, "name")+`"> has no label`)
		}
	}
	if !strings.HasPrefix(src, "<!doctype html>") {
		problems = append(problems, "no doctype")
	}
	return problems
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
