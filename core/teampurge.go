package core

import (
	"context"
	"errors"
	"strconv"
	"time"

	"usher"
	"usher/store"
)

// teamPurgeBatch is how many deleted teams one round of housekeeping
// purges at most, each in a transaction of its own; a backlog is purged
// over several rounds.
const teamPurgeBatch = 100

// purgeTeams deletes for good the teams deleted longer than KeepEnded ago
// (Store.GroupsDeletedBefore), as GitLab deletes a group once its deletion
// delay has passed. Until then a deleted team keeps its rows, for an
// administrator to restore it, and holds its handle against all but
// administrators (sharedHandle), and its owners count it among the teams
// they own (checkTeamRoom); purged, it frees both, so a loop of making
// and deleting teams holds no name and grows no table beyond that time.
func (o *Outbox) purgeTeams(ctx context.Context) {
	if o.policy.KeepEnded <= 0 {
		return
	}
	before := o.now().Add(-o.policy.KeepEnded)
	ids, err := o.store.GroupsDeletedBefore(ctx, usher.GroupTeam, before, teamPurgeBatch)
	if err != nil {
		if ctx.Err() == nil {
			o.log.ErrorContext(ctx, "finding deleted teams to purge", "err", err)
		}
		return
	}
	purged, accounts := 0, 0
	for _, id := range ids {
		n, ok, err := o.purgeTeam(ctx, id, before)
		if err != nil {
			if ctx.Err() == nil {
				o.log.ErrorContext(ctx, "purging a deleted team", "group_id", id, "err", err)
			}
			break
		}
		if ok {
			purged++
			accounts += n
		}
	}
	if purged > 0 {
		o.log.InfoContext(ctx, "deleted teams purged", "count", purged, "service_accounts", accounts)
	}
}

// purgeTeam deletes the team of id for good, with its memberships and the
// service accounts deleted with it, unless an administrator restored it
// since it was found (or another process purged it). A deleted service
// account that an administrator also placed in a live team is left to
// that team. The purge is recorded, as usher's own act; the accounts'
// avatars go from the blob store once it commits. It reports how many
// service accounts went with the team, and whether the team did.
func (o *Outbox) purgeTeam(ctx context.Context, id int64, before time.Time) (int, bool, error) {
	sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	var drop []string
	accounts, purged := 0, false
	err := o.store.InTx(sys, func(tx store.Tx) error {
		drop, accounts, purged = drop[:0], 0, false
		// The team's row, then its accounts' (the one lock order).
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
		var deleted []*usher.User
		err = eachMember(sys, tx, id, false, func(m *usher.Membership) error {
			if m.User.Kind == usher.KindServiceAccount && m.User.Deleted() {
				deleted = append(deleted, m.User)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := lockUsers(sys, tx, userIDs(deleted)); err != nil {
			return err
		}
		now := o.now()
		for _, u := range deleted {
			live, err := tx.UserGroups(sys, u.ID, usher.GroupTeam)
			if err != nil {
				return err
			}
			if len(live) > 0 {
				continue
			}
			if _, err := removeAvatars(sys, tx, u.ID, 0, &drop); err != nil {
				return err
			}
			if err := tx.UserPurge(sys, u.ID); err != nil {
				return err
			}
			if err := o.record(sys, tx, now, event{action: "service_account.purge", resourceType: "user",
				resourceID: strconv.FormatInt(u.ID, 10), meta: map[string]string{"username": u.Username, "team": team.Handle,
					"reason": "team_purged"}}); err != nil {
				return err
			}
			accounts++
		}
		if err := tx.GroupPurge(sys, id); err != nil {
			return err
		}
		purged = true
		return o.record(sys, tx, now, event{action: "group.purge", resourceType: "group", resourceID: strconv.FormatInt(id, 10),
			meta: map[string]string{"kind": string(team.Kind), "handle": team.Handle,
				"deleted_at": team.DeletedAt.UTC().Format(time.RFC3339)}})
	})
	if err != nil {
		return 0, false, err
	}
	o.dropBlobs(ctx, drop)
	return accounts, purged, nil
}
