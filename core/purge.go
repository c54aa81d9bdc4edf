package core

import (
	"context"
	"errors"
	"strconv"
	"time"

	"usher"
	"usher/store"
)

// purgeBatch is how many deleted groups of each kind, and how many deleted
// service accounts, one round of housekeeping purges at most, each in a
// transaction of its own; a backlog is purged over several rounds.
const purgeBatch = 100

// purgedKinds are the kinds of group housekeeping purges once deleted long
// enough; internal groups are usher's own to delete.
var purgedKinds = []usher.GroupKind{usher.GroupTeam, usher.GroupRole, usher.GroupPlain}

// purgeDeleted deletes for good the teams, roles, plain groups and service
// accounts deleted longer than KeepEnded ago, as GitLab deletes a group
// once its deletion delay has passed. Until then an administrator may
// restore them; a deleted team holds its handle against all but
// administrators (sharedHandle), teams and service accounts count against
// the limits of whoever made them (checkTeamRoom,
// checkServiceAccountsMade), so that making and deleting them in a loop
// holds no more names and rows than keeping them would, and a deleted
// role's rules still count for the take-over guard (RulesKept), as it may
// come back. People's accounts are not purged: an administrator does that.
func (o *Outbox) purgeDeleted(ctx context.Context) {
	if o.policy.KeepEnded <= 0 {
		return
	}
	before := o.now().Add(-o.policy.KeepEnded)
	accounts := o.purgeEach(ctx, "service accounts", before, func(ctx context.Context, before time.Time) ([]int64, error) {
		return o.store.UsersDeletedBefore(ctx, usher.KindServiceAccount, before, purgeBatch)
	}, o.purgeServiceAccount)
	groups := map[usher.GroupKind]int{}
	for _, kind := range purgedKinds {
		groups[kind] = o.purgeEach(ctx, string(kind)+"s", before, func(ctx context.Context, before time.Time) ([]int64, error) {
			return o.store.GroupsDeletedBefore(ctx, kind, before, purgeBatch)
		}, func(ctx context.Context, id int64, before time.Time) (bool, error) {
			return o.purgeGroup(ctx, kind, id, before)
		})
	}
	if n := accounts + groups[usher.GroupTeam] + groups[usher.GroupRole] + groups[usher.GroupPlain]; n > 0 {
		o.log.InfoContext(ctx, "deleted groups and service accounts purged", "teams", groups[usher.GroupTeam],
			"roles", groups[usher.GroupRole], "groups", groups[usher.GroupPlain], "service_accounts", accounts)
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

// purgeGroup deletes the group of id, of kind, for good, with its
// memberships and a role's rules, unless an administrator restored it
// since it was found (or another process purged it): it holds the group's
// row and reads it again. The service accounts deleted with a team go
// their own way (purgeServiceAccount), at the same time, as they were
// deleted with it. The purge is recorded, as usher's own act.
func (o *Outbox) purgeGroup(ctx context.Context, kind usher.GroupKind, id int64, before time.Time) (bool, error) {
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
		g, err := tx.GroupGet(sys, id, "", "")
		if err != nil {
			return err
		}
		if g.Kind != kind || g.DeletedAt == nil || !g.DeletedAt.Before(before) {
			return nil
		}
		if err := tx.GroupPurge(sys, id); err != nil {
			return err
		}
		purged = true
		return o.record(sys, tx, o.now(), event{action: "group.purge", resourceType: "group", resourceID: strconv.FormatInt(id, 10),
			meta: map[string]string{"kind": string(g.Kind), "handle": g.Handle,
				"deleted_at": g.DeletedAt.UTC().Format(time.RFC3339)}})
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
		// Its files go with it. Kept with no owner, as an administrator's
		// purge keeps a person's for the administrator to look at, they
		// counted against no one's quota, and a team's owner could keep a
		// quota's worth more with each account made, filled with files
		// through its token, deleted and purged.
		files, err := tx.AttachmentsOf(sys, id, usher.AttachmentGeneral)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := tx.AttachmentDelete(sys, f.ID); err != nil {
				return err
			}
			drop = append(drop, blobsOf(f)...)
		}
		// As an administrator's purge does (Users.Purge).
		if err := endRemindersFor(sys, tx, id, o.now()); err != nil {
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
