package core_test

import (
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestLimitedOwnerMintsServiceAccountToken: a team's owner whose GitLab
// projects_limit an administrator lowered (the account still makes teams)
// creates a service account for their team and mints its token, as
// docs/access.md has team owners do: what an account may create counts
// when a helpdesk reaches another's (createsMore), not for a service
// account, which is made with the defaults and answers to its owners.
func TestLimitedOwnerMintsServiceAccountToken(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	ten := 10
	bob, err := b.env.Core.Users.Update(coretest.System(), usher.UserKey{ID: b.bob.ID},
		usher.UserUpdate{GitLab: usher.GitLabProfileUpdate{ProjectsLimit: &ten}})
	if err != nil {
		t.Fatal(err)
	}
	b.bob = bob
	if _, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "bobs"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.CreateServiceAccount(as(b.bob), team("bobs"), "bot", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.g.ServiceAccountToken(as(b.bob), team("bobs"), usher.UserKey{Username: "bot"}, false); err != nil {
		t.Fatalf("the team's owner mints its service account's token: %v", err)
	}
}

// TestSmallerPlanOwnerManagesServiceAccount: plans are in use; the
// default plan allows 10 projects, bob's own plan makes teams but allows
// 5. Bob creates a team and its service account (which gets the default
// plan), then mints its token and deletes it, as team owners do.
func TestSmallerPlanOwnerManagesServiceAccount(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	sys := coretest.System()
	if _, err := b.env.Core.Plans.Create(sys, usher.Plan{Name: "standard", CanCreateTeam: true, ProjectLimit: 10, Default: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Plans.Create(sys, usher.Plan{Name: "small", CanCreateTeam: true, ProjectLimit: 5}); err != nil {
		t.Fatal(err)
	}
	small := "small"
	bob, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: b.bob.ID}, usher.UserUpdate{Plan: &small})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.Create(as(bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "bobs"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.CreateServiceAccount(as(bob), team("bobs"), "bot", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.g.ServiceAccountToken(as(bob), team("bobs"), usher.UserKey{Username: "bot"}, false); err != nil {
		t.Errorf("the team's owner mints its service account's token: %v", err)
	}
	if err := b.g.DeleteServiceAccount(as(bob), team("bobs"), usher.UserKey{Username: "bot"}); err != nil {
		t.Errorf("the team's owner deletes its service account: %v", err)
	}
}
