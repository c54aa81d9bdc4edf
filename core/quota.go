package core

import (
	"context"
	"slices"
	"strconv"

	"usher"
	"usher/store"
)

// What one account may hold of what it makes for itself, where nothing
// else bounds it: every file, reminder, key and team is a row (and a file
// its bytes) that any signed-in user could otherwise add in a loop until
// the disk or the database is full, and a reminder is a mail too.
const (
	// maxFilesPerUser and filesPerUserInBytes bound the general
	// attachments a user owns: their number, and their bytes together —
	// as many as that many of the largest uploads would hold (1,000 MiB
	// with the default --max-upload).
	maxFilesPerUser     = 1000
	filesPerUserInBytes = 100
	// maxRemindersPerUser bounds the live reminders a user created.
	maxRemindersPerUser = 1000
	// maxKeysPerUser bounds a user's SSH keys, as an import's record is.
	maxKeysPerUser = 100
	// maxEmailsPerUser bounds a user's secondary addresses, confirmed or
	// waiting for their code, as an import's record is.
	maxEmailsPerUser = 100
	// maxTeamsPerUser bounds the live teams a user who is no
	// administrator owns and the deleted ones they made, until purged,
	// when they make one more, or are made an owner of one more.
	maxTeamsPerUser = 1000
	// maxServiceAccountsPerTeam bounds a team's live service accounts:
	// each is an account with limits of its own, which its team's owners
	// would otherwise multiply without end; maxServiceAccountsPerOwner
	// bounds them across the teams a user who is no administrator owns,
	// which maxTeamsPerUser alone let reach 100,000, and those such a
	// user made, live or deleted until purged.
	maxServiceAccountsPerTeam  = 100
	maxServiceAccountsPerOwner = 100
)

// errLimitReached refuses one more of what an account holds as many of
// as it may.
func errLimitReached(held string) error {
	return errLimit("the account holds " + held + ", the most it may: delete some first")
}

// errLimit refuses one more of something at its limit, in the words given.
func errLimit(message string) error {
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeLimitReached, Message: message}
}

// checkFileRoom refuses a file for a user who would then own more general
// attachments, or more bytes of them, than they may: at most
// maxFilesPerUser files of filesPerUserInBytes × maxUpload bytes. It runs
// in the transaction that inserted the file, which it counts. Counting
// under the account's row lock keeps concurrent uploads from each seeing
// room for one more.
func checkFileRoom(ctx context.Context, tx store.Tx, owner int64, maxUpload int) error {
	if owner == 0 {
		return nil
	}
	if err := lockUser(ctx, tx, owner); err != nil {
		return err
	}
	files, err := tx.AttachmentsOf(ctx, owner, usher.AttachmentGeneral)
	if err != nil {
		return err
	}
	var bytes int64
	for _, f := range files {
		bytes += f.Size
	}
	switch quota := filesPerUserInBytes * int64(maxUpload); {
	case len(files) > maxFilesPerUser:
		return errLimitReached(strconv.Itoa(maxFilesPerUser) + " files")
	case bytes > quota:
		return errLimitReached("files of " + strconv.FormatInt(bytes-files[len(files)-1].Size, 10) +
			" bytes, and this one would pass " + strconv.FormatInt(quota, 10))
	}
	return nil
}

// checkReminderRoom refuses a new reminder for a creator who holds as many
// live ones as they may.
func checkReminderRoom(ctx context.Context, tx store.Tx, creator int64) error {
	if creator == 0 {
		return nil
	}
	if err := lockUser(ctx, tx, creator); err != nil {
		return err
	}
	// Counted, not read: exactly up to the bound, which is all it asks.
	page, err := tx.ReminderList(ctx, usher.ReminderFilter{CreatedBy: creator,
		Page: usher.PageRequest{Limit: 1, WithTotal: true, CountUpTo: maxRemindersPerUser}})
	if err != nil {
		return err
	}
	if page.Total >= maxRemindersPerUser {
		return errLimitReached(strconv.Itoa(maxRemindersPerUser) + " reminders")
	}
	return nil
}

// checkKeyRoom refuses a new SSH key for a user who holds as many as they
// may.
func checkKeyRoom(ctx context.Context, tx store.Tx, userID int64) error {
	if err := lockUser(ctx, tx, userID); err != nil {
		return err
	}
	keys, err := tx.KeyList(ctx, userID)
	if err != nil {
		return err
	}
	if len(keys) >= maxKeysPerUser {
		return errLimitReached(strconv.Itoa(len(keys)) + " SSH keys")
	}
	return nil
}

// checkEmailRoom refuses a secondary address to a user who holds as many
// as they may. The caller holds the account's row, so that concurrent
// additions do not each see room for one more.
func checkEmailRoom(ctx context.Context, tx store.Tx, userID int64) error {
	emails, err := tx.EmailList(ctx, userID)
	if err != nil {
		return err
	}
	if len(emails) >= maxEmailsPerUser {
		return errLimitReached(strconv.Itoa(len(emails)) + " secondary addresses")
	}
	return nil
}

// checkServiceAccountRoom refuses a new service account to a team that
// holds as many live ones as it may, and, from a caller who is no
// administrator, to a team one of whose owners owns teams that hold as
// many in all (the caller's too), or to a caller who made as many that
// are not purged (checkServiceAccountsMade): else a co-owner filled teams
// another owns past that owner's count. Counting under the team's row
// lock, which the caller holds (heldTeam), then the owners' counts',
// keeps concurrent creations from each seeing room for one more.
func checkServiceAccountRoom(ctx context.Context, tx store.Tx, p *usher.Principal, team *usher.Group) error {
	if !p.IsAdmin() && p.User != nil {
		owners, err := ownersOf(ctx, tx, team.ID)
		if err != nil {
			return err
		}
		if err := checkOwnersRoom(ctx, tx, append(owners, p.User.ID), 1); err != nil {
			return err
		}
		if err := checkServiceAccountsMade(ctx, tx, p.User.ID); err != nil {
			return err
		}
	}
	accounts, err := serviceAccountsOf(ctx, tx, team)
	if err != nil {
		return err
	}
	return checkTeamAccounts(len(accounts))
}

// checkTeamAccounts refuses one more service account to a team that holds
// n, as many as a team may: an administrator's too, however it comes (made
// there, added as a member, merged in).
func checkTeamAccounts(n int) error {
	if n >= maxServiceAccountsPerTeam {
		return errLimit("the team holds " + strconv.Itoa(n) + " service accounts, the most it may: delete some first")
	}
	return nil
}

// deletedCount says, in a refusal at a maker's limit, why deleting does
// not make room at once.
const deletedCount = "one deleted counts until housekeeping purges it (--keep-ended after its deletion)"

// checkServiceAccountsMade refuses a new service account to a user who
// made maxServiceAccountsPerOwner that are not purged yet, live or
// deleted, in whichever teams: they count against their maker, not
// against whoever owns their team. Else a loop of making and deleting
// them grew the users table without end, and so did filling teams that
// another account of one's own owns, whose count the maker's is not.
func checkServiceAccountsMade(ctx context.Context, tx store.Tx, userID int64) error {
	n, err := tx.ServiceAccountsMadeBy(ctx, userID)
	if err != nil {
		return err
	}
	if n >= maxServiceAccountsPerOwner {
		return errLimit("the account made " + strconv.Itoa(n) + " service accounts, the most it may: " + deletedCount)
	}
	return nil
}

// ownersOf returns the ids of the team's live owners who are no
// administrators: the ones its service accounts count against.
func ownersOf(ctx context.Context, tx store.Tx, teamID int64) ([]int64, error) {
	var ids []int64
	err := eachMember(ctx, tx, teamID, true, func(m *usher.Membership) error {
		if m.Level == usher.LevelOwner && !m.User.Admin {
			ids = append(ids, m.UserID)
		}
		return nil
	})
	return ids, err
}

// checkOwnersRoom is checkOwnedServiceAccounts for each of the users, in
// id order (the one order rows are taken in), each once.
func checkOwnersRoom(ctx context.Context, tx store.Tx, ids []int64, more int) error {
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		if err := checkOwnedServiceAccounts(ctx, tx, id, more); err != nil {
			return err
		}
	}
	return nil
}

// checkOwnedServiceAccounts refuses more live service accounts in the
// teams the user owns when they would then hold more than
// maxServiceAccountsPerOwner: one made in a team of theirs, or a team's
// being handed to them. Counting under the count's lock keeps two such
// changes from each seeing room; it is not the user's row, which a
// deletion of the user takes before the teams the user owns, while the
// making of a service account holds its team before it counts its owners'.
func checkOwnedServiceAccounts(ctx context.Context, tx store.Tx, userID int64, more int) error {
	if err := tx.OwnedServiceAccountLock(ctx, userID); err != nil {
		return err
	}
	n, err := tx.OwnedServiceAccountCount(ctx, userID)
	if err != nil {
		return err
	}
	if n+more > maxServiceAccountsPerOwner {
		return errLimit("an owner of the team owns teams that hold " + strconv.Itoa(n) + " service accounts, the most they may: delete some first")
	}
	return nil
}

// checkTeamRoom refuses a new team to a user who owns as many live teams
// as they may, counting the deleted teams they made until housekeeping
// purges them (Outbox.purgeDeleted): each holds its handle until then, so
// a loop of making and deleting teams would else hold any number of names,
// and grow the table. A deleted team counts against its maker, not its
// owners: else whoever was handed teams could not make room by deleting
// them.
func checkTeamRoom(ctx context.Context, tx store.Tx, userID int64) error {
	if err := lockUser(ctx, tx, userID); err != nil {
		return err
	}
	owned, err := tx.OwnedTeamCount(ctx, userID)
	if err != nil {
		return err
	}
	deleted, err := tx.DeletedTeamsMadeBy(ctx, userID)
	if err != nil {
		return err
	}
	if owned+deleted >= maxTeamsPerUser {
		return errLimit("the account owns " + strconv.Itoa(owned) + " teams and made " + strconv.Itoa(deleted) +
			" deleted ones, the most it may: " + deletedCount)
	}
	return nil
}
