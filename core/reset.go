package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// RequestPasswordReset sends a single-use reset token to the address if an
// account has it, ending the tokens and tickets of the requests before.
// The answer, and about the time it takes (at least the policy's
// ResetAnswerFloor), are the same whether it does or not.
//
// An instance setting may turn password reset off
// (usher.SettingPasswordResetEnabled, usher.SettingInternalEnabled).
//
// Errors: Forbidden (password reset is off), Invalid (a malformed address),
// RateLimited.
func (a *Auth) RequestPasswordReset(ctx context.Context, email string) error {
	defer answerFloor(ctx, time.Now(), a.policy.ResetAnswerFloor)
	if open, err := a.resetOpen(ctx); err != nil || !open {
		if err == nil {
			err = &usher.Error{Kind: usher.KindForbidden, Code: usher.CodePasswordResetOff, Message: "password reset is disabled"}
		}
		return err
	}
	var c checker
	c.email("email", email, true)
	if err := c.err(); err != nil {
		return err
	}
	// Requests per address are limited like log-in failures, and per
	// client like sign-ups: each writes an audit event and a throttle's
	// row, and one client naming a new address each time was bounded by
	// nothing. Past either limit the answer is 429, whether an account has
	// the address or not. The client's count comes first: a client past
	// its limit writes no row for the address it names (reserve).
	var limits []limit
	if client := addressKey(usher.RequestFrom(ctx).Address); client != "" {
		limits = append(limits, limit{key: "reset-client:" + client, max: resetsPerClient})
	}
	limits = append(limits, limit{key: "reset:" + usher.EmailKey(email), max: a.policy.MaxFailuresPerKey, shown: addressShown("reset", email)})
	if _, err := a.reserve(ctx, limits); err != nil {
		return err
	}
	now := a.now()
	noAccount := func() error {
		// Anyone may type any address here: the log keeps the domain, for
		// spotting a run of guesses, and not the address of someone who
		// may have no account.
		_, domain, _ := strings.Cut(usher.EmailKey(email), "@")
		return a.recordAlone(ctx, event{action: "auth.password_reset_request", resourceType: "user",
			meta: map[string]string{"email_domain": domain, "outcome": "no_account"}})
	}
	resettable := func(u *usher.User) bool {
		return u.Kind != usher.KindServiceAccount && u.State != usher.StateBlockedExternal
	}
	u, err := a.store.UserGet(ctx, usher.UserKey{Email: email})
	if errors.Is(err, usher.ErrNotFound) || (err == nil && !resettable(u)) {
		return noAccount()
	}
	if err != nil {
		return err
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		// A new request ends the tokens mailed before it and the tickets
		// they were exchanged for: only the latest mail resets. Requests
		// that come together take the account's row in turn, else each
		// would end only the tokens committed before it began and keep
		// its own beside the others'. Read again under it, the account may
		// have been deleted or given another address since: that ended
		// the tokens it found, not this one.
		cur, ok, err := readAgain(ctx, tx, u)
		if err != nil {
			return err
		}
		if !ok || !resettable(cur) {
			return errAddressGone
		}
		for _, kind := range []usher.CodeKind{usher.CodeReset, usher.CodeResetTicket} {
			if err := tx.CodeDeleteUser(ctx, u.ID, kind); err != nil {
				return err
			}
		}
		token, _, err := a.issueCode(ctx, tx, usher.CodeReset, u.ID, u.Email, a.policy.ResetTTL, "")
		if err != nil {
			return err
		}
		data := a.codeLink(token, "/reset-password?token=", "/v1/auth/password-reset/exchange", a.policy.ResetTTL)
		if err := a.queueLetter(ctx, tx, "reset", u.Email, u, data); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.password_reset_request", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), meta: map[string]string{"email": email}})
	})
	if errors.Is(err, errAddressGone) {
		return noAccount()
	}
	if err == nil {
		a.mailQueued()
	}
	return err
}

// errAddressGone is a mailed code's request that found, holding the
// account's row, the account deleted or its address changed since it read
// it (readAgain): no code is issued.
var errAddressGone = errors.New("the account no longer holds the address")

// readAgain holds u's row and reads the account again, for a mail a
// request decided on from a read outside its transaction: a deletion or a
// change of address committed between the two ended the codes it found,
// and the one this request would issue must not outlive it. ok is false
// when the account is deleted or no longer holds u's address.
func readAgain(ctx context.Context, tx store.Tx, u *usher.User) (cur *usher.User, ok bool, err error) {
	if err := lockUser(ctx, tx, u.ID); err != nil {
		return nil, false, err
	}
	if cur, err = tx.UserGet(ctx, usher.UserKey{ID: u.ID}); err != nil {
		return nil, false, err
	}
	return cur, !cur.Deleted() && usher.EmailKey(cur.Email) == usher.EmailKey(u.Email), nil
}

// ExchangeResetToken trades a reset token from a mail for a reset ticket and
// the account's details (Corteza's exchange step). The token is used up.
//
// Errors: NotFound (the token is unknown, used or expired), Invalid.
func (a *Auth) ExchangeResetToken(ctx context.Context, token string) (*usher.ResetTicket, error) {
	if token == "" {
		return nil, invalid("token", "is required")
	}
	out := &usher.ResetTicket{}
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		c, err := a.useCode(ctx, tx, usher.CodeReset, token)
		if err != nil {
			return err
		}
		u, err := tx.UserGet(ctx, usher.UserKey{ID: c.UserID})
		if err != nil || u.Deleted() || !codeProves(c, u.Email) {
			return errCodeNotFound(usher.CodeReset)
		}
		ticket, tc, err := a.issueCode(ctx, tx, usher.CodeResetTicket, u.ID, u.Email, a.policy.ResetTicketTTL, "")
		if err != nil {
			return err
		}
		out.Ticket, out.ExpiresAt, out.User = ticket, tc.ExpiresAt, u
		return a.record(ctx, tx, a.now(), event{action: "auth.password_reset_exchange", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10)})
	})
	if err != nil {
		return nil, err
	}
	// The account, as its holder sees it.
	if out.User, err = a.ownShown(ctx, out.User); err != nil {
		return nil, err
	}
	return out, nil
}

// CompletePasswordReset sets a new password with a reset ticket. Every
// session of the account ends; a pending account is confirmed, since the
// token reached its mailbox. A change of address the account was waiting
// for ends, and so does what was made in the account before its address
// was proved (handOver).
//
// Errors: NotFound (the ticket is unknown, used or expired), Unprocessable
// (the password breaks the policy), RateLimited, Invalid.
func (a *Auth) CompletePasswordReset(ctx context.Context, ticket, pw string) error {
	if ticket == "" {
		return invalid("ticket", "is required")
	}
	return a.resetWith(ctx, usher.CodeResetTicket, ticket, pw)
}

// ResetPassword sets a new password with the reset token from a mail, in
// one step (Escape's reset confirmation), as ExchangeResetToken and
// CompletePasswordReset do in two. The token is used up only with the
// password set: one the policy refuses leaves it for another try, where
// the two steps had spent it on the exchange.
//
// Errors: NotFound (the token is unknown, used or expired), Unprocessable
// (the password breaks the policy), RateLimited, Invalid.
func (a *Auth) ResetPassword(ctx context.Context, token, pw string) error {
	if token == "" {
		return invalid("token", "is required")
	}
	return a.resetWith(ctx, usher.CodeReset, token, pw)
}

// resetWith sets the password pw with a code of kind, a reset token or a
// ticket, which it uses up in the same transaction: see
// CompletePasswordReset.
func (a *Auth) resetWith(ctx context.Context, kind usher.CodeKind, code, pw string) error {
	if err := a.checkPassword(pw, "", ""); err != nil {
		return err
	}
	// A code that is unknown, used or expired costs no hash: else any
	// anonymous caller could keep the hashing workers busy with made-up
	// tokens. The transaction below checks it again.
	if _, err := liveCode(ctx, a.store, kind, code, a.now()); err != nil {
		return err
	}
	hash, err := a.hash(ctx, pw)
	if err != nil {
		return err
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		c, err := a.useCode(ctx, tx, kind, code)
		if err != nil {
			return err
		}
		var now time.Time
		changes := map[string]usher.Change{"password": {New: "[set]"}}
		pending := ""
		u, err := tx.UserUpdate(ctx, c.UserID, func(u *usher.User) error {
			// The time of the proof is read once the account's row is
			// held: a token minted by a transaction that held it first is
			// dated before it, and so ended by the hand-over below.
			now = a.now()
			// The ticket proves the address its token was mailed to, which
			// is why a pending account may be confirmed below.
			if u.Deleted() || !codeProves(c, u.Email) {
				return errCodeNotFound(kind)
			}
			if problems := a.passwordProblems(pw, u.Username, u.Email); len(problems) > 0 {
				return usher.FieldErrors(problems...)
			}
			if err := addressProved(u, now, changes); err != nil {
				return err
			}
			// A change of address asked for under the old password was
			// asked by whoever knew it: confirmed later, it would move
			// the account to their address, past this reset.
			if pending = u.UnconfirmedEmail; pending != "" {
				changes["unconfirmed_email"] = usher.Change{Old: pending, New: ""}
				u.UnconfirmedEmail = ""
			}
			u.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if err := addressChanged(ctx, tx, u.ID, pending, ""); err != nil {
			return err
		}
		if err := endSecondaryCodes(ctx, tx, u.ID, u.Email); err != nil {
			return err
		}
		n, err := a.setPassword(ctx, tx, u, hash, 0, now)
		if err != nil {
			return err
		}
		meta := map[string]string{"sessions_ended": strconv.Itoa(n)}
		if err := a.handOver(ctx, tx, u.ID, *u.EmailConfirmedAt, now, meta); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.password_reset", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: changes, meta: meta})
	})
	if err == nil {
		a.mailQueued()
	}
	return err
}

// ChangePassword changes the caller's password; it needs the current one.
// Every other session of the account ends.
//
// Errors: Unauthenticated, Forbidden (wrong current password; or an
// impersonation, a token with too few scopes, an account without a
// password), Unprocessable, RateLimited.
func (a *Auth) ChangePassword(ctx context.Context, current, pw string) error {
	p := usher.PrincipalFrom(ctx)
	if err := a.authorize(ctx, actPasswordChange, p.User); err != nil {
		return err
	}
	limits := []limit{{key: passwordKey(p.UserID()), max: a.policy.MaxFailuresPerKey, proved: true}}
	counted, err := a.reserve(ctx, limits)
	if err != nil {
		return err
	}
	hash, err := a.store.PasswordGet(ctx, p.UserID())
	if errors.Is(err, usher.ErrNotFound) {
		a.forgive(ctx, limits)
		return errForbidden("the account has no password to change")
	}
	if err != nil {
		return err
	}
	// A password longer than any may be is wrong, unhashed, as at log-in.
	ok := false
	if len(current) <= a.policy.PasswordMaxBytes {
		if ok, _, err = a.hasher.Verify(ctx, current, hash); err != nil {
			a.forgive(ctx, limits)
			return hashError(err)
		}
	}
	if !ok {
		_ = a.recordAlone(ctx, event{action: "auth.password_change_failed", resourceType: "user", resourceID: strconv.FormatInt(p.UserID(), 10)})
		if err := a.failed(ctx, limits, counted); err != nil {
			return err
		}
		return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeWrongPassword, Message: "the current password is wrong",
			Fields: []usher.FieldError{{Field: "current_password", Code: usher.CodeWrong, Message: "is wrong"}}}
	}
	a.succeeded(ctx, limits)
	if err := a.checkPassword(pw, p.User.Username, p.User.Email); err != nil {
		return err
	}
	newHash, err := a.hash(ctx, pw)
	if err != nil {
		return err
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		now := a.now()
		// The session this change is made with stays: the token's own, or
		// the one its JWT was made with (a Corteza client's log-in).
		n, err := a.setPassword(ctx, tx, p.User, newHash, credentialID(p), now)
		if err != nil {
			return err
		}
		changes := map[string]usher.Change{"password": {New: "[set]"}}
		if err := endAddressChangeOf(ctx, tx, p.UserID(), changes); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.password_change", resourceType: "user",
			resourceID: strconv.FormatInt(p.UserID(), 10), changes: changes,
			meta: map[string]string{"sessions_ended": strconv.Itoa(n)}})
	})
	if err == nil {
		a.mailQueued()
	}
	return err
}

// SetPassword sets a user's password as an administrator. Every session of
// the account ends.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable, RateLimited.
func (a *Auth) SetPassword(ctx context.Context, key usher.UserKey, pw string) error {
	_, err := (&Users{env: a.env}).Update(ctx, key, usher.UserUpdate{Password: &pw})
	return err
}

// handOver ends what was made in the account before its address was
// last proved (at proved), once a reset proves that the owner of the
// address holds it. Until an address is proved, whoever registered it
// holds the account: where accounts may be used before that
// (SkipEmailConfirmation, AllowUnconfirmedSignIn), or after asking for
// someone else's address on one's own account, its maker may have made
// personal access tokens, granted applications tokens, added SSH keys and
// written reminders (mailed, once the address is proved, to its owner),
// which a new password, ending sessions only, would leave. The owner
// makes anew those they want. What was made after the proof stays: the
// owner made it. meta gets how many of each ended.
func (e *env) handOver(ctx context.Context, tx store.Tx, userID int64, proved, now time.Time, meta map[string]string) error {
	n, err := tx.TokenRevoke(ctx, store.TokenFilter{UserID: userID, CreatedBefore: proved,
		Kinds: []usher.TokenKind{usher.TokenPersonal, usher.TokenApplication}}, now)
	if err != nil {
		return fmt.Errorf("revoking the tokens made before the address was proved: %w", err)
	}
	deleted, err := deleteKeysAdded(ctx, tx, userID, time.Time{}, proved)
	if err != nil {
		return err
	}
	reminders, err := endRemindersBefore(ctx, tx, userID, proved, now)
	if err != nil {
		return err
	}
	accountTokens, accountKeys, err := e.endOwnedServiceAccountsBefore(ctx, tx, userID, proved, now)
	if err != nil {
		return err
	}
	meta["service_account_tokens_revoked"] = strconv.Itoa(accountTokens)
	meta["service_account_ssh_keys_deleted"] = strconv.Itoa(accountKeys)
	meta["tokens_revoked"], meta["ssh_keys_deleted"] = strconv.Itoa(n), strconv.Itoa(deleted)
	meta["reminders_deleted"] = strconv.Itoa(reminders)
	return nil
}

// endOwnedServiceAccountsBefore revokes, at now, the tokens made and
// deletes the SSH keys added before the time to the service accounts of
// the live teams the user owns, since the user joined each team, and
// returns how many of each: whoever held the account before its address
// was proved made its teams, minted their accounts' tokens and added their
// keys, and would go on acting for the teams the owner now holds. What a
// team's other owners made before the user joined it is theirs, and stays.
// It holds the accounts' rows first, which a token or key made for one
// holds too. When this reset is the proof (before is now), everything
// they hold by then was made before it — a write that held a row first
// and committed meanwhile too, with a credential of the squatter's
// making — so the time is read once the rows are held.
func (e *env) endOwnedServiceAccountsBefore(ctx context.Context, tx store.Tx, userID int64, before, now time.Time) (tokens, keys int, err error) {
	ms, err := tx.UserGroups(ctx, userID, usher.GroupTeam)
	if err != nil {
		return 0, 0, err
	}
	type held struct {
		account *usher.User
		since   time.Time // when the user joined the account's team
	}
	var accounts []held
	for _, m := range ms {
		if m.Level != usher.LevelOwner || m.Group == nil {
			continue
		}
		of, err := serviceAccountsOf(ctx, tx, m.Group)
		if err != nil {
			return 0, 0, err
		}
		for _, u := range of {
			accounts = append(accounts, held{u, m.CreatedAt})
		}
	}
	if len(accounts) == 0 {
		return 0, 0, nil
	}
	ids := make([]int64, len(accounts))
	for i, a := range accounts {
		ids[i] = a.account.ID
	}
	if err := lockUsers(ctx, tx, ids); err != nil {
		return 0, 0, err
	}
	if before.Equal(now) {
		before = e.now()
	}
	for _, a := range accounts {
		n, err := tx.TokenRevoke(ctx, store.TokenFilter{UserID: a.account.ID, Kinds: []usher.TokenKind{usher.TokenServiceAccount},
			CreatedAfter: a.since, CreatedBefore: before}, now)
		if err != nil {
			return tokens, keys, fmt.Errorf("revoking the service-account tokens made before the address was proved: %w", err)
		}
		tokens += n
		deleted, err := deleteKeysAdded(ctx, tx, a.account.ID, a.since, before)
		if err != nil {
			return tokens, keys, err
		}
		keys += deleted
	}
	return tokens, keys, nil
}

// deleteKeysAdded deletes the user's SSH keys added at from or after it and
// before the time, and returns how many.
func deleteKeysAdded(ctx context.Context, tx store.Tx, userID int64, from, before time.Time) (int, error) {
	keys, err := tx.KeyList(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("reading the SSH keys to delete: %w", err)
	}
	deleted := 0
	for _, k := range keys {
		if k.CreatedAt.Before(from) || !k.CreatedAt.Before(before) {
			continue
		}
		if err := tx.KeyDelete(ctx, k.ID); err != nil {
			return deleted, fmt.Errorf("deleting an SSH key: %w", err)
		}
		deleted++
	}
	return deleted, nil
}

// endRemindersBefore deletes, at now, the live reminders the user created
// before the time, and returns how many.
func endRemindersBefore(ctx context.Context, tx store.Tx, userID int64, before, now time.Time) (int, error) {
	ended := 0
	req := usher.PageRequest{Limit: 1000}
	for {
		page, err := tx.ReminderList(ctx, usher.ReminderFilter{CreatedBy: userID, Page: req})
		if err != nil {
			return ended, fmt.Errorf("reading the reminders made before the address was proved: %w", err)
		}
		for _, r := range page.Items {
			if !r.CreatedAt.Before(before) {
				continue
			}
			_, err := tx.ReminderUpdate(ctx, r.ID, func(r *usher.Reminder) error {
				markReminderDeleted(r, now)
				return nil
			})
			if err != nil {
				return ended, fmt.Errorf("deleting a reminder made before the address was proved: %w", err)
			}
			ended++
		}
		if page.Next == nil {
			return ended, nil
		}
		req.After = page.Next
	}
}

// passwordKey is the throttle key of an account's password change: the
// guesses at its current password, which a stolen session may make.
func passwordKey(userID int64) string {
	return "password:" + strconv.FormatInt(userID, 10)
}
