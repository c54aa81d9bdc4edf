package core

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"usher"
	"usher/store"
)

// An e-mail address is proved by a code sent to it, and by nothing else a
// caller controls. The rules, kept here once:
//
//   - a code sent by mail is bound to the account and to the key
//     (usher.EmailKey) of the address it went to; it proves that address
//     only while the account still has it;
//   - changing an account's address ends every code sent to the old one,
//     and the new address is unconfirmed;
//   - an address is confirmed by a code, by a password reset (its token
//     went to that address), or by an administrator's word; an external
//     log-in links to an account by address only when that address is
//     confirmed and is the provider's, letter for letter up to case, and
//     the account has no password (see linkByAddress).

// mailCodeKinds are the codes sent to an address by mail.
var mailCodeKinds = []usher.CodeKind{usher.CodeConfirm, usher.CodeReset, usher.CodeResetTicket}

// codeProves reports whether code c, sent by mail, proves addr: it went to
// an address with the same key.
func codeProves(c *usher.Code, addr string) bool {
	return c.EmailKey != "" && addr != "" && c.EmailKey == usher.EmailKey(addr)
}

// addressChanged ends the codes sent to a user's old address when the
// address changes. It is part of every change of a primary address.
func addressChanged(ctx context.Context, tx store.Tx, userID int64, old, new string) error {
	if old == new || old == "" {
		return nil
	}
	if err := tx.CodeDeleteAddress(ctx, userID, usher.EmailKey(old), mailCodeKinds...); err != nil {
		return err
	}
	return nil
}

// addressProved is what proving u's address does — a confirmation code, a
// password reset or an administrator's word: the address is confirmed,
// and a pending account becomes active. It notes the changes for the
// audit. An address kept from before its rules were what they are (an
// invisible character) is checked as it is proved, as one set is: the
// error is the checker's.
func addressProved(u *usher.User, now time.Time, changes map[string]usher.Change) error {
	if u.EmailConfirmedAt == nil {
		if err := checkedEmail(u.Email); err != nil {
			return err
		}
		u.EmailConfirmedAt = &now
		changes["email_confirmed"] = usher.Change{Old: false, New: true}
	}
	if u.State == usher.StatePending {
		u.State = usher.StateActive
		changes["state"] = usher.Change{Old: string(usher.StatePending), New: string(usher.StateActive)}
	}
	return nil
}

// notifiable reports whether mail about u's own activity — a sign-in from
// a new device, a password changed, an address change asked for — may go
// to u's address: only once the address is proved. An account may hold an
// address nobody proved (made by someone allowed to create accounts,
// signed up with --skip-email-confirmation, or logging in pending with
// --allow-unconfirmed-login); whoever holds the password could otherwise
// mail its owner as often as they sign in or change it.
func notifiable(u *usher.User) bool {
	return u.Email != "" && u.EmailConfirmedAt != nil
}

// linkable reports whether an external log-in that vouches for addr may be
// linked to u by that address: u's address is confirmed and is the same
// mailbox (sameMailbox), not merely one with the same key. A compatibility
// character (a Kelvin sign, a long s) makes another address that case
// folding takes for the same, and that usher stores for no one.
func linkable(u *usher.User, addr string) bool {
	return u.EmailConfirmedAt != nil && norm.NFKC.IsNormalString(addr) && sameMailbox(u.Email, addr)
}

// sameMailbox reports whether a and b name one mailbox on one domain: the
// local parts equal but for the case of ASCII letters, which mail systems
// ignore, and the domains one name once IDNA has mapped them (the Lookup
// profile of IDNA2008 and UTS #46, as browsers and resolvers map them).
// Unicode case folding says more: it takes the Greek final sigma ς for σ,
// and so λογος.example for λογοσ.example, which are two domains
// (xn--oxapmbp, xn--oxapmbu) that two people may hold.
func sameMailbox(a, b string) bool {
	la, da, okA := cutAddress(a)
	lb, db, okB := cutAddress(b)
	return okA && okB && sameASCIIFold(la, lb) && sameDomain(da, db)
}

// foldedApart reports whether a and b are two mailboxes (sameMailbox)
// with one key (usher.EmailKey): straße@ and strasse@. A code proves an
// address by its key, so it cannot tell which of the two it was mailed to.
func foldedApart(a, b string) bool {
	return a != "" && b != "" && usher.EmailKey(a) == usher.EmailKey(b) && !sameMailbox(a, b)
}

// sameDomain reports whether a and b are one domain name: equal but for
// ASCII case, or else once IDNA's Lookup profile has mapped both (a
// U-label and its A-label are one name; ß and ss, ς and σ are two). The
// first test spares IDNA the common case and keeps an ASCII name its
// strict rules refuse (an underscore, say) equal to itself.
func sameDomain(a, b string) bool {
	if sameASCIIFold(a, b) {
		return true
	}
	ia, errA := idna.Lookup.ToASCII(a)
	ib, errB := idna.Lookup.ToASCII(b)
	return errA == nil && errB == nil && sameASCIIFold(ia, ib)
}

// cutAddress splits an address at its last @.
func cutAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}

// sameASCIIFold reports whether a and b are equal but for the case of
// ASCII letters.
func sameASCIIFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// vouch refuses to create an account whose address is taken as confirmed
// unless the caller is an administrator: anyone else must let the owner of
// the address prove it; nor may anyone else name it by an address not its
// own (addressName).
func vouch(p *usher.Principal, in usher.UserCreate) error {
	if (in.EmailConfirmed || in.SkipConfirmation) && in.Email != "" && !p.IsAdmin() {
		return errVouch()
	}
	if !p.IsAdmin() {
		return addressName(in.Username, in.Email)
	}
	return nil
}

// addressName refuses a username shaped like an address that is none of
// own (the account's primary address, and its confirmed secondary ones),
// given by anyone but an administrator. One text names one account
// (namesTaken): a username that is someone else's address kept its owner
// from signing up with it, or in through a provider that vouches for it,
// and no mailbox was ever proved for it. An account's own address may be
// its username (a pending one's too: whoever proves the address takes the
// account over by a reset).
func addressName(username string, own ...string) error {
	if !strings.Contains(username, "@") {
		return nil
	}
	key := usher.EmailKey(username)
	for _, addr := range own {
		if addr != "" && usher.EmailKey(addr) == key {
			return nil
		}
	}
	return usher.FieldErrors(usher.FieldError{Field: "username", Code: usher.CodeNotAllowed,
		Message: "is shaped like an address that is not the account's own: a username may be an address only of the account's (its address, or a confirmed secondary one)"})
}

// keepsAddressName refuses taking addr away from u, by anyone but an
// administrator, while u's username is that address (addressName let it
// be, as the account's own): the username would stay a claim on an
// address no longer the account's, against whoever holds it next.
func keepsAddressName(p *usher.Principal, u *usher.User, addr string) error {
	if p.IsAdmin() || !strings.Contains(u.Username, "@") || usher.EmailKey(u.Username) != usher.EmailKey(addr) {
		return nil
	}
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeConflict,
		Message: "the account's username is this address: give the account another username first"}
}

// ownAddressName is addressName for a new username of u: its own
// addresses are its primary one and its confirmed secondary ones.
func ownAddressName(ctx context.Context, tx store.Tx, u *usher.User, username string) error {
	if addressName(username, u.Email) == nil {
		return nil
	}
	emails, err := tx.EmailList(ctx, u.ID)
	if err != nil {
		return err
	}
	own := []string{u.Email}
	for _, e := range emails {
		if e.ConfirmedAt != nil {
			own = append(own, e.Email)
		}
	}
	return addressName(username, own...)
}

// errVouch refuses to mark an address confirmed for one who is no
// administrator.
func errVouch() error {
	return errForbidden("only administrators may mark an address confirmed; its owner confirms it with the code sent to it")
}

// requestAddress makes addr the address u waits to change to — or ends the
// wait, when addr is u's address already — and mails addr a code that
// confirms it; the codes sent to an address u no longer waits for end. An
// address another account holds is refused at once; a waiting one claims
// nothing, so that no one can hold an address they cannot prove. It
// reports whether it queued a mail.
func (e *env) requestAddress(ctx context.Context, tx store.Tx, u *usher.User, addr string) (bool, error) {
	prev := u.UnconfirmedEmail
	if addr == u.Email {
		u.UnconfirmedEmail = ""
		return false, addressChanged(ctx, tx, u.ID, prev, "")
	}
	if err := checkedEmail(addr); err != nil {
		return false, err
	}
	if foldedApart(addr, u.Email) {
		// Its code, and a code mailed to the account's address (a
		// resend), would each prove both.
		return false, usher.FieldErrors(usher.FieldError{Field: "email", Code: usher.CodeNotAllowed,
			Message: "is another mailbox with the same key as the account's address (ß and ss, or case beyond ASCII), which a code cannot tell apart; an administrator sets it"})
	}
	holder, err := tx.EmailHolder(ctx, usher.EmailKey(addr))
	switch {
	case err == nil && holder != u.ID:
		return false, &usher.UniqueError{Field: "email"}
	case err != nil && !errors.Is(err, usher.ErrNotFound):
		return false, err
	}
	if err := nameOrAddressTaken(ctx, tx, u.ID, "", addr); err != nil {
		return false, err
	}
	if err := addressChanged(ctx, tx, u.ID, prev, addr); err != nil {
		return false, err
	}
	u.UnconfirmedEmail = addr
	return true, e.mailAddressChange(ctx, tx, u, addr)
}

// mailAddressChange mails addr, the address u asked to change to, the
// code that confirms it, and tells u's present address that the change
// was asked for: whoever asked may not be the owner of the account (a
// session left open, a stolen token), and the owner learns of it while the
// change still waits for its code.
func (e *env) mailAddressChange(ctx context.Context, tx store.Tx, u *usher.User, addr string) error {
	code, err := e.confirmCode(ctx, tx, u, addr)
	if err != nil {
		return err
	}
	data := e.codeLink(code, "/confirm?code=", "/v1/auth/confirm", e.policy.ConfirmTTL)
	if err := e.queueLetter(ctx, tx, "confirm_change", addr, u, data); err != nil {
		return err
	}
	if !notifiable(u) {
		return nil
	}
	return e.queueLetter(ctx, tx, "email_change_requested", u.Email, u, map[string]string{"NewAddress": addr,
		"SessionsLink": e.policy.PublicURL + "/account/sessions", "TokensLink": e.policy.PublicURL + "/account/tokens"})
}

// addressMail bounds the codes a request may have mailed to addr, whoever
// asks: resends, changes of address and secondary addresses share the
// per-address and per-client counts, so no path mails an address more.
func (e *env) addressMail(ctx context.Context, addr string) error {
	var limits []limit // the client's first (reserve)
	if client := addressKey(usher.RequestFrom(ctx).Address); client != "" {
		limits = append(limits, limit{key: "resend-client:" + client, max: resendsPerClient})
	}
	limits = append(limits, addressLimit(addr))
	_, err := e.reserve(ctx, limits)
	return err
}

// addressLimit is the count of codes mailed to addr, whoever asks.
func addressLimit(addr string) limit {
	return limit{key: "resend:" + usher.EmailKey(addr), max: resendsPerAddress, shown: addressShown("resend", addr)}
}

// addressShown is what the audit log names the lock of a count by
// address by: its kind and the address's domain, not the address, which
// anyone may type (whether an account has it or not), and which a rule
// may keep from the log's reader.
func addressShown(kind, addr string) string {
	_, domain, _ := strings.Cut(usher.EmailKey(addr), "@")
	return kind + ":@" + domain
}

// creationLimit is the count of accounts made with addr that mailed it a
// code (a sign-up's or an administrator's confirmation, an invitation):
// as many as an address's resends, but apart from them, which anyone may
// ask for an address no account has. Shared, three anonymous resends
// kept the address's owner from signing up for the window.
func creationLimit(addr string) limit {
	return limit{key: "created:" + usher.EmailKey(addr), max: resendsPerAddress, shown: addressShown("created", addr)}
}

// creatingMailed makes an account with create; when mailed, the
// account's creation mails addr a code, and is counted under creationLimit
// first, a count a creation that fails gives back, so that failing ones
// cannot use up an address's.
func (e *env) creatingMailed(ctx context.Context, addr string, mailed bool, create func() (*usher.User, error)) (*usher.User, error) {
	if !mailed {
		return create()
	}
	limits := []limit{creationLimit(addr)}
	if _, err := e.reserve(ctx, limits); err != nil {
		return nil, err
	}
	u, err := create()
	if err != nil {
		e.forgive(ctx, limits)
	}
	return u, err
}

// resendsPerAddress and resendsPerClient bound the confirmation mail one
// address receives, and one client address asks for, within the policy's
// failure window.
const (
	resendsPerAddress = 3
	resendsPerClient  = 10
)

// resetsPerClient bounds the password resets one client address asks for
// within the policy's failure window, as signupsPerWindow bounds its
// sign-ups: enough for an office behind one address.
const resetsPerClient = 20

// answerFloor delays the return of a call that must take as long whether an
// account has an address or not, to at least d after start.
func answerFloor(ctx context.Context, start time.Time, d time.Duration) {
	if wait := d - time.Since(start); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
}

// nameOrAddressTaken refuses, for the account self (0 for a new one), a
// username shaped like an address that another live account holds as its
// address, and an address that another live account has as its username.
// A log-in names an account by either, the address first: one text must
// name one account, or a sign-up with a user's address-shaped username
// would take that user's log-in, and a user could take as their username
// the address services know another by. Both texts are held first
// (UserNamesLock): of two transactions giving one text to two accounts at
// once, as a username and as an address, the later then sees the
// earlier's, which no unique index would refuse.
func nameOrAddressTaken(ctx context.Context, tx store.Tx, self int64, username, addr string) error {
	var texts []string
	if strings.Contains(username, "@") {
		texts = append(texts, usher.EmailKey(username))
	}
	if addr != "" {
		texts = append(texts, usher.EmailKey(addr))
	}
	if err := tx.UserNamesLock(ctx, texts); err != nil {
		return err
	}
	return namesTaken(ctx, tx, self, username, addr)
}

// namesTaken is nameOrAddressTaken without holding the texts: for an
// import, whose batch of thousands would hold a lock a text (see
// UserNamesLock), and which so does not wait for a change made beside it.
func namesTaken(ctx context.Context, tx store.Tx, self int64, username, addr string) error {
	if strings.Contains(username, "@") {
		holder, err := tx.EmailHolder(ctx, usher.EmailKey(username))
		switch {
		case err == nil && holder != self:
			return &usher.UniqueError{Field: "username"}
		case err != nil && !errors.Is(err, usher.ErrNotFound):
			return err
		}
		// While an import's load runs, its users' claims wait for its end
		// (store.LoadStart): their primary addresses are asked too.
		u, err := tx.UserGet(ctx, usher.UserKey{Email: username})
		switch {
		case err == nil && u.ID != self:
			return &usher.UniqueError{Field: "username"}
		case err != nil && !errors.Is(err, usher.ErrNotFound):
			return err
		}
	}
	if addr != "" {
		// By the address's key: a log-in looks its login up as an address
		// by that key first, and "melißa@…" is "melissa@…" to it.
		u, err := tx.UserGet(ctx, usher.UserKey{Username: usher.EmailKey(addr)})
		switch {
		case err == nil && u.ID != self:
			return &usher.UniqueError{Field: "email"}
		case err != nil && !errors.Is(err, usher.ErrNotFound):
			return err
		}
	}
	return nil
}

// errNamedByAnother is the answer for confirming an address, or restoring
// an account, that nameOrAddressTaken refuses: one text would name two
// accounts.
func errNamedByAnother(err error) error {
	var ue *usher.UniqueError
	if !errors.As(err, &ue) {
		return err
	}
	code, what := usher.CodeEmailTaken, "address is another account's username"
	if ue.Field == "username" {
		code, what = usher.CodeUsernameTaken, "username is another account's address"
	}
	return &usher.Error{Kind: usher.KindConflict, Code: code, Message: "the " + what + " now",
		Fields: []usher.FieldError{{Field: ue.Field, Code: usher.CodeTaken, Message: "names another account"}}, Err: err}
}

// errAddressTaken is the answer for confirming an address that another
// account confirmed first.
func errAddressTaken(err error) error {
	var ue *usher.UniqueError
	if !errors.As(err, &ue) {
		return err
	}
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeEmailTaken,
		Message: "another account confirmed this address first",
		Fields:  []usher.FieldError{{Field: "email", Code: usher.CodeTaken, Message: "was confirmed by another account first"}}, Err: err}
}
