package sqldb

import (
	"context"
	"time"

	"usher/store"
)

// PruneEnded deletes up to limit ended tokens, done script runs, sent
// mails, deleted reminders and the ends of expired JWTs that ended before
// the time, uncounted: see store.Store.
func (db *DB) PruneEnded(ctx context.Context, before time.Time, limit int) (store.Pruned, error) {
	var p store.Pruned
	at := db.d.TimeArg(before)
	for _, step := range []struct {
		name string
		n    *int
	}{{"PruneTokens", &p.Tokens}, {"PruneScriptRuns", &p.ScriptRuns}, {"PruneMail", &p.Mail}, {"PruneReminders", &p.Reminders}, {"PruneJWTs", &p.JWTs}} {
		res, err := db.quiet.ExecContext(ctx, db.queries[step.name], at, limit)
		if err != nil {
			return p, db.fail(step.name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return p, db.fail(step.name, err)
		}
		*step.n = int(n)
	}
	return p, nil
}
