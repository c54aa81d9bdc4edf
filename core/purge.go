package core

import (
	"context"
	"errors"
	"strconv"
	"time"

	"usher"
	"usher/store"
)

// purgeBatch is how many deleted teams, and how many deleted service
// accounts, one round of housekeeping purges at most, each in a
// transaction of its own; a backlog is purged over several rounds.
const purgeBatch = 100

// purgeDeleted deletes for good the teams and the service accounts
// deleted longer than KeepEnded ago, as GitLab deletes a group once its
// deletion delay has passed. Until then an administrator may restore
// them; a deleted team holds its handle against all but administrators
// (sharedHandle), and both count against the limits of whoever made them
// (checkTeamRoom, checkServiceAccountsMade), so that making and deleting
// them in a loop holds no more names and rows than keeping them would.
// People's accounts are not purged: an administrator does that.
func (o *Outbox) purgeDeleted(ctx context.Context) {
	if o.policy.KeepEnded <= 0 {
		return
	}
	before := o.now().Add(-o.policy.KeepEnded)
	accounts := o.purgeEach(ctx, "service accounts", before, func(ctx context.Context, before time.Time) ([]int64, error) {
		return o.store.UsersDeletedBefore(ctx, usher.KindServiceAccount, before, purgeBatch)
	}, o.purgeServiceAccount)
	teams := o.purgeEach(ctx, "teams", before, func(ctx context.Context, before time.Time) ([]int64, error) {
		return o.store.GroupsDeletedBefore(ctx, usher.GroupTeam, before, purgeBatch)
	}, o.purgeTeam)
	if accounts+teams > 0 {
		o.log.InfoContext(ctx, "deleted teams and service accounts purged", "teams", teams, "service_accounts", accounts)
	}
}

// purgeEach purges, with purge, the ids that find returns, and counts
// those it purged; it stops at the first error, which it logs.
func (o *Outbox) purgeEach(ctx context.Context, what string, before time.Time,
	find func(context.Context, time.Time) ([]int64, error), purge func(context.Context, int64, time.Time) (bool, error)) int {
	ids, err := find(ctx, before)
	if err != nil {
		if ctx.Err() == nil {
			o.log.ErrorContext(ctx, "finding deleted "+what+" to purge", "err", err)
		}
		return 0
	}
	n := 0
	for _, id := range ids {
		ok, err := purge(ctx, id, before)
		if err != nil {
			if ctx.Err() == nil {
				o.log.ErrorContext(ctx, "purging deleted "+what, "id", id, "err", err)
			}
			break
		}
		if ok {
			n++
		}
	}
	return n
}

// purgeTeam deletes the team of id for good, with its memberships, unless
// an administrator restored it since it was found (or another process
// purged it): it holds the team's row and reads it again. The service
// accounts deleted with it go their own way (purgeServiceAccount), at
// the same time, as they were deleted with it. The purge is recorded, as
// usher's own act.
func (o *Outbox) purgeTeam(ctx context.Context, id int64, before time.Time) (bool, error) {
	sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	purged := false
	err := o.store.InTx(sys, func(tx store.Tx) error {
		purged = false
		switch err := lockGroup(sys, tx, id); {
		case errors.Is(err, usher.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		team, err := tx.GroupGet(sys, id, "", "")
		if err != nil {
			return err
		}
		if team.Kind != usher.GroupTeam || team.DeletedAt == nil || !team.DeletedAt.Before(before) {
			return nil
		}
		if err := tx.GroupPurge(sys, id); err != nil {
			return err
		}
		purged = true
		return o.record(sys, tx, o.now(), event{action: "group.purge", resourceType: "group", resourceID: strconv.FormatInt(id, 10),
			meta: map[string]string{"kind": string(team.Kind), "handle": team.Handle,
				"deleted_at": team.DeletedAt.UTC().Format(time.RFC3339)}})
	})
	return purged, err
}

// purgeServiceAccount deletes the service account of id for good, with
// everything that belongs to it, as Users.Purge does, unless an
// administrator restored it since it was found: it holds the account's
// row and reads it again. Its avatar's bytes go from the blob store once
// the purge commits. The purge is recorded, as usher's own act.
func (o *Outbox) purgeServiceAccount(ctx context.Context, id int64, before time.Time) (bool, error) {
	sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	var drop []string
	purged := false
	err := o.store.InTx(sys, func(tx store.Tx) error {
		drop, purged = drop[:0], false
		switch err := lockUser(sys, tx, id); {
		case errors.Is(err, usher.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		u, err := tx.UserGet(sys, usher.UserKey{ID: id})
		if err != nil {
			return err
		}
		if u.Kind != usher.KindServiceAccount || u.DeletedAt == nil || !u.DeletedAt.Before(before) {
			return nil
		}
		if _, err := removeAvatars(sys, tx, id, 0, &drop); err != nil {
			return err
		}
		if err := tx.UserPurge(sys, id); err != nil {
			return err
		}
		purged = true
		return o.record(sys, tx, o.now(), event{action: "service_account.purge", resourceType: "user",
			resourceID: strconv.FormatInt(id, 10), meta: map[string]string{"username": u.Username,
				"deleted_at": u.DeletedAt.UTC().Format(time.RFC3339)}})
	})
	if err != nil {
		return false, err
	}
	o.dropBlobs(ctx, drop)
	return purged, nil
}
