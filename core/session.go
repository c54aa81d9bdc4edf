package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"usher"
	"usher/store"
)

// The state changes every path shares. Whoever makes them — an
// administrator through any face, the user, a reset by mail, an import —
// calls these, so that what a change implies happens the same way.

// endSessions ends the user's sessions but the one with the id except (0
// for none) and returns how many it ended. A session's end reaches the
// token-check caches of every replica within their bound, like any write.
// The sessions yet to be opened end too: a finished external log-in's
// handles (the command line's redeem token, a PKCE client's exchange
// code), each a session its holder may still open for some minutes.
//
// The caller holds the account's row already (lockUser, or the update it
// runs in): a log-in opening its session holds that row first and uses
// up its redeem or exchange code after (openSession), so ending the codes
// before taking the row would wait for the log-in while it waits for a
// code, a deadlock on PostgreSQL.
func endSessions(ctx context.Context, tx store.Tx, userID, except int64, now time.Time) (int, error) {
	for _, kind := range []usher.CodeKind{usher.CodeRedeem, usher.CodeExchange} {
		if err := tx.CodeDeleteUser(ctx, userID, kind); err != nil {
			return 0, fmt.Errorf("ending the log-ins yet to open a session: %w", err)
		}
	}
	return tx.TokenRevoke(ctx, store.TokenFilter{UserID: userID, Kinds: []usher.TokenKind{usher.TokenSession},
		ExceptID: except}, now)
}

// endAddressChange ends the change of address u waits for, if any, and
// the code mailed for it, noting it in changes. It is asked by whatever
// takes the account back from whoever held a credential — a password
// changed or set, every session ended, the account blocked or suspended —
// as a completed reset asks it: the change was perhaps asked for with a
// stolen session, its code in the thief's mailbox, and confirmed later
// it would move the account to their address past the recovery. So are
// the codes mailed to the secondary addresses waiting to be confirmed
// (endSecondaryCodes). u is the account as an update holds it, to be
// written back by it.
func endAddressChange(ctx context.Context, tx store.Tx, u *usher.User, changes map[string]usher.Change) error {
	if err := endSecondaryCodes(ctx, tx, u.ID, u.Email); err != nil {
		return err
	}
	pending := u.UnconfirmedEmail
	if pending == "" {
		return nil
	}
	changes["unconfirmed_email"] = usher.Change{Old: pending, New: ""}
	u.UnconfirmedEmail = ""
	return addressChanged(ctx, tx, u.ID, pending, "")
}

// endAddressChangeOf is endAddressChange for an account no update holds:
// it writes the account itself.
func endAddressChangeOf(ctx context.Context, tx store.Tx, userID int64, changes map[string]usher.Change) error {
	primary := ""
	_, err := tx.UserUpdate(ctx, userID, func(u *usher.User) error {
		if u.UnconfirmedEmail == "" {
			primary = u.Email
			return errNoChange
		}
		return endAddressChange(ctx, tx, u, changes)
	})
	if errors.Is(err, errNoChange) {
		return endSecondaryCodes(ctx, tx, userID, primary)
	}
	return err
}

// endSecondaryCodes ends the codes mailed to the user's secondary
// addresses that are not confirmed yet: a thief with a stolen session
// added their own address and kept its code, which would prove it for the
// account after the owner took it back. The address stays, unconfirmed,
// for the owner to see and delete; a code sent again goes to it anew. A
// secondary address that is also the primary one (an administrator made
// it so) is left: the primary's own confirmation code goes to it, and
// only to the owner.
func endSecondaryCodes(ctx context.Context, tx store.Tx, userID int64, primary string) error {
	addrs, err := tx.EmailList(ctx, userID)
	if err != nil {
		return err
	}
	for _, e := range addrs {
		if e.ConfirmedAt != nil || usher.EmailKey(e.Email) == usher.EmailKey(primary) {
			continue
		}
		if err := tx.CodeDeleteAddress(ctx, userID, usher.EmailKey(e.Email), usher.CodeConfirm); err != nil {
			return fmt.Errorf("ending the codes of the secondary addresses: %w", err)
		}
	}
	return nil
}

// endResets ends the user's reset tokens and tickets: a password that
// changes, however, leaves none that would set another.
func endResets(ctx context.Context, tx store.Tx, userID int64) error {
	for _, kind := range []usher.CodeKind{usher.CodeReset, usher.CodeResetTicket} {
		if err := tx.CodeDeleteUser(ctx, userID, kind); err != nil {
			return fmt.Errorf("ending the resets asked before the password changed: %w", err)
		}
	}
	return nil
}

// setPassword stores a user's new password hash and ends the user's
// sessions but the one with the id except: a new password, whoever sets
// it, signs out whoever knew the old one. It ends the reset tokens and
// tickets mailed before too, so that a mail read by someone else sets no
// password once the password changed. The account's address is told
// of the change, when, from where and how to take the account back
// (whoever changed it may not be its owner); the caller calls mailQueued
// after the transaction.
//
// It holds the account's row first, as a log-in opening a session does
// (openSession): the two take turns, so that the log-in either reads the
// new hash and is refused, or commits its session before the sessions
// are ended here.
func (e *env) setPassword(ctx context.Context, tx store.Tx, u *usher.User, hash string, except int64, now time.Time) (ended int, err error) {
	if err := lockUser(ctx, tx, u.ID); err != nil {
		return 0, err
	}
	if err := tx.PasswordSet(ctx, u.ID, hash, now); err != nil {
		return 0, err
	}
	if err := endResets(ctx, tx, u.ID); err != nil {
		return 0, err
	}
	// A new password ends the locks of the logins that name the account,
	// and of its password change: anyone may fail the logins on purpose,
	// a stolen session the change, and the owner, who proved the mailbox
	// by a reset (or was given the password), must get in and change it.
	// The device the change comes from counts the logins in keys of its
	// own when the account knows it (loginLimits): those end too.
	keys := []string{passwordKey(u.ID)}
	device := e.deviceHash(ctx, u)
	for _, login := range []string{u.Username, u.Email} {
		if login != "" {
			keys = append(keys, loginKey(login), deviceLoginKey(login, device))
		}
	}
	for _, key := range keys {
		if err := tx.ThrottleClear(ctx, key); err != nil {
			return 0, err
		}
	}
	if err := e.forgetDevices(ctx, tx, u, device, now); err != nil {
		return 0, err
	}
	if notifiable(u) && u.Kind != usher.KindServiceAccount {
		// The user agent is told by its families (device), never as sent:
		// whoever changed the password wrote it, and a link in it would
		// be a link in a mail that says where to turn for help.
		req := requestOf(ctx)
		name, _ := e.device(req)
		err := e.queueLetter(ctx, tx, "password_changed", u.Email, u, map[string]string{"At": mailTime(now),
			"Address": req.Address, "UserAgent": name, "ResetLink": e.policy.PublicURL + "/forgot-password"})
		if err != nil {
			return 0, err
		}
	}
	return endSessions(ctx, tx, u.ID, except, now)
}
