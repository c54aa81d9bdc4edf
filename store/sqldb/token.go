package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"usher"
	"usher/store"
)

// scanToken reads the columns of {{token_columns}}.
func scanToken(s scanner) (*usher.Token, error) {
	t := new(usher.Token)
	var kind string
	err := s.Scan(&t.ID, &kind, &t.UserID, &t.Name, jsonCol{&t.Scopes}, &t.Hint, &t.Hash,
		nullTime{&t.ExpiresAt}, nullTime{&t.LastUsedAt}, timeCol{&t.CreatedAt},
		nullTime{&t.RevokedAt}, &t.Address, &t.UserAgent, nullInt{&t.ImpersonatorID}, nullInt{&t.MintedByAdmin}, nullInt{&t.MintedByOwner})
	if err != nil {
		return nil, err
	}
	t.Kind = usher.TokenKind(kind)
	return t, nil
}

// TokenCreate inserts t.
func (c *conn) TokenCreate(ctx context.Context, t *usher.Token) error {
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	scopesJSON, err := jsonArg(scopes)
	if err != nil {
		return err
	}
	// Uncounted: a new token is no row a cache has read.
	err = c.quietRow(ctx, "TokenInsert", string(t.Kind), t.UserID, t.Name, scopesJSON, t.Hint,
		t.Hash, c.timeArg(t.ExpiresAt), c.timeArg(t.LastUsedAt), c.d.TimeArg(t.CreatedAt),
		c.timeArg(t.RevokedAt), t.Address, t.UserAgent, intOrNull(t.ImpersonatorID), intOrNull(t.MintedByAdmin), intOrNull(t.MintedByOwner)).Scan(&t.ID)
	if err != nil {
		err = c.fail("TokenInsert", err)
		var ue *usher.UniqueError
		if errors.As(err, &ue) {
			ue.Field = "hash"
		}
		return err
	}
	return nil
}

// TokenGet returns a token by id.
func (c *conn) TokenGet(ctx context.Context, id int64) (*usher.Token, error) {
	return c.tokenBy(ctx, "TokenByID", id)
}

// TokenByHash returns the token with the given hash.
func (c *conn) TokenByHash(ctx context.Context, hash []byte) (*usher.Token, error) {
	return c.tokenBy(ctx, "TokenByHash", hash)
}

func (c *conn) tokenBy(ctx context.Context, name string, arg any) (*usher.Token, error) {
	t, err := scanToken(c.queryRow(ctx, name, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, c.fail(name, err)
	}
	return t, nil
}

// tokenWhere adds the filter's conditions to b.
func (c *conn) tokenWhere(b *Builder, f store.TokenFilter) {
	if f.ID != 0 {
		b.Where("id = " + b.Arg(f.ID))
	}
	if f.UserID != 0 {
		b.Where("user_id = " + b.Arg(f.UserID))
	}
	if len(f.Kinds) > 0 {
		b.Where("kind IN (" + texts(b, f.Kinds) + ")")
	}
	if f.Active {
		now := b.Time(f.Now)
		b.Where("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > " + now + ")")
	}
	if f.ExceptID != 0 {
		b.Where("id <> " + b.Arg(f.ExceptID))
	}
	if f.MintedByAdmin != 0 {
		b.Where("minted_by_admin = " + b.Arg(f.MintedByAdmin))
	}
	if !f.CreatedAfter.IsZero() {
		b.Where("created_at >= " + b.Time(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		b.Where("created_at < " + b.Time(f.CreatedBefore))
	}
}

// TokenList returns the matching tokens, newest first.
func (c *conn) TokenList(ctx context.Context, f store.TokenFilter) ([]*usher.Token, error) {
	b := &Builder{d: c.d}
	c.tokenWhere(b, f)
	b.Write("SELECT " + macros["{{token_columns}}"] + " FROM tokens")
	b.WriteWhere()
	b.Write(" ORDER BY id DESC")
	rows, err := c.q.QueryContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return nil, c.fail("TokenList", err)
	}
	defer rows.Close()
	var out []*usher.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("TokenList: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenCount returns how many tokens match.
func (c *conn) TokenCount(ctx context.Context, f store.TokenFilter) (int, error) {
	b := &Builder{d: c.d}
	c.tokenWhere(b, f)
	b.Write("SELECT COUNT(*) FROM tokens")
	b.WriteWhere()
	var n int
	if err := c.q.QueryRowContext(ctx, b.String(), b.Args()...).Scan(&n); err != nil {
		return 0, c.fail("TokenCount", err)
	}
	return n, nil
}

// TokenRevoke revokes the matching tokens that are not revoked yet.
func (c *conn) TokenRevoke(ctx context.Context, f store.TokenFilter, at time.Time) (int, error) {
	if f.UserID == 0 && f.ID == 0 {
		return 0, errors.New("TokenRevoke: the filter names no user and no token")
	}
	b := &Builder{d: c.d}
	b.Write("UPDATE tokens SET revoked_at = " + b.Time(at))
	c.tokenWhere(b, f)
	b.Where("revoked_at IS NULL")
	b.WriteWhere()
	res, err := c.w.ExecContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return 0, c.fail("TokenRevoke", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// TokenTouch records a use of the token unless a recent one is recorded.
func (c *conn) TokenTouch(ctx context.Context, id int64, at, notBefore time.Time) error {
	// Uncounted: who a token stands for is the same after a touch, and
	// counting each would empty the caches of token checks once a minute
	// per token in use.
	if _, err := c.quiet.ExecContext(ctx, c.queries["TokenTouch"], c.d.TimeArg(at), id, c.d.TimeArg(notBefore)); err != nil {
		return c.fail("TokenTouch", err)
	}
	return nil
}
