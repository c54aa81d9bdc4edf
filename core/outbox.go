package core

import (
	"context"
	"errors"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"usher"
	"usher/store"
)

// queueMail writes the mail m, of body, to the outbox within tx, its body
// sealed; m names the account it is about (UserID, 0 for none) and the
// one whose text it carries (AuthorID). Callers call mailQueued after the
// transaction commits.
func (e *env) queueMail(ctx context.Context, tx store.Tx, m *usher.Mail, body string) error {
	now := e.now()
	m.Body, m.CreatedAt, m.NextAttemptAt = e.seal.Seal([]byte(body)), now, now
	return tx.OutboxAdd(ctx, m)
}

// queueLetter writes the mail of kind to the address to, about u, from its
// template, within tx (see queueMail). It is written in u's language when
// templates exist in it, else in the one the request prefers
// (Accept-Language), else in the default one. data fills the template;
// Username and PublicURL are set from u and the policy.
func (e *env) queueLetter(ctx context.Context, tx store.Tx, kind, to string, u *usher.User, data map[string]string) error {
	return e.queueAuthored(ctx, tx, kind, to, u, 0, data)
}

// queueAuthored is queueLetter for a mail that carries the text of
// author, an account other than u's (a reminder's creator): the outbox
// sends it only while author may sign in (Outbox.fate).
func (e *env) queueAuthored(ctx context.Context, tx store.Tx, kind, to string, u *usher.User, author int64, data map[string]string) error {
	if data == nil {
		data = map[string]string{}
	}
	data["Username"], data["PublicURL"] = u.Username, e.policy.PublicURL
	if u.Username == "" {
		data["Username"] = u.Email
	}
	l, err := e.letters.Write(kind, data, u.Language, usher.RequestFrom(ctx).Languages)
	if err != nil {
		return err
	}
	return e.queueMail(ctx, tx, &usher.Mail{Kind: kind, To: to, UserID: u.ID, AuthorID: author, Lang: l.Lang, Subject: l.Subject}, l.Body)
}

// codeLink is the data of a mail that carries code: the code, the link to
// the page at path that takes it (path ends where the code goes), the API
// endpoint api that takes it too, and how long it lasts.
func (e *env) codeLink(code, path, api string, ttl time.Duration) map[string]string {
	return map[string]string{"Code": code, "Link": e.policy.PublicURL + path + url.QueryEscape(code),
		"API": e.policy.PublicURL + api, "TTL": ttl.String()}
}

// mailQueued wakes the outbox sender.
func (e *env) mailQueued() {
	select {
	case e.mailc <- struct{}{}:
	default:
	}
}

// Outbox delivers queued mail.
type Outbox struct{ *env }

// claimLease is how long a claimed mail is left to its sender before
// another may try it: longer than any one delivery takes.
const claimLease = 2 * time.Minute

// DeliverDue sends the mails that are due, at most limit of them, and
// returns how many were sent and how many failed. A failed mail is tried
// again later, with the wait doubling up to the policy's maximum, until
// it is given up (see giveUp): when the recipient's server refuses it for
// good, or when it is still undelivered MailGiveUp after it was queued.
//
// Errors: only the store's; delivery failures are counted, not returned.
func (o *Outbox) DeliverDue(ctx context.Context, limit int) (sent, failed int, err error) {
	if o.transport == nil {
		return 0, 0, errors.New("outbox: no transport configured")
	}
	now := o.now()
	mails, err := o.store.OutboxClaim(ctx, now, now.Add(claimLease), limit)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range mails {
		switch fate, err := o.fate(ctx, m); {
		case err != nil:
			return sent, failed, err
		case fate == mailGone || fate == mailAuthorGone:
			// Not sent: it would tell whoever holds the address now
			// about the account, or carry its code to them; or carry the
			// text of an author blocked or deleted since.
			reason := "address_changed"
			if fate == mailAuthorGone {
				reason = "author_gone"
			}
			o.observe.Mail(m.Kind, usher.MailGivenUp)
			if err := o.giveUp(ctx, m, o.now(), m.Attempts, reason, nil); err != nil {
				return sent, failed, err
			}
			continue
		case fate == mailWaits:
			// Neither sent nor given up: tried again later, and given up
			// as any mail once it has waited MailGiveUp.
			at := o.now()
			if reason := o.giveUpReason(m, at, nil); reason != "" {
				o.observe.Mail(m.Kind, usher.MailGivenUp)
				if err := o.giveUp(ctx, m, at, m.Attempts, reason, nil); err != nil {
					return sent, failed, err
				}
				continue
			}
			if err := o.store.OutboxFailed(ctx, m.ID, m.Attempts, at.Add(o.retryAfter(max(m.Attempts, 1))),
				"held: its account is deleted"); err != nil {
				return sent, failed, err
			}
			continue
		}
		body, err := o.seal.Open(m.Body)
		if err == nil {
			m.Body = string(body)
			err = o.transport.Send(ctx, m)
		}
		at := o.now()
		if err == nil {
			sent++
			o.observe.Mail(m.Kind, usher.MailSent)
			if err := o.store.OutboxSent(ctx, m.ID, at); err != nil {
				return sent, failed, err
			}
			continue
		}
		failed++
		attempts := m.Attempts + 1
		if reason := o.giveUpReason(m, at, err); reason != "" {
			o.observe.Mail(m.Kind, usher.MailGivenUp)
			if err := o.giveUp(ctx, m, at, attempts, reason, err); err != nil {
				return sent, failed, err
			}
			continue
		}
		o.observe.Mail(m.Kind, usher.MailFailed)
		next := at.Add(o.retryAfter(attempts))
		o.log.WarnContext(ctx, "mail delivery failed", "mail_id", m.ID, "kind", m.Kind, "attempts", attempts,
			"retry_at", next, "err", err)
		if err := o.store.OutboxFailed(ctx, m.ID, attempts, next, truncate(err.Error(), 500)); err != nil {
			return sent, failed, err
		}
	}
	return sent, failed, nil
}

// leavingKinds are the mails written to an address its account is
// leaving — that a change of it was asked for, that it changed — which go
// there whatever the account's address is by then: their reader is the
// address's holder the account left.
var leavingKinds = []string{"email_change_requested", "email_changed"}

// What the outbox does with a mail before it tries it (fate).
const (
	mailSent       = iota // try it
	mailGone              // give it up unsent
	mailWaits             // try it later
	mailAuthorGone        // give it up unsent: its author may not sign in
)

// fate says what becomes of m, about an account, before it is tried: given
// up when its address is no longer one of the account's own — its primary
// address, the one it waits to change to, a secondary one — or the account
// is purged; held while the account is deleted, whose addresses are free
// for others to take (as a primary, a secondary or a waiting address) and
// which an undeletion may give back. A mail queued before the address
// changed hands (an administrator moved the account, then gave the address
// to another) would tell its new holder of the account's sign-ins, and a
// code in it is ended already (addressChanged). Mails about no account,
// those queued before mails named theirs, and leavingKinds are tried as
// they are. Before all that, a mail that carries another's text (AuthorID)
// is given up once its author is deleted or may not sign in.
func (o *Outbox) fate(ctx context.Context, m *usher.Mail) (int, error) {
	if m.AuthorID != 0 {
		// Another's text, sent only while its author may sign in, as a
		// reminder is mailed only then when it falls due: one an
		// administrator blocked or deleted since, while the recipient's
		// server said "try later", has it mailed no more.
		a, err := o.store.UserGet(ctx, usher.UserKey{ID: m.AuthorID})
		switch {
		case errors.Is(err, usher.ErrNotFound):
			return mailAuthorGone, nil
		case err != nil:
			return 0, err
		case a.Deleted() || !a.State.CanSignIn():
			return mailAuthorGone, nil
		}
	}
	if m.UserID == 0 || slices.Contains(leavingKinds, m.Kind) {
		return mailSent, nil
	}
	u, err := o.store.UserGet(ctx, usher.UserKey{ID: m.UserID})
	switch {
	case errors.Is(err, usher.ErrNotFound):
		return mailGone, nil
	case err != nil:
		return 0, err
	case u.Deleted():
		return mailWaits, nil
	}
	key := usher.EmailKey(m.To)
	if key == usher.EmailKey(u.Email) || key == usher.EmailKey(u.UnconfirmedEmail) {
		return mailSent, nil
	}
	secondary, err := o.store.EmailList(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	if slices.ContainsFunc(secondary, func(e *usher.Email) bool { return usher.EmailKey(e.Email) == key }) {
		return mailSent, nil
	}
	return mailGone, nil
}

// giveUpReason says why a mail whose delivery at at failed with err is
// given up — "refused" when the recipient's server refused it for good,
// "expired" when it has waited MailGiveUp since it was queued — or ""
// when it is to be tried again.
func (o *Outbox) giveUpReason(m *usher.Mail, at time.Time, err error) string {
	switch {
	case errors.Is(err, usher.ErrUndeliverable):
		return "refused"
	case at.Sub(m.CreatedAt) >= o.policy.MailGiveUp:
		return "expired"
	}
	return ""
}

// giveUp deletes a mail that will not be delivered, the codes it carries
// with it — the account's codes of its kind mailed to its address, which a
// server that refused it at the end of the message has read — and records
// why in the audit log: against the account it is about (or, for a mail
// queued before mails named theirs, the account whose primary address it
// was for), or, for an address no account has (a reset asked for an
// unknown address), naming only the address's domain, as the request that
// queued it did. The log line has the server's whole answer.
func (o *Outbox) giveUp(ctx context.Context, m *usher.Mail, at time.Time, attempts int, reason string, cause error) error {
	o.log.ErrorContext(ctx, "mail given up", "mail_id", m.ID, "kind", m.Kind, "attempts", attempts,
		"queued_at", m.CreatedAt, "reason", reason, "err", cause)
	sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	return o.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.OutboxDrop(ctx, m.ID); err != nil {
			return err
		}
		ev := event{action: "mail.given_up", resourceType: "mail", resourceID: strconv.FormatInt(m.ID, 10),
			meta: map[string]string{"kind": m.Kind, "reason": reason, "attempts": strconv.Itoa(attempts),
				"queued_at": m.CreatedAt.UTC().Format(time.RFC3339)}}
		userID := m.UserID
		if userID == 0 {
			switch u, err := tx.UserGet(ctx, usher.UserKey{Email: m.To}); {
			case err == nil:
				userID = u.ID
			case errors.Is(err, usher.ErrNotFound):
				_, ev.meta["email_domain"], _ = strings.Cut(usher.EmailKey(m.To), "@")
			default:
				return err
			}
		}
		if userID != 0 {
			ev.resourceType, ev.resourceID = "user", strconv.FormatInt(userID, 10)
			ev.meta["mail_id"] = strconv.FormatInt(m.ID, 10)
			if kinds := mailedCodes[m.Kind]; len(kinds) > 0 {
				if err := tx.CodeDeleteAddress(ctx, userID, usher.EmailKey(m.To), kinds...); err != nil {
					return err
				}
			}
		}
		return o.record(sys, tx, at, ev)
	})
}

// mailedCodes are the kinds of code each kind of mail carries.
var mailedCodes = map[string][]usher.CodeKind{
	"confirm": {usher.CodeConfirm}, "confirm_change": {usher.CodeConfirm}, "confirm_email": {usher.CodeConfirm},
	// A reset token's ticket, got by exchanging it, goes with it.
	"reset": {usher.CodeReset, usher.CodeResetTicket}, "invitation": {usher.CodeReset, usher.CodeResetTicket},
}

// retryAfter is the wait after the given number of failed attempts.
func (o *Outbox) retryAfter(attempts int) time.Duration {
	d := float64(o.policy.MailRetryBase) * math.Pow(2, float64(min(attempts-1, 30)))
	return time.Duration(min(d, float64(o.policy.MailRetryMax)))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// housekeep deletes one-time codes once they have expired (an expired code
// is answered as an unknown one, so nothing needs them: anonymous callers
// can start device log-ins, whose codes must not pile up), secondary
// addresses left unconfirmed past a confirmation code's lifetime,
// throttles whose window and lock are over, and what ended longer than
// the policy's KeepEnded ago (prune; deleted groups and service accounts:
// purgeDeleted).
func (o *Outbox) housekeep(ctx context.Context) {
	o.prune(ctx)
	o.purgeDeleted(ctx)
	if n, err := o.store.EmailDeleteStale(ctx, o.now().Add(-o.policy.ConfirmTTL)); err == nil && n > 0 {
		o.log.InfoContext(ctx, "unconfirmed addresses expired", "count", n)
	}
	if n, err := o.store.CodeDeleteExpired(ctx, o.now()); err == nil && n > 0 {
		o.log.InfoContext(ctx, "expired codes deleted", "count", n)
	}
	if n, err := o.store.ThrottlePrune(ctx, o.now().Add(-o.policy.FailureWindow), o.now()); err == nil && n > 0 {
		o.log.InfoContext(ctx, "stale throttles deleted", "count", n)
	}
}

// pruneBatch is how many rows of each kind one prune statement deletes,
// and pruneRounds how many statements one round of housekeeping runs at
// most: a backlog (the first round after an upgrade, a year of sessions)
// is deleted over several rounds, none holding the mail up for long.
const (
	pruneBatch  = 1000
	pruneRounds = 10
)

// prune deletes the tokens and sessions that were revoked or expired,
// the script runs done, the mail sent, the reminders deleted and the ends
// of JWTs expired longer than KeepEnded ago. Every
// list and look-up leaves ended tokens out already; left in place they
// would grow the tables with every log-in for as long as usher runs, and
// each log-in's count of the account's live sessions with them.
func (o *Outbox) prune(ctx context.Context) {
	if o.policy.KeepEnded <= 0 {
		return // a negative time would reach tokens still live
	}
	var total store.Pruned
	for range pruneRounds {
		p, err := o.store.PruneEnded(ctx, o.now().Add(-o.policy.KeepEnded), pruneBatch)
		if err != nil {
			if ctx.Err() == nil {
				o.log.ErrorContext(ctx, "pruning what ended", "err", err)
			}
			break
		}
		total.Tokens += p.Tokens
		total.ScriptRuns += p.ScriptRuns
		total.Mail += p.Mail
		total.Reminders += p.Reminders
		total.JWTs += p.JWTs
		if max(p.Tokens, p.ScriptRuns, p.Mail, p.Reminders, p.JWTs) < pruneBatch {
			break
		}
	}
	if total != (store.Pruned{}) {
		o.log.InfoContext(ctx, "ended rows deleted", "tokens", total.Tokens, "script_runs", total.ScriptRuns, "mail", total.Mail,
			"reminders", total.Reminders, "jwt_ends", total.JWTs)
	}
}

// outboxBatch is how many script runs, reminders or mails a round takes
// of each at a time.
const outboxBatch = 20

// Run delivers the outbox until ctx ends: at once when a mail is queued in
// this process, and every interval for mail queued elsewhere or due for a
// retry. Each round runs the scripts' queued "after" runs
// (Scripts.RunDue), queues the mail of the reminders that came due
// (Reminders.DeliverDue) and sends the mail, a batch of each in turn for
// as long as any has more: a backlog of one never keeps the others waiting
// (any user's edits queue script runs, and a reset's mail must not wait
// behind them). Between rounds it keeps house: see housekeep.
func (o *Outbox) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	reminders := &Reminders{env: o.env}
	scripts := &Scripts{env: o.env}
	// full reports whether a batch came back full, logging a failure.
	full := func(what string, n int, err error) bool {
		if err != nil {
			if ctx.Err() == nil {
				o.log.ErrorContext(ctx, what, "err", err)
			}
			return false
		}
		return n == outboxBatch
	}
	for {
		for more := true; more && ctx.Err() == nil; {
			n, err := scripts.RunDue(ctx, outboxBatch)
			more = full("scripts", n, err)
			n, err = reminders.DeliverDue(ctx, outboxBatch)
			more = full("reminders", n, err) || more
			sent, failed, err := o.DeliverDue(ctx, outboxBatch)
			more = full("outbox", sent+failed, err) || more
		}
		o.housekeep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.mailc:
		}
	}
}

// backlogTTL is how long a backlog read is reused: the scrapes of several
// monitoring servers cost one read.
const backlogTTL = 5 * time.Second

// backlogCache keeps the last backlog read.
type backlogCache struct {
	mu sync.Mutex
	at time.Time
	b  usher.Backlog
}

// Backlog returns the work waiting for the background senders — the mails
// not sent yet with the oldest one's time, and the reminders due — read
// from the store at most once per backlogTTL. It is for an operator's
// metrics, not the API, and asks for no principal.
//
// Errors: only the store's.
func (o *Outbox) Backlog(ctx context.Context) (usher.Backlog, error) {
	c := &o.backlog
	c.mu.Lock()
	defer c.mu.Unlock()
	now := o.now()
	if !c.at.IsZero() && now.Sub(c.at) < backlogTTL {
		return c.b, nil
	}
	b, err := o.store.BacklogGet(ctx, now)
	if err != nil {
		return usher.Backlog{}, err
	}
	c.at, c.b = now, *b
	return c.b, nil
}

// mailTime is how a mail tells a time: to the minute, in UTC.
func mailTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
