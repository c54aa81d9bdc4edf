package core

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"usher"
	"usher/store"
)

// Plans manages plans: named capabilities and limits. A user's plan (or the
// default plan) decides what they may create.
type Plans struct{ *env }

var planNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$`)

func errPlanNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodePlanNotFound, Message: "A plan with this name could not be found"}
}

// List returns every plan; anyone authenticated may see them.
//
// Errors: Unauthenticated, Forbidden.
func (s *Plans) List(ctx context.Context) ([]*usher.Plan, error) {
	if err := s.authorize(ctx, actPlanRead, nil); err != nil {
		return nil, err
	}
	return s.store.PlanList(ctx)
}

// Get returns a plan by name (case-insensitively).
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Plans) Get(ctx context.Context, name string) (*usher.Plan, error) {
	if err := s.authorize(ctx, actPlanRead, nil); err != nil {
		return nil, err
	}
	if noSuchKey(name, 64) {
		return nil, errPlanNotFound()
	}
	p, err := s.store.PlanGet(ctx, name)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errPlanNotFound()
	}
	return p, err
}

// Of returns the plan each of users is on, as the caller may see it: the
// plan it names, else the default plan (nil when there is none); nil for
// a user whose plan the caller may not see (one another reads the public
// profile of, usher.ViewProfile). Reading a user's plan is reading the
// user, so a credential that may read its own account alone (read_user)
// reads its own plan.
//
// Errors: Unauthenticated, Forbidden.
func (s *Plans) Of(ctx context.Context, users []*usher.User) ([]*usher.Plan, error) {
	p := usher.PrincipalFrom(ctx)
	out := make([]*usher.Plan, len(users))
	read := map[string]*usher.Plan{} // by lower-cased name; "" the default
	for i, u := range users {
		if view(p, u) == usher.ViewProfile {
			continue
		}
		if err := s.authorize(ctx, actUserRead, u); err != nil {
			return nil, err
		}
		name := strings.ToLower(u.Plan)
		plan, ok := read[name]
		if !ok {
			var err error
			// A plan deleted since the user was read leaves its users
			// on the default.
			if plan, err = s.store.PlanGet(ctx, name); errors.Is(err, usher.ErrNotFound) && name != "" {
				plan, err = s.store.PlanGet(ctx, "")
			}
			if errors.Is(err, usher.ErrNotFound) {
				plan, err = nil, nil
			}
			if err != nil {
				return nil, err
			}
			read[name] = plan
		}
		out[i] = plan
	}
	return out, nil
}

// userPlan finds the plan a user's plan field names. A name no plan has,
// or can have (noSuchKey), is refused naming the field.
func userPlan(ctx context.Context, tx store.Tx, name string) (*usher.Plan, error) {
	var p *usher.Plan
	err := usher.ErrNotFound
	if !noSuchKey(name, 64) {
		p, err = tx.PlanGet(ctx, name)
	}
	if errors.Is(err, usher.ErrNotFound) {
		return nil, usher.FieldErrors(usher.FieldError{Field: "plan", Code: usher.CodeUnknown, Message: "no plan has this name"})
	}
	return p, err
}

// checkPlanBound refuses a credential bounded by scopes or an expiry that
// writes a plan: every account on it, or on the default its users fall
// back to, may create what it gives, past the credential, as
// checkRaiseBound refuses for one account.
func checkPlanBound(p *usher.Principal) error {
	return refuseBounded(p, "plans, whose capabilities every account on them keeps past it")
}

// Create creates a plan; when it is the default, the former default stops
// being one.
//
// Errors: Unauthenticated, Forbidden, Unprocessable (a bad name or a
// negative limit), Conflict (the name is taken).
func (s *Plans) Create(ctx context.Context, p usher.Plan) (*usher.Plan, error) {
	if err := s.authorize(ctx, actPlanManage, nil); err != nil {
		return nil, err
	}
	if err := checkPlanBound(usher.PrincipalFrom(ctx)); err != nil {
		return nil, err
	}
	var c checker
	if !planNameRE.MatchString(p.Name) {
		c.add("name", usher.CodeInvalid, "must be 1 to 64 letters, digits, spaces and _ . -")
	}
	c.count("project_limit", p.ProjectLimit)
	if err := c.err(); err != nil {
		return nil, err
	}
	now := s.now()
	p.CreatedAt, p.UpdatedAt = now, now
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if p.Default {
			if err := s.clearDefault(ctx, tx); err != nil {
				return err
			}
		}
		if err := tx.PlanCreate(ctx, &p); err != nil {
			return err
		}
		return s.record(ctx, tx, now, event{action: "plan.create", resourceType: "plan", resourceID: p.Name, changes: planChanges(&usher.Plan{}, &p)})
	})
	if errors.Is(err, usher.ErrExists) {
		return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodePlanExists, Message: "A plan with this name already exists", Err: err}
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// clearDefault makes the default plan, if any, no longer the default, and
// records it on that plan: its log would otherwise end at the change that
// made it the default.
func (s *Plans) clearDefault(ctx context.Context, tx store.Tx) error {
	cur, err := tx.PlanGet(ctx, "")
	if errors.Is(err, usher.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.now()
	after, err := tx.PlanUpdate(ctx, cur.Name, func(p *usher.Plan) error { p.Default, p.UpdatedAt = false, now; return nil })
	if err != nil {
		return err
	}
	return s.record(ctx, tx, now, event{action: "plan.update", resourceType: "plan", resourceID: cur.Name, changes: planChanges(cur, after)})
}

// Update replaces a plan's capabilities and limit (its name stays); making
// it the default takes that from the former default, and in.Default nil
// leaves whether it is the default as it is.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable.
func (s *Plans) Update(ctx context.Context, name string, in usher.PlanUpdate) (*usher.Plan, error) {
	if err := s.authorize(ctx, actPlanManage, nil); err != nil {
		return nil, err
	}
	if err := checkPlanBound(usher.PrincipalFrom(ctx)); err != nil {
		return nil, err
	}
	var c checker
	if c.count("project_limit", in.ProjectLimit); c.err() != nil {
		return nil, c.err()
	}
	var out *usher.Plan
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if noSuchKey(name, 64) {
			return errPlanNotFound()
		}
		cur, err := tx.PlanGet(ctx, name)
		if err != nil {
			return errPlanNotFound()
		}
		def := cur.Default
		if in.Default != nil {
			def = *in.Default
		}
		if def && !cur.Default {
			if err := s.clearDefault(ctx, tx); err != nil {
				return err
			}
		}
		now := s.now()
		var changes map[string]usher.Change
		out, err = tx.PlanUpdate(ctx, cur.Name, func(p *usher.Plan) error {
			old := *p
			p.CanCreateTeam, p.CanCreateStateProject = in.CanCreateTeam, in.CanCreateStateProject
			p.CanManageProjectACL, p.CanManageProjectHooks = in.CanManageProjectACL, in.CanManageProjectHooks
			p.ProjectLimit, p.Default, p.UpdatedAt = in.ProjectLimit, def, now
			changes = planChanges(&old, p)
			return nil
		})
		if err != nil {
			return err
		}
		return s.record(ctx, tx, now, event{action: "plan.update", resourceType: "plan", resourceID: cur.Name, changes: changes})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delete deletes a plan; its users fall back to the default plan.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Plans) Delete(ctx context.Context, name string) error {
	if err := s.authorize(ctx, actPlanManage, nil); err != nil {
		return err
	}
	if err := checkPlanBound(usher.PrincipalFrom(ctx)); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx store.Tx) error {
		if noSuchKey(name, 64) {
			return errPlanNotFound()
		}
		if err := tx.PlanDelete(ctx, name); err != nil {
			if errors.Is(err, usher.ErrNotFound) {
				return errPlanNotFound()
			}
			return err
		}
		return s.record(ctx, tx, s.now(), event{action: "plan.delete", resourceType: "plan", resourceID: name})
	})
}

// Default returns the name of the default plan, "" when there is none.
//
// Errors: Unauthenticated, Forbidden.
func (s *Plans) Default(ctx context.Context) (string, error) {
	if err := s.authorize(ctx, actPlanRead, nil); err != nil {
		return "", err
	}
	p, err := s.store.PlanGet(ctx, "")
	if errors.Is(err, usher.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

func planChanges(old, p *usher.Plan) map[string]usher.Change {
	changes := map[string]usher.Change{}
	for _, f := range []struct {
		name string
		o, n any
	}{
		{"can_create_team", old.CanCreateTeam, p.CanCreateTeam},
		{"can_create_state_project", old.CanCreateStateProject, p.CanCreateStateProject},
		{"can_manage_project_acl", old.CanManageProjectACL, p.CanManageProjectACL},
		{"can_manage_project_hooks", old.CanManageProjectHooks, p.CanManageProjectHooks},
		{"project_limit", old.ProjectLimit, p.ProjectLimit},
		{"default", old.Default, p.Default},
	} {
		if f.o != f.n {
			changes[f.name] = usher.Change{Old: f.o, New: f.n}
		}
	}
	return changes
}
