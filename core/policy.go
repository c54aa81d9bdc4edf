package core

import (
	"context"

	"usher"
)

// action is something a principal may be allowed to do.
type action string

// The actions the policy decides.
const (
	actUserRead   action = "user.read"
	actUserList   action = "user.list"
	actUserCreate action = "user.create"
	actUserUpdate action = "user.update"
	actUserDelete action = "user.delete"
	actUserState  action = "user.state" // block, unblock, suspend, unsuspend
	actUserPurge  action = "user.purge"
	actAuditRead  action = "audit.read"
	actTokenMint  action = "token.create"
	actTokenRead  action = "token.read"
	actTokenEnd   action = "token.revoke"
	// actPasswordChange is a user changing their own password.
	actPasswordChange action = "password.change"
	// actImpersonate is acting as another user.
	actImpersonate action = "auth.impersonate"
	// actKeyRotate replaces the JWT signing key.
	actKeyRotate action = "auth.key_rotate"
)

// writes lists the actions that change something; a token must carry the
// api scope for them.
var writes = map[action]bool{
	actUserCreate: true, actUserUpdate: true, actUserDelete: true, actUserState: true,
	actUserPurge: true, actTokenMint: true, actTokenEnd: true, actPasswordChange: true, actImpersonate: true,
	actKeyRotate: true,
}

// authorize decides whether ctx's principal may do act to target (nil when
// the action has no target user, or before the target is loaded). It is the
// one place such decisions are made; every service method calls it before
// touching anything.
//
// Errors: Unauthenticated for the anonymous caller, Forbidden otherwise.
func (e *env) authorize(ctx context.Context, act action, target *usher.User) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, target); err != nil {
		return err
	}
	if p.IsAdmin() {
		return nil
	}
	switch act {
	case actUserRead, actUserList:
		return nil
	case actTokenMint, actTokenRead, actTokenEnd, actPasswordChange:
		if self(p, target) {
			return nil
		}
	}
	return errForbidden("")
}

// precheck refuses what can be refused before the target is known: the
// anonymous caller, and tokens whose scopes do not cover the action. Checking
// this first keeps callers who may not act from learning which targets exist.
func precheck(p *usher.Principal, act action, target *usher.User) error {
	if p.Anonymous() {
		return errUnauthenticated()
	}
	if writes[act] && !p.HasScope(usher.ScopeAPI) {
		return errForbidden("the token's scopes do not allow changes")
	}
	if !writes[act] && !p.HasScope(usher.ScopeReadAPI) && !(act == actUserRead && self(p, target) && p.HasScope(usher.ScopeReadUser)) {
		return errForbidden("the token's scopes do not allow this")
	}
	return nil
}

// self reports whether target is the principal's own account.
func self(p *usher.Principal, target *usher.User) bool {
	return target != nil && p.User != nil && p.User.ID == target.ID
}

func errUnauthenticated() error {
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: "unauthenticated", Message: "authentication required"}
}

func errForbidden(why string) error {
	msg := "not allowed"
	if why != "" {
		msg = why
	}
	return &usher.Error{Kind: usher.KindForbidden, Code: "forbidden", Message: msg}
}
