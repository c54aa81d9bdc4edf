package sqldb

import (
	"context"
	"database/sql"

	"usher"
)

func scanRule(s scanner) (usher.Rule, error) {
	var r usher.Rule
	var access string
	err := s.Scan(&r.RoleID, &r.Resource, &r.Operation, &access)
	r.Access = usher.Access(access)
	return r, err
}

// RuleList returns a role's rules.
func (c *conn) RuleList(ctx context.Context, roleID int64) ([]usher.Rule, error) {
	return collectNamed(ctx, c, "RuleList", scanRule, roleID)
}

// RuleSet adds or replaces a rule.
func (c *conn) RuleSet(ctx context.Context, r usher.Rule) error {
	_, err := c.exec(ctx, "RuleUpsert", r.RoleID, r.Resource, r.Operation, string(r.Access))
	return err
}

// RuleDelete deletes one rule, or all of a role's.
func (c *conn) RuleDelete(ctx context.Context, roleID int64, resource, operation string) (int, error) {
	var res sql.Result
	var err error
	if resource == "" && operation == "" {
		res, err = c.exec(ctx, "RuleDeleteAll", roleID)
	} else {
		res, err = c.exec(ctx, "RuleDeleteOne", roleID, resource, operation)
	}
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RulesFor returns every rule that applies to a user, in one query.
func (c *conn) RulesFor(ctx context.Context, userID int64) ([]usher.Rule, error) {
	return collectNamed(ctx, c, "RulesFor", scanRule, userID)
}

// RulesKept returns the rules of every role the user is in, archived and
// deleted ones too, in one query.
func (c *conn) RulesKept(ctx context.Context, userID int64) ([]usher.Rule, error) {
	return collectNamed(ctx, c, "RulesKept", scanRule, userID)
}
