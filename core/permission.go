package core

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"usher"
	"usher/store"
)

// Operations lists every operation permission rules can grant or refuse,
// to any authenticated caller: it describes the service, not anyone's
// rights, but it is no one's business who has not signed in.
//
// Errors: Unauthenticated.
func (g *Groups) Operations(ctx context.Context) ([]usher.Operation, error) {
	if usher.PrincipalFrom(ctx).Anonymous() {
		return nil, errUnauthenticated()
	}
	out := make([]usher.Operation, len(operations))
	for i, o := range operations {
		out[i] = usher.Operation{Resource: o.act.resource(), Operation: o.act.operation(), Description: o.description}
	}
	return out, nil
}

// Effective returns the calling principal's verdict on every operation, or
// on the operations of one resource ("user", or "user:42" for one user).
// Rules are read once, in one query, for all of them.
//
// Errors: Unauthenticated, Invalid (an unknown resource).
func (g *Groups) Effective(ctx context.Context, resource string) ([]usher.Permission, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	typ, instance, _ := strings.Cut(resource, ":")
	if resource != "" && !validOperation(typ, "*") {
		return nil, invalid("resource", "is not a resource type permissions know")
	}
	rules, err := g.rules.of(ctx, g.env, p.UserID())
	if err != nil {
		return nil, err
	}
	var out []usher.Permission
	for _, o := range operations {
		if resource != "" && o.act.resource() != typ {
			continue
		}
		allow := p.IsAdmin()
		if !allow {
			if precheck(p, o.act, nil) == nil {
				switch evaluate(rules, o.act, instance) {
				case usher.Allow:
					allow = true
				case "":
					allow = g.allowedByDefault(p, o.act, instance)
				}
			}
		}
		res := o.act.resource()
		if instance != "" {
			res += ":" + instance
		}
		out = append(out, usher.Permission{Resource: res, Operation: o.act.operation(), Allow: allow})
	}
	return out, nil
}

// allowedByDefault is the built-in default of authorize for act on an
// instance, as far as it can be told without loading the instance.
func (e *env) allowedByDefault(p *usher.Principal, act action, instance string) bool {
	switch {
	case act == actUserRead || act == actUserList || act == actGroupRead || act == actOrgRead || act == actPlanRead:
		return true
	case ownByDefault(act):
		return instance != "" && instance == strconv.FormatInt(p.UserID(), 10)
	case act == actGroupCreate:
		return true // teams, if the plan allows
	case act == actAttachCreate:
		return p.UserID() != 0 // as Attachments decides
	}
	return false
}

// role finds a role — a group of the kind that carries rules — for rule
// management; a handle names a role.
func (g *Groups) role(ctx context.Context, tx store.Tx, ref usher.GroupRef) (*access, error) {
	ref, err := readGroupRef(ref)
	if err != nil {
		return nil, err
	}
	if ref.ID == 0 {
		ref.Kind = usher.GroupRole
	}
	a, err := g.load(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	if !a.group.Kind.CarriesRules() {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeRoleNotFound, Message: "role not found"}
	}
	return a, nil
}

// Rules returns a role's rules.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (g *Groups) Rules(ctx context.Context, ref usher.GroupRef) ([]usher.Rule, error) {
	a, err := g.role(ctx, g.store, ref)
	if err != nil {
		return nil, err
	}
	if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
		return nil, err
	}
	return g.store.RuleList(ctx, a.group.ID)
}

// maxRules bounds a role's rules, and so the rules one request sets: a
// rule per operation on each resource type is far fewer.
const maxRules = 500

// errTooManyRules refuses a request or a role with more than maxRules.
func errTooManyRules() error {
	return usher.FieldErrors(usher.FieldError{Field: "rules", Code: usher.CodeTooMany,
		Message: "a role has at most " + strconv.Itoa(maxRules) + " rules"})
}

// canonicalID reports whether s is an id as usher writes one: a positive
// decimal number without a sign or leading zeros.
func canonicalID(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == s
}

// checkRules refuses rules on unknown operations or with unknown verdicts,
// on an instance named otherwise than by its id, and more rules than a
// role may have.
func checkRules(rules []usher.Rule) error {
	if len(rules) > maxRules {
		return errTooManyRules()
	}
	var c checker
	verdicts := map[string]usher.Access{}
	for i, r := range rules {
		typ, instance, _ := strings.Cut(r.Resource, ":")
		field := "rules[" + strconv.Itoa(i) + "]"
		// Two verdicts on one operation in one request (a dialect's two
		// names for it: Corteza's suspend and unsuspend are user state)
		// would leave the later one, a deny lost to an allow unsaid.
		if v, ok := verdicts[ruleKey(r)]; ok && v != r.Access {
			c.add(field, usher.CodeDuplicate, "%s on %s is given two verdicts in one request", r.Operation, r.Resource)
			continue
		}
		verdicts[ruleKey(r)] = r.Access
		switch {
		case r.Access != usher.Allow && r.Access != usher.Deny:
			c.add(field, usher.CodeInvalidAccess, "access must be allow or deny")
		case !validOperation(typ, r.Operation):
			c.add(field, usher.CodeUnknownOperation, "%s on %s is not an operation permissions know", r.Operation, r.Resource)
		case strings.Contains(r.Resource, ":") && (typ == "*" || !canonicalID(instance)):
			// Decisions name an instance by its id as the API gives it
			// (evaluate): a rule on user:ceo, user:03 or user:* would be
			// stored and match nothing, a deny that holds nowhere.
			c.add(field, usher.CodeInvalidResource, "a resource is a type, type:id (the id in decimal, as the API gives it), or *")
		}
	}
	return c.err()
}

// SetRules changes a role's rules: with replace, the role keeps exactly
// these; otherwise they are added or change the verdict of the same
// resource and operation, and the others stay.
//
// A rule that reaches an application, set, changed or removed, needs
// application.grant on it (authorizeGrant); one that gives more — an allow
// set, a deny removed — needs the caller to be allowed what it gives
// (authorizeWidening).
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (an unknown
// operation or verdict, more than 500 rules).
func (g *Groups) SetRules(ctx context.Context, ref usher.GroupRef, rules []usher.Rule, replace bool) ([]usher.Rule, error) {
	if err := checkRules(rules); err != nil {
		return nil, err
	}
	act := "role.rules_patch"
	if replace {
		act = "role.rules_replace"
	}
	return g.writeRules(ctx, ref, act, func([]usher.Rule) ([]usher.Rule, bool, map[string]usher.Change) {
		changes := map[string]usher.Change{}
		for _, r := range rules {
			changes[ruleKey(r)] = usher.Change{New: string(r.Access)}
		}
		return rules, replace, changes
	})
}

// PatchRules sets the rules of set and removes those of remove (named by
// resource and operation; one with a verdict is removed only while it
// holds that verdict), in the
// transaction that holds the role and reads its rules: Corteza's PATCH of
// a role's rules, which a face reading the rules and then replacing them
// lost to another change between the two. It is authorized as SetRules
// replacing the rules with those the role ends with, and recorded as a
// patch: the rules set, and those removed.
//
// Errors: as SetRules.
func (g *Groups) PatchRules(ctx context.Context, ref usher.GroupRef, set, remove []usher.Rule) ([]usher.Rule, error) {
	if err := checkRules(set); err != nil {
		return nil, err
	}
	removed := map[string]bool{}
	for _, r := range remove {
		removed[ruleKey(r)] = true
	}
	for i, r := range set {
		if removed[ruleKey(r)] {
			return nil, usher.FieldErrors(usher.FieldError{Field: "rules[" + strconv.Itoa(i) + "]", Code: usher.CodeDuplicate,
				Message: r.Operation + " on " + r.Resource + " is both set and removed in one request"})
		}
	}
	return g.writeRules(ctx, ref, "role.rules_patch", func(have []usher.Rule) ([]usher.Rule, bool, map[string]usher.Change) {
		next := map[string]usher.Rule{}
		changes := map[string]usher.Change{}
		for _, r := range have {
			next[ruleKey(r)] = r
		}
		for _, r := range remove {
			if old, ok := next[ruleKey(r)]; ok && (r.Access == "" || r.Access == old.Access) {
				delete(next, ruleKey(r))
				changes[ruleKey(r)] = usher.Change{Old: string(old.Access), New: "removed"}
			}
		}
		for _, r := range set {
			next[ruleKey(r)] = r
			changes[ruleKey(r)] = usher.Change{New: string(r.Access)}
		}
		rules := slices.Collect(maps.Values(next))
		slices.SortFunc(rules, func(a, b usher.Rule) int { return strings.Compare(ruleKey(a), ruleKey(b)) })
		return rules, true, changes
	})
}

// ruleKey names a rule by its resource and operation.
func ruleKey(r usher.Rule) string { return r.Resource + "." + r.Operation }

// writeRules writes the rules build makes of the role's rules (all of
// them with replace, else those only), authorized by what they change and
// give, and records act with build's changes. It answers the role's rules
// afterwards, which the caller may read (changeRules).
func (g *Groups) writeRules(ctx context.Context, ref usher.GroupRef, act string,
	build func(have []usher.Rule) (rules []usher.Rule, replace bool, changes map[string]usher.Change)) ([]usher.Rule, error) {
	var out []usher.Rule
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, have, err := g.changeRules(ctx, tx, ref)
		if err != nil {
			return err
		}
		rules, replace, changes := build(have)
		if err := g.authorizeGivingOf(ctx, a, changedRules(have, rules, replace), reachChanged(have, rules, replace)); err != nil {
			return err
		}
		if replace {
			if _, err := tx.RuleDelete(ctx, a.group.ID, "", ""); err != nil {
				return err
			}
		}
		for _, r := range rules {
			r.RoleID = a.group.ID
			if err := tx.RuleSet(ctx, r); err != nil {
				return err
			}
		}
		if out, err = tx.RuleList(ctx, a.group.ID); err != nil {
			return err
		}
		if len(out) > maxRules {
			return errTooManyRules()
		}
		return g.record(ctx, tx, g.now(), event{action: act, resourceType: "group", resourceID: strconv.FormatInt(a.group.ID, 10), changes: changes})
	})
	if err != nil {
		return nil, err
	}
	g.rules.changed()
	sort.Slice(out, func(i, j int) bool {
		return out[i].Resource < out[j].Resource || (out[i].Resource == out[j].Resource && out[i].Operation < out[j].Operation)
	})
	return out, nil
}

// DeleteRules removes every rule of a role and returns how many there were;
// rules that reach an application need application.grant on it
// (authorizeGrant).
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (g *Groups) DeleteRules(ctx context.Context, ref usher.GroupRef) (int, error) {
	var n int
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, have, err := g.changeRules(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := g.authorizeGivingOf(ctx, a, have, reachChanged(have, nil, true)); err != nil {
			return err
		}
		if n, err = tx.RuleDelete(ctx, a.group.ID, "", ""); err != nil {
			return err
		}
		return g.record(ctx, tx, g.now(), event{action: "role.rules_delete", resourceType: "group",
			resourceID: strconv.FormatInt(a.group.ID, 10), meta: map[string]string{"deleted": strconv.Itoa(n)}})
	})
	if err != nil {
		return 0, err
	}
	g.rules.changed()
	return n, nil
}

// RemoveRule removes a role's rule on one resource and operation; a rule
// that reaches an application needs application.grant on it
// (authorizeGrant).
//
// Errors: Unauthenticated, Forbidden, NotFound (the role, or no such rule).
func (g *Groups) RemoveRule(ctx context.Context, ref usher.GroupRef, resource, operation string) error {
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, have, err := g.changeRules(ctx, tx, ref)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(have, func(r usher.Rule) bool { return r.Resource == resource && r.Operation == operation })
		if i < 0 || resource == "" || operation == "" {
			return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNotFound, Message: "the role has no such rule"}
		}
		if err := g.authorizeGivingOf(ctx, a, have[i:i+1], reachChanged(have[i:i+1], nil, true)); err != nil {
			return err
		}
		if _, err := tx.RuleDelete(ctx, a.group.ID, resource, operation); err != nil {
			return err
		}
		return g.record(ctx, tx, g.now(), event{action: "role.rules_patch", resourceType: "group",
			resourceID: strconv.FormatInt(a.group.ID, 10),
			changes:    map[string]usher.Change{resource + "." + operation: {Old: string(have[i].Access)}}})
	})
	if err == nil {
		g.rules.changed()
	}
	return err
}

// reachChanged returns the rules of a change to a role's rules that move
// what its members may do: each rule of set that allows where the role did
// not, each allow of have that set turns into a deny, and, with replace,
// each rule of have that set leaves out — a deny lifted, an allow taken
// away. Taking an allow away lowers the members as giving one raises
// them, and a member lowered for a moment is one a helpdesk's rule
// reaches (outranks): whoever takes it away must hold it too.
func reachChanged(have, set []usher.Rule, replace bool) []usher.Rule {
	type key struct{ resource, operation string }
	old := make(map[key]usher.Access, len(have))
	for _, r := range have {
		old[key{r.Resource, r.Operation}] = r.Access
	}
	kept := make(map[key]bool, len(set))
	var out []usher.Rule
	for _, r := range set {
		k := key{r.Resource, r.Operation}
		kept[k] = true
		if r.Access == usher.Allow && old[k] != usher.Allow || r.Access == usher.Deny && old[k] == usher.Allow {
			out = append(out, usher.Rule{Resource: r.Resource, Operation: r.Operation, Access: usher.Allow})
		}
	}
	if replace {
		for _, r := range have {
			if !kept[key{r.Resource, r.Operation}] {
				out = append(out, r)
			}
		}
	}
	return out
}

// authorizeWidening is the rule that nobody gives what they do not hold:
// each rule of widened (an allow set or taken away, a deny taken away) needs the
// caller to be allowed, now, every operation it reaches on what it
// reaches — by a rule, or by the default as far as that reaches
// (heldByDefault). Without it, whoever may change the rules of a role
// they are in would give themselves any operation
// (instance_settings.manage, audit.read, user.privileges), and anyone the
// rules of a team they cannot reach. Operations on applications are
// application.grant's (authorizeGrant), whose holder gives them.
// Administrators pass.
//
// A rule on a whole type ("user", "*") reaches every instance, so it is
// held only where the caller holds the operation on each instance their
// own rules name as well: a verdict told without an instance leaves a deny
// on "user:<id>" out (evaluate), and a caller allowed user.update but
// denied it on one account would otherwise give user.update to a role,
// join it or put an accomplice in it, and change that account after all.
//
// Errors: Forbidden.
func (e *env) authorizeWidening(ctx context.Context, widened []usher.Rule) error {
	p := usher.PrincipalFrom(ctx)
	if p.IsAdmin() || len(widened) == 0 {
		return nil
	}
	mine, err := e.rules.of(ctx, e, p.UserID())
	if err != nil {
		return err
	}
	for _, r := range widened {
		typ, instance, _ := strings.Cut(r.Resource, ":")
		for _, o := range operations {
			res := o.act.resource()
			if res == actAppGrant.resource() || (typ != res && typ != "*") || (r.Operation != o.act.operation() && r.Operation != "*") {
				continue
			}
			instances := []string{instance}
			if instance == "" {
				instances = namedInstances(res, mine)
			}
			for _, inst := range instances {
				if err := e.holds(ctx, p, o.act, inst); err != nil {
					if usher.ErrorKind(err) != usher.KindForbidden {
						return err
					}
					reach := string(o.act)
					if inst != instance {
						reach += " on " + res + ":" + inst
					}
					return errForbidden("the rule " + r.Resource + " " + r.Operation + " would give " + reach +
						", which the caller may not do")
				}
			}
		}
	}
	return nil
}

// holds decides, for authorizeWidening, whether p may do act on instance
// (empty for the whole type): by a rule, or by the default as far as it
// reaches (heldByDefault).
func (e *env) holds(ctx context.Context, p *usher.Principal, act action, instance string) error {
	byDefault, err := e.heldByDefault(ctx, p, act, instance)
	if err != nil {
		return err
	}
	return e.decide(ctx, p, act, instance, byDefault)
}

// authorizeGiving is what a change to who holds which rules asks of the
// caller: application.grant on each rule it touches that reaches an
// application (authorizeGrant), and what each rule it gives more by
// (widened) reaches (authorizeWidening).
func (e *env) authorizeGiving(ctx context.Context, touched, widened []usher.Rule) error {
	if len(touched) == 0 && len(widened) == 0 {
		return nil
	}
	if err := checkGivingBound(usher.PrincipalFrom(ctx)); err != nil {
		return err
	}
	if err := e.authorizeGrant(ctx, touched); err != nil {
		return err
	}
	return e.authorizeWidening(ctx, widened)
}

// authorizeGivingOf is authorizeGiving of rules a's group holds, or would:
// to a caller who may not read the group, a refusal names none of them
// (else one who may set a role's rules, or its members, and not read it
// read them off the refusals, a change at a time).
func (e *env) authorizeGivingOf(ctx context.Context, a *access, touched, widened []usher.Rule) error {
	err := e.authorizeGiving(ctx, touched, widened)
	if usher.ErrorKind(err) != usher.KindForbidden || e.authorizeGroup(ctx, actGroupRead, a) == nil {
		return err
	}
	return &usher.Error{Kind: usher.KindForbidden, Code: usher.AsError(err).Code,
		Message: "the change would give or take away rights of the role that the caller may not"}
}

// heldByDefault is what authorizeWidening counts as held by p without a
// rule: allowedByDefault, but where that default is p's only in part,
// what the rule reaches is not. group.read is everyone's on roles and
// plain groups but a team's members' on a team (sightOf), so a rule on
// every group, or on a team p is not in, reaches teams p does not see;
// group.create is everyone's for teams only (Groups.Create), so a rule
// allowing it gives roles and plain groups too.
func (e *env) heldByDefault(ctx context.Context, p *usher.Principal, act action, instance string) (bool, error) {
	switch act {
	case actGroupCreate:
		return false, nil
	case actGroupRead:
		id, err := strconv.ParseInt(instance, 10, 64)
		if err != nil || id <= 0 {
			return false, nil
		}
		gr, err := e.store.GroupGet(ctx, id, "", "")
		if errors.Is(err, usher.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if gr.Deleted() {
			return false, nil
		}
		member := false
		if sightOf(p, gr.Kind) == sightMembers {
			_, err = e.store.MembershipGet(ctx, gr.ID, p.UserID())
			if err != nil && !errors.Is(err, usher.ErrNotFound) {
				return false, err
			}
			member = err == nil
		}
		return seesGroup(p, gr.Kind, member, ""), nil
	}
	return e.allowedByDefault(p, act, instance), nil
}

// changeRules finds the role whose rules the caller changes, refusing a
// caller who may not, and returns it with its rules.
func (g *Groups) changeRules(ctx context.Context, tx store.Tx, ref usher.GroupRef) (*access, []usher.Rule, error) {
	a, err := g.role(ctx, tx, ref)
	if err != nil {
		return nil, nil, err
	}
	if err := g.authorizeGroup(ctx, actGroupRules, a); err != nil {
		return nil, nil, err
	}
	// The role's row, so that two changes read its rules one after the
	// other: each decides on, and may replace, what it read. The role is
	// then read again, as hold does: a merge or deletion that came first
	// ended it, and the caller's rights are as they are now.
	if err := lockGroup(ctx, tx, a.group.ID); err != nil {
		return nil, nil, err
	}
	if a, err = g.role(ctx, tx, usher.GroupRef{ID: a.group.ID}); err != nil {
		return nil, nil, err
	}
	if err := keptAsDeleted(a.group); err != nil {
		return nil, nil, err
	}
	if err := g.authorizeGroup(ctx, actGroupRules, a); err != nil {
		return nil, nil, err
	}
	// A change of rules one may not read is made blind, and its answers —
	// a rule it changed or did not, one too many, a refusal of one in the
	// way — tell the rules one at a time: it needs the role's read, as a
	// change of a group does (changeIn).
	if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
		return nil, nil, err
	}
	have, err := tx.RuleList(ctx, a.group.ID)
	return a, have, err
}
