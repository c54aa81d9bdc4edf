package pages_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestConsoleAccountPagesAskTheTeam: a team's service account page and
// its token's revocation were reached under another team's address (200),
// which the page then named as the account's team (round 34). The core now
// finds the account among the team's (Groups.ServiceAccount): 404.
func TestConsoleAccountPagesAskTheTeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	teamA := mustGroup(t, b, usher.GroupTeam, "alpha", b.admin.ID)
	teamB := mustGroup(t, b, usher.GroupTeam, "bravo", b.admin.ID)
	admin := b.root(t)
	pathB := "/admin/groups/" + itoa(teamB.ID)
	admin.get(t, pathB)
	p := admin.post(t, pathB+"/accounts", url.Values{"username": {"bravo-bot"}, "name": {"Bravo bot"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", p.status, p.body)
	}
	accountB := p.header.Get("Location")
	botID := accountB[strings.LastIndex(accountB, "/")+1:]
	wrong := "/admin/groups/" + itoa(teamA.ID) + "/accounts/" + botID
	p = admin.get(t, wrong)
	if p.status != http.StatusNotFound {
		t.Errorf("team alpha's address shows team bravo's service account: status %d, want 404 (the team has no such service account)", p.status)
	}
	// A token minted under team bravo's own address, revoked under alpha's.
	admin.get(t, accountB)
	p = admin.post(t, accountB+"/tokens", url.Values{})
	m := regexp.MustCompile(`/tokens/(\d+)/revoke`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no token made: %d\n%s", p.status, p.body)
	}
	admin.get(t, wrong)
	p = admin.post(t, wrong+"/tokens/"+m[1]+"/revoke", url.Values{})
	if p.status != http.StatusNotFound {
		t.Errorf("team alpha's address revokes team bravo's service account's token: status %d, want 404", p.status)
	}
	if p = admin.get(t, accountB); !strings.Contains(p.body, "/tokens/"+m[1]+"/revoke") {
		t.Errorf("team bravo's own page no longer lists the token: %d", p.status)
	}
}

// TestConsoleShowsLastAdministrator: the console's refusal to leave no
// administrator is a message with 409, not a 500.
func TestConsoleShowsLastAdministrator(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	path := "/admin/users/" + itoa(b.admin.ID)
	for _, action := range []string{"block", "suspend", "delete"} {
		admin.get(t, path)
		p := admin.post(t, path+"/"+action, url.Values{})
		if p.status != http.StatusConflict {
			t.Errorf("%s of the last administrator: status %d, want 409\n%s", action, p.status, p.body)
		}
	}
	version := versionOf(t, admin.get(t, path))
	p := admin.post(t, path+"/edit", url.Values{"version": {version}, "username": {"root"}, "name": {"Root"}, "email": {"root@example.com"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, `class="alert error"`) {
		t.Errorf("demotion of the last administrator: status %d, want 409 with a message\n%s", p.status, p.body)
	}
}

// TestConsoleLevelFormAddsNoOne: a member row's level form, drawn before
// another administrator removed the member, put the removed user back —
// at the level it named, owner too (round 34). It changes a member's level
// only (Groups.SetMemberLevel): 404.
func TestConsoleLevelFormAddsNoOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	team := mustGroup(t, b, usher.GroupTeam, "crew", b.admin.ID)
	admin := b.root(t)
	path := "/admin/groups/" + itoa(team.ID)
	admin.get(t, path)
	admin.post(t, path+"/members", url.Values{"username": {"plain"}, "level": {"read"}})
	// Another administrator's page, drawn now, shows plain's row.
	other := b.root(t)
	other.get(t, path)
	if p := admin.post(t, path+"/members/"+itoa(b.user.ID)+"/remove", url.Values{}); !strings.Contains(p.body, "The member is removed.") {
		t.Fatalf("remove: %d\n%s", p.status, p.body)
	}
	p := other.post(t, path+"/members/"+itoa(b.user.ID)+"/level", url.Values{"level": {"owner"}})
	if p.status != http.StatusNotFound {
		t.Errorf("the level form of a removed member: %d, want 404", p.status)
	}
	ms, err := b.env.Core.Groups.UserGroups(coretest.System(), usher.UserKey{ID: b.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Group != nil && m.Group.ID == team.ID {
			t.Errorf("a level change on a removed member's row made them a member again, at level %s (status %d)", m.Level, p.status)
		}
	}
}
