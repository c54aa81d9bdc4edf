package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"usher"
)

// steps are the parts of migrations written in Go, run in the migration's
// transaction after its SQL, by version.
var steps = map[int]func(ctx context.Context, db *DB, tx *sql.Tx) error{
	4:  rekeyEmails,
	27: rekeyEmails,
}

// rekeyEmails gives stored addresses the key that usher.EmailKey makes:
// at migration 4, where keys were lower-cased addresses, and again at
// migration 27, where a domain beyond ASCII came to be keyed by its
// A-label. EmailKey keeps ASCII addresses' keys, so only addresses with
// other characters are read. An address whose new key another account
// holds keeps its old one: both accounts stay as they were rather than one
// losing its address.
func rekeyEmails(ctx context.Context, db *DB, tx *sql.Tx) error {
	type row struct {
		secondary  bool
		id, userID int64
		email, key string
		new        string
	}
	rows, err := tx.QueryContext(ctx, db.queries["RekeyCandidates"])
	if err != nil {
		return fmt.Errorf("RekeyCandidates: %w", err)
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.secondary, &r.id, &r.userID, &r.email, &r.key); err != nil {
			rows.Close()
			return fmt.Errorf("RekeyCandidates: %w", err)
		}
		if r.new = usher.EmailKey(r.email); r.new != r.key {
			todo = append(todo, r)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("RekeyCandidates: %w", err)
	}
	exec := func(name string, args ...any) error {
		if _, err := tx.ExecContext(ctx, db.queries[name], args...); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	for _, r := range todo {
		var taken bool
		if err := tx.QueryRowContext(ctx, db.queries["RekeyTaken"], r.new, r.userID).Scan(&taken); err != nil {
			return fmt.Errorf("RekeyTaken: %w", err)
		}
		if taken {
			continue
		}
		if !r.secondary {
			// The claim trigger moves a live account's claim with its key.
			if err := exec("RekeyUser", r.new, r.id); err != nil {
				return err
			}
			continue
		}
		if err := exec("RekeyEmail", r.new, r.id); err != nil {
			return err
		}
		if err := exec("RekeyClaimMove", r.key, r.userID); err != nil {
			return err
		}
		if err := exec("RekeyClaimAdd", r.id); err != nil {
			return err
		}
	}
	return nil
}
