package core

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"usher"
)

// action is something a principal may be allowed to do: a resource type and
// an operation, "user.block". Every action is an operation that permission
// rules can grant or refuse.
type action string

func (a action) resource() string { r, _, _ := strings.Cut(string(a), "."); return r }
func (a action) operation() string {
	_, op, _ := strings.Cut(string(a), ".")
	return op
}

// The actions the policy decides.
const (
	actUserRead       action = "user.read"
	actUserList       action = "user.list"
	actUserCreate     action = "user.create"
	actUserUpdate     action = "user.update"
	actUserPrivileges action = "user.privileges" // kind, external, limits, plan, external id, identities
	actUserDelete     action = "user.delete"
	actUserState      action = "user.state" // block, unblock, suspend, unsuspend
	actUserPurge      action = "user.purge"
	actAuditRead      action = "audit.read"
	actStatsRead      action = "stats.read"
	actTokenMint      action = "token.create"
	actTokenRead      action = "token.read"
	actTokenEnd       action = "token.revoke"
	actPasswordChange action = "password.change"
	actImpersonate    action = "user.impersonate"
	actKeyRotate      action = "signing_key.rotate"
	actKeyRead        action = "ssh_key.read"
	actKeyWrite       action = "ssh_key.write"
	actEmailRead      action = "email.read"
	actEmailWrite     action = "email.write"
	actSettingsRead   action = "settings.read"
	actSettingsWrite  action = "settings.write"
	actInstanceRead   action = "instance_settings.read"   // the instance settings, apart from users' own
	actInstanceManage action = "instance_settings.manage" // which may hold mail server credentials
	actAvatarWrite    action = "avatar.write"
	actGroupCreate    action = "group.create"
	actGroupRead      action = "group.read"
	actGroupUpdate    action = "group.update"
	actGroupDelete    action = "group.delete"
	actGroupMembers   action = "group.members"
	actGroupRules     action = "group.rules"
	actOrgCreate      action = "organisation.create"
	actOrgRead        action = "organisation.read"
	actOrgUpdate      action = "organisation.update"
	actPlanRead       action = "plan.read"
	actPlanManage     action = "plan.manage"
	actServiceAccount action = "service_account.manage"
	actAppCreate      action = "application.create"
	actAppRead        action = "application.read"
	actAppUpdate      action = "application.update"
	actAppDelete      action = "application.delete"
	actAppGrant       action = "application.grant"
	actReminderRead   action = "reminder.read"
	actReminderWrite  action = "reminder.write"
	actAttachCreate   action = "attachment.create"
	actAttachRead     action = "attachment.read"
	actAttachDelete   action = "attachment.delete"
)

// operations describes every action, for GET /v1/permissions; the order is
// the order of the list.
var operations = []struct {
	act         action
	description string
	write       bool
}{
	{actUserRead, "read a user's public profile", false},
	{actUserList, "list and search users", false},
	{actUserCreate, "create users", true},
	{actUserUpdate, "change another user's profile", true},
	{actUserPrivileges, "change a user's kind, external flag, limits, plan, external id and identities", true},
	{actUserDelete, "delete and undelete users", true},
	{actUserState, "block, unblock, suspend and unsuspend users", true},
	{actUserPurge, "delete users for good", true},
	{actImpersonate, "act as another user", true},
	{actAuditRead, "read the audit log", false},
	{actStatsRead, "read the counts of users, groups and applications", false},
	{actTokenMint, "mint tokens for another user", true},
	{actTokenRead, "list another user's tokens", false},
	{actTokenEnd, "revoke another user's tokens", true},
	{actPasswordChange, "change a password", true},
	{actKeyRotate, "rotate the JWT signing key", true},
	{actKeyRead, "read another user's SSH keys", false},
	{actKeyWrite, "add and delete another user's SSH keys", true},
	{actEmailRead, "read another user's e-mail addresses", false},
	{actEmailWrite, "add and delete another user's e-mail addresses", true},
	{actSettingsRead, "read another user's settings", false},
	{actSettingsWrite, "change another user's settings", true},
	{actInstanceRead, "read the instance settings", false},
	{actInstanceManage, "change the instance settings", true},
	{actAvatarWrite, "change another user's avatar", true},
	{actGroupCreate, "create groups (teams need a plan that allows them)", true},
	{actGroupRead, "see a group and its members", false},
	{actGroupUpdate, "change, archive, move and merge a group", true},
	{actGroupDelete, "delete and undelete a group", true},
	{actGroupMembers, "add and remove a group's members", true},
	{actGroupRules, "change a role's permission rules", true},
	{actOrgCreate, "create organisations", true},
	{actOrgRead, "see organisations", false},
	{actOrgUpdate, "change, archive and delete organisations", true},
	{actPlanRead, "see the plans", false},
	{actPlanManage, "create, change and delete plans", true},
	{actServiceAccount, "create and delete a team's service accounts, and for its owners mint their tokens", true},
	{actAppCreate, "register applications", true},
	{actAppRead, "see an application, listed or not", false},
	{actAppUpdate, "change an application", true},
	{actAppDelete, "delete and undelete an application", true},
	{actAppGrant, "manage who may do what on an application", true},
	{actReminderRead, "see reminders neither assigned to nor created by the caller", false},
	{actReminderWrite, "change such reminders, and assign reminders to other users", true},
	{actAttachCreate, "upload files (everyone may unless a rule denies)", true},
	{actAttachRead, "read and download other users' files", false},
	{actAttachDelete, "delete other users' files", true},
}

// writes lists the actions that change something; a token must carry the
// api scope for them.
var writes = func() map[action]bool {
	m := map[action]bool{}
	for _, o := range operations {
		m[o.act] = o.write
	}
	return m
}()

// validOperation reports whether resource and operation name an action.
func validOperation(resource, op string) bool {
	for _, o := range operations {
		if (o.act.resource() == resource || resource == "*") && (o.act.operation() == op || op == "*") {
			return true
		}
	}
	return false
}

// authorize decides whether ctx's principal may do act to the target user
// (nil when the action has none). With the calls to authorizeGroup and
// authorizeOrg, it is the one place such decisions are made; every service method calls one
// of them before touching anything.
//
// The decision: administrators may do everything; otherwise the rules of
// the principal's roles decide, deny over allow; without a rule, the
// built-in default: anyone may read users, and everyone may manage their own
// credentials, keys, addresses, settings and avatar.
//
// Errors: Unauthenticated for the anonymous caller, Forbidden otherwise.
func (e *env) authorize(ctx context.Context, act action, target *usher.User) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, target); err != nil {
		return err
	}
	if err := e.guardCredentials(ctx, p, act, target); err != nil {
		return err
	}
	instance := ""
	if target != nil {
		instance = strconv.FormatInt(target.ID, 10)
	}
	byDefault := false
	switch {
	case act == actUserRead || act == actUserList || act == actOrgRead || act == actPlanRead:
		byDefault = true
	case ownByDefault(act):
		byDefault = self(p, target)
	}
	return e.decide(ctx, p, act, instance, byDefault)
}

// authorizeOrg is authorize for an organisation: it decides whether ctx's
// principal may do act to the organisation of the id, which rules on
// "organisation:<id>" decide as "user:<id>" ones decide for a user. Told
// without the id, the decision would leave them out (evaluate), and a
// deny on one organisation would refuse nothing.
//
// Errors: Unauthenticated for the anonymous caller, Forbidden otherwise.
func (e *env) authorizeOrg(ctx context.Context, act action, id int64) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, nil); err != nil {
		return err
	}
	return e.decide(ctx, p, act, strconv.FormatInt(id, 10), act == actOrgRead)
}

// ownByDefault reports whether everyone may do act to their own account
// unless a rule says otherwise.
func ownByDefault(act action) bool {
	switch act {
	case actUserUpdate, actTokenMint, actTokenRead, actTokenEnd, actPasswordChange, actKeyRead, actKeyWrite,
		actEmailRead, actEmailWrite, actSettingsRead, actSettingsWrite, actAvatarWrite:
		return true
	}
	return false
}

// mayAny refuses, before a target user is looked up, a principal that may
// do act to no user at all: then whether the target exists makes no
// difference to the answer. Whoever has a rule allowing act on some user
// goes on to the full decision.
func (e *env) mayAny(ctx context.Context, p *usher.Principal, act action) error {
	if p.IsAdmin() || ownByDefault(act) {
		return nil
	}
	rules, err := e.rules.of(ctx, e, p.UserID())
	if err != nil {
		return err
	}
	res, op := act.resource(), act.operation()
	for _, r := range rules {
		if r.Access == usher.Allow && (r.Operation == op || r.Operation == "*") &&
			(r.Resource == "*" || r.Resource == res || strings.HasPrefix(r.Resource, res+":")) {
			return nil
		}
	}
	return errForbidden("")
}

// decide applies the rules to a principal that passed precheck.
func (e *env) decide(ctx context.Context, p *usher.Principal, act action, instance string, byDefault bool) error {
	if p.IsAdmin() {
		return nil
	}
	rules, err := e.rules.of(ctx, e, p.UserID())
	if err != nil {
		return err
	}
	switch evaluate(rules, act, instance) {
	case usher.Deny:
		return errForbidden("a permission rule denies " + string(act))
	case usher.Allow:
		return nil
	}
	if byDefault {
		return nil
	}
	return errForbidden("")
}

// evaluate returns the verdict of the rules on act for the resource
// instance (empty for none): deny if any matching rule denies, allow if one
// allows, "" if none matches. A rule matches on its resource — the type,
// the type and this instance ("user:42"), or "*" — and its operation, or
// "*".
func evaluate(rules []usher.Rule, act action, instance string) usher.Access {
	res, op := act.resource(), act.operation()
	verdict := usher.Access("")
	for _, r := range rules {
		if r.Operation != op && r.Operation != "*" {
			continue
		}
		if r.Resource != res && r.Resource != "*" && (instance == "" || r.Resource != res+":"+instance) {
			continue
		}
		if verdict = verdict.Combine(r.Access); verdict == usher.Deny {
			return verdict
		}
	}
	return verdict
}

// precheck refuses what can be refused before the target is known: the
// anonymous caller, and tokens whose scopes do not cover the action. Checking
// this first keeps callers who may not act from learning which targets exist.
func precheck(p *usher.Principal, act action, target *usher.User) error {
	if p.Anonymous() {
		return errUnauthenticated()
	}
	if keepsSecrets[act] {
		if err := refuseRetired(p, retiredReadsNoSecrets); err != nil {
			return err
		}
	}
	if writes[act] && !p.HasScope(usher.ScopeAPI) {
		return errForbidden("the token's scopes do not allow changes")
	}
	if !writes[act] && !p.HasScope(usher.ScopeReadAPI) && !(act == actUserRead && self(p, target) && p.HasScope(usher.ScopeReadUser)) {
		return errForbidden("the token's scopes do not allow this")
	}
	return nil
}

// keepsSecrets are the reads whose answers may hold secrets that outlast
// a retired key's window — the mail server's password and other instance
// settings, a user's settings (a client's secrets), the audit log, which
// records settings as they were set — refused to a JWT a retired key
// verified: whoever read the key from a leaked backup forges one for any
// live session, and would read what was changed since the rotation.
var keepsSecrets = map[action]bool{actInstanceRead: true, actSettingsRead: true, actAuditRead: true}

// retiredReadsNoSecrets is what refuseRetired says of the reads
// keepsSecrets names, and of an instance setting's file.
const retiredReadsNoSecrets = "reads no settings, nor their files, nor the audit log"

// refuseRetired refuses p's credential, saying it does not do what, when
// it is a JWT a retired key verified (JWTClaims.Retired): within the
// key's window whoever read it from a leaked backup forges one for any
// live session, which reads as its credential does (readScopes) and
// neither changes nor carries away anything that outlasts the window.
func refuseRetired(p *usher.Principal, what string) error {
	if p.JWT == nil || !p.JWT.Retired {
		return nil
	}
	return errForbidden("the token was signed with a retired key: it " + what + "; log in again")
}

// changesCredentials reports whether act changes what an account signs in
// with or is reached at: its password, tokens and sessions, e-mail addresses
// (and, in Users.Update, its identities). SSH keys are separate: see
// guardCredentials.
func changesCredentials(act action) bool {
	switch act {
	case actPasswordChange, actTokenMint, actTokenEnd, actEmailWrite:
		return true
	}
	return false
}

// guardCredentials is the one rule for changing another account's
// credentials and addresses, which would hand the caller the account: every
// path that changes a password, a token, an identity, an SSH key or an
// e-mail address calls it with the account changed (nil before it is
// known), through authorize or, for Users.Update, directly.
//
//   - An impersonation changes no password, token, session, identity or
//     e-mail address, of anyone: it would outlive itself. SSH keys are the
//     exception, as GitLab's Sudo adds them on a user's behalf; the change
//     is audited with the impersonator.
//   - Administrators, and anyone on their own account, may go on to the
//     usual decision. Anyone else got here by a permission rule, and no
//     rule reaches an account with rights the caller lacks (see outranks):
//     only administrators manage administrators.
//
// Errors: Forbidden.
func (e *env) guardCredentials(ctx context.Context, p *usher.Principal, act action, target *usher.User) error {
	if !changesCredentials(act) && act != actKeyWrite {
		return nil
	}
	if p.Impersonator != nil && changesCredentials(act) {
		return errForbidden("passwords, tokens, identities and e-mail addresses cannot be changed while impersonating")
	}
	if target == nil || p.IsAdmin() || self(p, target) {
		return nil
	}
	more, err := e.outranks(ctx, target, p)
	if err != nil {
		return err
	}
	if more {
		return errForbidden("the account has rights the caller lacks; only an administrator changes its credentials and addresses")
	}
	return nil
}

// outranks reports whether target has a right the principal, who is no
// administrator, lacks: it is an administrator, is in a team or a group (of
// any kind but a role) at a level the principal does not hold there (a
// writer of a team the principal is not in, an owner where the principal
// only writes), or its roles' allows give an operation the principal's
// rules do not (leaving out what everyone may by default), whatever denies
// the target has. Whoever took over such an account would hold what it
// holds.
func (e *env) outranks(ctx context.Context, target *usher.User, p *usher.Principal) (bool, error) {
	if target.Admin {
		return true, nil
	}
	// A role's members are compared by its rules, below; in every other
	// kind, the membership itself is what the caller must hold.
	var byLevel []usher.GroupKind
	for _, k := range usher.GroupKinds {
		if !k.CarriesRules() {
			byLevel = append(byLevel, k)
		}
	}
	// A deleted group's memberships count too: restoring it brings them
	// back, and a caller who deleted it for a moment would take the
	// account over in it.
	levels := func(id int64) (map[int64]usher.Level, error) {
		ms, err := e.store.UserGroupsKept(ctx, id, byLevel...)
		out := map[int64]usher.Level{}
		for _, m := range ms {
			out[m.GroupID] = m.Level
		}
		return out, err
	}
	theirs, err := levels(target.ID)
	if err != nil {
		return false, err
	}
	mine, err := levels(p.UserID())
	if err != nil {
		return false, err
	}
	for id, level := range theirs {
		if level.Rank() > mine[id].Rank() {
			return true, nil
		}
	}
	if owns, err := e.ownsBeyond(ctx, target, p); owns || err != nil {
		return owns, err
	}
	if more, err := e.createsMore(ctx, target, p.User); more || err != nil {
		return more, err
	}
	// The target's allows, not its denies: anyone may add a deny to a
	// role the target is in, and a deny lifted later would give back to
	// whoever took the account over meanwhile what it had kept from it.
	// Those of archived and deleted roles too, as deleted groups'
	// memberships count above: unarchiving or restoring the role gives
	// them back.
	all, err := e.store.RulesKept(ctx, target.ID)
	if err != nil {
		return false, err
	}
	var their []usher.Rule
	for _, r := range all {
		if r.Access == usher.Allow {
			their = append(their, r)
		}
	}
	my, err := e.rules.of(ctx, e, p.UserID())
	if err != nil {
		return false, err
	}
	for _, o := range operations {
		switch o.act {
		case actUserRead, actUserList, actOrgRead, actPlanRead:
			continue // everyone's by default
		}
		// Every instance either side's rules name: the caller's own deny
		// on one instance is a right the target may have there.
		for _, inst := range namedInstances(o.act.resource(), slices.Concat(their, my)) {
			if evaluate(their, o.act, inst) != usher.Allow || evaluate(my, o.act, inst) == usher.Allow {
				continue
			}
			// Reading groups and making them are the caller's by default
			// only in part (a team they are in; teams, not roles): a rule
			// giving the target more outranks the caller.
			if o.act == actGroupRead || o.act == actGroupCreate {
				held, err := e.heldByDefault(ctx, p, o.act, inst)
				if err != nil {
					return false, err
				}
				if held {
					continue
				}
			}
			return true, nil
		}
	}
	return false, nil
}

// createsMore reports whether target may create what caller may not: its
// plan gives a capability the caller's does not, or a higher project
// limit (what Escape serves the tools that trust it), or it is not
// external where the caller is, or GitLab lets it make groups, or more
// projects, where the caller may not. A caller held back by a plan or a
// flag would else have it all by taking such an account over.
func (e *env) createsMore(ctx context.Context, target, caller *usher.User) (bool, error) {
	if caller == nil {
		return false, nil
	}
	if target.Kind == usher.KindServiceAccount {
		// A service account is made with the default allowances and
		// answers to its team's owners, however an administrator limited
		// them; to anyone else it is compared as any account is. What an
		// administrator gave it past the defaults (a plan, a higher
		// project limit) is compared for its owners too: a token minted
		// for it would carry that to an owner held back from it.
		owner, err := ownsTeamOf(ctx, e.store, caller.ID, target.ID)
		if err != nil {
			return false, err
		}
		if owner {
			if target.GitLab.ProjectsLimit > max(e.policy.DefaultProjectsLimit, caller.GitLab.ProjectsLimit) {
				return true, nil
			}
			if target.Plan == "" {
				return false, nil
			}
			return e.planGivesMore(ctx, target, caller)
		}
	}
	if caller.External && !target.External ||
		target.GitLab.CanCreateGroup && !caller.GitLab.CanCreateGroup ||
		target.GitLab.ProjectsLimit > caller.GitLab.ProjectsLimit {
		return true, nil
	}
	return e.planGivesMore(ctx, target, caller)
}

// planGivesMore reports whether target's plan gives a capability caller's
// does not, or a higher project limit; never while no plan is defined.
func (e *env) planGivesMore(ctx context.Context, target, caller *usher.User) (bool, error) {
	theirs, err := e.plan(ctx, e.store, target)
	if err != nil || theirs == nil {
		return false, err // no plans: everyone may alike
	}
	mine, err := e.plan(ctx, e.store, caller)
	if err != nil {
		return false, err
	}
	return theirs.CanCreateTeam && !mine.CanCreateTeam ||
		theirs.CanCreateStateProject && !mine.CanCreateStateProject ||
		theirs.CanManageProjectACL && !mine.CanManageProjectACL ||
		theirs.CanManageProjectHooks && !mine.CanManageProjectHooks ||
		theirs.ProjectLimit > mine.ProjectLimit, nil
}

// ownsBeyond reports whether target owns an application, deleted or not,
// on which the principal lacks application.grant, the right that names
// its owner (authorizeHandOver) and so gives what owning it does: change,
// delete and undelete it. Whoever took over the owner would hold it.
func (e *env) ownsBeyond(ctx context.Context, target *usher.User, p *usher.Principal) (bool, error) {
	req := usher.PageRequest{Limit: 100}
	for {
		page, err := e.store.AppList(ctx, usher.ApplicationFilter{OwnerID: target.ID, Deleted: usher.Include, Page: req})
		if err != nil {
			return false, err
		}
		for _, a := range page.Items {
			err := e.decide(ctx, p, actAppGrant, strconv.FormatInt(a.ID, 10), false)
			if usher.ErrorKind(err) == usher.KindForbidden {
				return true, nil
			}
			if err != nil {
				return false, err
			}
		}
		if page.Next == nil {
			return false, nil
		}
		req.After = page.Next
	}
}

// namedInstances returns "", for the resource type itself, and every
// instance of the type that one of rules names ("42" of "user:42"). A
// verdict told without an instance leaves rules on one instance out
// (evaluate), so whoever compares what a type-wide right reaches asks on
// each of these too.
func namedInstances(resource string, rules []usher.Rule) []string {
	instances := []string{""}
	for _, r := range rules {
		if inst, ok := strings.CutPrefix(r.Resource, resource+":"); ok && !slices.Contains(instances, inst) {
			instances = append(instances, inst)
		}
	}
	return instances
}

// self reports whether target is the principal's own account.
func self(p *usher.Principal, target *usher.User) bool {
	return target != nil && p.User != nil && p.User.ID == target.ID
}

func errUnauthenticated() error {
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeUnauthenticated, Message: "authentication required"}
}

func errForbidden(why string) error {
	msg := "not allowed"
	if why != "" {
		msg = why
	}
	return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeForbidden, Message: msg}
}

// ruleCacheTTL bounds how long another replica's rule change can take to
// apply here when the store does not hear of it (see store.Store.Changes);
// changes made through this process apply at once.
const ruleCacheTTL = 5 * time.Second

// ruleCache keeps each user's rules for a few seconds, so that deciding a
// request costs no query in the common case and at most one (RulesFor)
// otherwise — never one per rule. An entry is read again once the store's
// count of committed writes has grown past the one taken before its read:
// a write anywhere (here, or on another replica the store heard of) may
// have changed a rule or a membership.
type ruleCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[int64]ruleEntry
}

type ruleEntry struct {
	rules   []usher.Rule
	gen     uint64
	changes uint64
	expires time.Time
}

// of returns the rules that apply to the user.
func (c *ruleCache) of(ctx context.Context, e *env, userID int64) ([]usher.Rule, error) {
	if userID == 0 {
		return nil, nil
	}
	changes, now := e.store.Changes(), time.Now()
	c.mu.Lock()
	ent, ok := c.entries[userID]
	gen := c.gen
	c.mu.Unlock()
	if ok && ent.gen == gen && ent.changes == changes && now.Before(ent.expires) {
		return ent.rules, nil
	}
	rules, err := e.store.RulesFor(ctx, userID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) > 10000 {
		c.entries = map[int64]ruleEntry{}
	}
	c.entries[userID] = ruleEntry{rules: rules, gen: gen, changes: changes, expires: now.Add(ruleCacheTTL)}
	c.mu.Unlock()
	return rules, nil
}

// changed forgets every cached rule set; rule and membership changes call it.
func (c *ruleCache) changed() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}
