package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// Reminders manages reminders: a user reminded of a resource at a time.
// A user manages the reminders assigned to them or that they created;
// administrators, and callers a rule on "reminder" allows, any. A reminder
// that comes due is mailed to its assignee once (see DeliverDue).
type Reminders struct{ *env }

// Limits on reminders.
const (
	// maxReminderPayload bounds a reminder's JSON payload, in bytes.
	maxReminderPayload = 16 << 10
	// maxReminderResource bounds a resource reference, in bytes.
	maxReminderResource = 255
	// reminderLease is how long a claimed reminder is left to its sender
	// before another may take it over: longer than queueing a mail takes.
	reminderLease = 2 * time.Minute
)

// resourceRE is a resource reference: a type and an id, "user:42".
var resourceRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}:[A-Za-z0-9_.@:-]{1,190}$`)

// errReminderNotFound answers for a reminder that does not exist, is
// deleted, or that the caller may not see.
func errReminderNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeReminderNotFound, Message: "reminder not found"}
}

// resource checks a resource reference.
func (c *checker) resource(v string) {
	switch {
	case v == "":
		c.add("resource", usher.CodeRequired, "is required")
	case len(v) > maxReminderResource:
		c.add("resource", usher.CodeTooLong, "is longer than %d bytes", maxReminderResource)
	case !resourceRE.MatchString(v):
		c.add("resource", usher.CodeInvalid, "must be a type and an id, such as user:42")
	}
}

// payload checks a reminder's JSON payload.
func (c *checker) payload(p []byte) {
	switch {
	case len(p) > maxReminderPayload:
		c.add("payload", usher.CodeTooLarge, "is larger than %d bytes", maxReminderPayload)
	case len(p) > 0 && !storableJSON(p):
		c.add("payload", usher.CodeInvalid, "is not valid JSON, or holds a NUL or half a surrogate pair")
	}
}

// micro is t in UTC at the store's precision.
func micro(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// assignee checks that the caller may assign reminders to the user with
// the id and that the user is live. Anyone assigns to themselves; others
// need reminder.write.
//
// Errors: Forbidden, Unprocessable (no such user).
func (r *Reminders) assignee(ctx context.Context, p *usher.Principal, id int64) error {
	if id != p.UserID() {
		if err := r.decide(ctx, p, actReminderWrite, "", false); err != nil {
			return err
		}
	}
	u, err := r.store.UserGet(ctx, usher.UserKey{ID: id})
	if err == nil && !u.Deleted() {
		// One the caller may not read is no user to it (seen).
		err = r.seen(ctx, u)
	}
	if errors.Is(err, usher.ErrNotFound) || (err == nil && u.Deleted()) {
		return errNoAssignee()
	}
	return err
}

// errNoAssignee refuses an assignee that is no (live) user.
func errNoAssignee() error {
	return usher.FieldErrors(usher.FieldError{Field: "assigned_to", Code: usher.CodeUnknown, Message: "is not a user"})
}

// mailsAnother refuses a change of what another user is mailed, or when,
// to a caller without reminder.write, which assigning the reminder to
// them took: being its creator is not enough, since the creator may have
// lost that rule since.
func (r *Reminders) mailsAnother(ctx context.Context, p *usher.Principal, rem *usher.Reminder) error {
	if rem.AssignedTo == p.UserID() {
		return nil
	}
	return r.decide(ctx, p, actReminderWrite, strconv.FormatInt(rem.ID, 10), false)
}

// authorizeReminder is the one decision on a reminder: the caller may do
// act to it when it is assigned to or created by the caller, unless a
// rule denies; otherwise when a rule allows. One who may not read it is
// told it does not exist.
//
// Errors: Forbidden, NotFound.
func (r *Reminders) authorizeReminder(ctx context.Context, p *usher.Principal, act action, rem *usher.Reminder) error {
	own := p.UserID() != 0 && (rem.AssignedTo == p.UserID() || rem.CreatedBy == p.UserID())
	instance := strconv.FormatInt(rem.ID, 10)
	if err := r.decide(ctx, p, actReminderRead, instance, own); err != nil {
		if usher.ErrorKind(err) == usher.KindForbidden {
			return errReminderNotFound()
		}
		return err
	}
	if act == actReminderRead {
		return nil
	}
	return r.decide(ctx, p, act, instance, own)
}

// find returns a live reminder the caller may do act to.
func (r *Reminders) find(ctx context.Context, p *usher.Principal, act action, id int64) (*usher.Reminder, error) {
	rem, err := r.store.ReminderGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) || (err == nil && rem.DeletedAt != nil) {
		return nil, errReminderNotFound()
	}
	if err != nil {
		return nil, err
	}
	if err := r.authorizeReminder(ctx, p, act, rem); err != nil {
		return nil, err
	}
	return rem, nil
}

// Create makes a reminder, assigned to the caller unless in.AssignedTo
// names another user (which needs reminder.write). A user holds at most
// maxRemindersPerUser live reminders they created.
//
// Errors: Unauthenticated, Forbidden, Unprocessable (a malformed resource,
// a payload that is not JSON or too large, a time in the past, an
// assignee that is no user), Conflict (limit_reached).
func (r *Reminders) Create(ctx context.Context, in usher.ReminderCreate) (*usher.Reminder, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actReminderWrite, nil); err != nil {
		return nil, err
	}
	if in.AssignedTo == 0 {
		in.AssignedTo = p.UserID()
	}
	now := r.now()
	var c checker
	c.resource(in.Resource)
	c.payload(in.Payload)
	c.future("remind_at", in.RemindAt, now)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := r.assignee(ctx, p, in.AssignedTo); err != nil {
		return nil, err
	}
	rem := &usher.Reminder{Resource: in.Resource, Payload: in.Payload, AssignedTo: in.AssignedTo, CreatedBy: p.UserID(), WrittenBy: p.UserID(),
		RemindAt: micro(in.RemindAt), CreatedAt: now, UpdatedAt: now}
	if len(rem.Payload) == 0 {
		rem.Payload = []byte("null")
	}
	err := r.store.InTx(ctx, func(tx store.Tx) error {
		// Both accounts' rows first, in id order (docs/architecture.md,
		// "One lock order"): the reminder's row takes a share lock on
		// its assignee's, and the count holds its creator's, so two
		// people assigning each other a reminder at once each held one
		// and waited for the other. Under the lock, an assignee deleted
		// meanwhile is no one to remind.
		accounts := []int64{rem.AssignedTo}
		if rem.CreatedBy != 0 {
			accounts = append(accounts, rem.CreatedBy)
		}
		if err := lockUsers(ctx, tx, accounts); err != nil {
			return err
		}
		if u, err := tx.UserGet(ctx, usher.UserKey{ID: rem.AssignedTo}); err != nil || u.Deleted() {
			if err != nil && !errors.Is(err, usher.ErrNotFound) {
				return err
			}
			return errNoAssignee()
		}
		if err := checkReminderRoom(ctx, tx, rem.CreatedBy); err != nil {
			return err
		}
		if _, err := stillCredential(ctx, tx, p, now); err != nil {
			return err
		}
		if err := tx.ReminderAdd(ctx, rem); err != nil {
			return err
		}
		meta := reminderMeta(rem)
		meta["remind_at"] = timeText(rem.RemindAt)
		return r.record(ctx, tx, now, event{action: "reminder.create", resourceType: "reminder",
			resourceID: strconv.FormatInt(rem.ID, 10), meta: meta})
	})
	if err != nil {
		return nil, err
	}
	return rem, nil
}

// timeText is a time as the audit log keeps it; "" for none.
func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// Get returns a reminder.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (r *Reminders) Get(ctx context.Context, id int64) (*usher.Reminder, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actReminderRead, nil); err != nil {
		return nil, err
	}
	return r.find(ctx, p, actReminderRead, id)
}

// List returns a page of the reminders matching f, by id: those assigned
// to or created by the caller, or every one for administrators and callers
// a rule on the type "reminder" allows to read; never one a rule on
// "reminder:<id>" denies the caller, which Get does not find either.
//
// Errors: Unauthenticated, Forbidden, Invalid (a bad range or cursor, a
// resource filter too long).
func (r *Reminders) List(ctx context.Context, f usher.ReminderFilter) (*usher.Page[*usher.Reminder], error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actReminderRead, nil); err != nil {
		return nil, err
	}
	var err error
	if f.Page, err = r.idPage(f.Page); err != nil {
		return nil, err
	}
	if err := filterText("resource", f.Resource); err != nil {
		return nil, err
	}
	if f.ScheduledFrom != nil && f.ScheduledUntil != nil && !f.ScheduledFrom.Before(*f.ScheduledUntil) {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidRange, Message: "scheduled_from must be before scheduled_until",
			Fields: []usher.FieldError{{Field: "scheduled_from", Code: usher.CodeInvalidRange, Message: "must be before scheduled_until"}}}
	}
	f.Involving = 0
	if p.IsAdmin() {
		return r.store.ReminderList(ctx, f)
	}
	rules, err := r.rules.of(ctx, r.env, p.UserID())
	if err != nil {
		return nil, err
	}
	switch evaluate(rules, actReminderRead, "") {
	case usher.Deny:
		return nil, errForbidden("a permission rule denies " + string(actReminderRead))
	case usher.Allow:
	default:
		f.Involving = p.UserID()
	}
	// What a rule on one reminder decides, Get decides too
	// (authorizeReminder): a list leaves out what it would not find.
	req := f.Page
	read := func(page usher.PageRequest) (*usher.Page[*usher.Reminder], error) {
		f.Page = page
		return r.store.ReminderList(ctx, f)
	}
	keep := func(rem *usher.Reminder) (*usher.Reminder, bool, error) {
		switch err := r.authorizeReminder(ctx, p, actReminderRead, rem); {
		case usher.ErrorKind(err) == usher.KindNotFound:
			return rem, false, nil
		case err != nil:
			return nil, false, err
		}
		return rem, true, nil
	}
	return filtered(req, read, keep, func(rem *usher.Reminder) usher.Cursor { return usher.Cursor{ID: rem.ID} })
}

// Update changes a reminder. A new time makes it due again, even if it was
// delivered; another assignee needs reminder.write unless it is the caller.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (as Create).
func (r *Reminders) Update(ctx context.Context, id int64, in usher.ReminderUpdate) (*usher.Reminder, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actReminderWrite, nil); err != nil {
		return nil, err
	}
	now := r.now()
	var c checker
	if in.Resource != nil {
		c.resource(*in.Resource)
	}
	if in.Payload != nil {
		c.payload(in.Payload)
	}
	c.future("remind_at", in.RemindAt, now)
	if err := c.err(); err != nil {
		return nil, err
	}
	return r.change(ctx, p, id, "reminder.update", func(rem *usher.Reminder, changes map[string]usher.Change) error {
		if in.Resource != nil || in.Payload != nil || in.RemindAt != nil {
			if err := r.mailsAnother(ctx, p, rem); err != nil {
				return err
			}
		}
		if in.Resource != nil && *in.Resource != rem.Resource {
			changes["resource"] = usher.Change{Old: rem.Resource, New: *in.Resource}
			rem.Resource = *in.Resource
		}
		rewritten := false
		if in.Payload != nil && !samePayload(rem.Payload, in.Payload, exactNumbers) {
			// A JavaScript client sends back what it read as float64s: a
			// payload a float64 reads alike is the writer's text as it
			// was. The writer's own is stored; another's — an echo, or
			// digits past a float64's changed by one who is not the
			// writer — is not, since a text of two hands would be mailed
			// in the name of one.
			rewritten = !samePayload(rem.Payload, in.Payload, float64Numbers)
			if rewritten || p.UserID() == writerOf(rem) {
				changes["payload"] = usher.Change{Old: len(rem.Payload), New: len(in.Payload)}
				rem.Payload = in.Payload
			}
		}
		if in.AssignedTo != nil && *in.AssignedTo != rem.AssignedTo {
			if err := r.assignee(ctx, p, *in.AssignedTo); err != nil {
				return err
			}
			changes["assigned_to"] = usher.Change{Old: rem.AssignedTo, New: *in.AssignedTo}
			rem.AssignedTo = *in.AssignedTo
		}
		if in.RemindAt != nil {
			changes["remind_at"] = usher.Change{Old: timeText(rem.RemindAt), New: timeText(micro(in.RemindAt))}
			rem.RemindAt, rem.DeliveredAt = micro(in.RemindAt), nil
		}
		if rewritten {
			// The text mailed is now the caller's: it is mailed only
			// while the caller may sign in (DeliverDue). A new resource
			// (a type and an id) or assignee leaves the text its
			// writer's, whose block still stops it.
			rem.WrittenBy = p.UserID()
		}
		return nil
	})
}

// Dismiss marks a reminder dismissed: it is no longer delivered. A
// dismissed reminder is answered as it is.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (r *Reminders) Dismiss(ctx context.Context, id int64) (*usher.Reminder, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actReminderWrite, nil); err != nil {
		return nil, err
	}
	return r.change(ctx, p, id, "reminder.dismiss", func(rem *usher.Reminder, changes map[string]usher.Change) error {
		if rem.DismissedAt == nil {
			now := r.now()
			rem.DismissedAt = &now
			changes["dismissed_at"] = usher.Change{Old: "", New: timeText(&now)}
		}
		return nil
	})
}

// Snooze moves a reminder to a later time, counts the snooze and makes it
// due again there, dismissed or delivered before or not.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (a time
// missing or in the past).
func (r *Reminders) Snooze(ctx context.Context, id int64, until time.Time) (*usher.Reminder, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actReminderWrite, nil); err != nil {
		return nil, err
	}
	var c checker
	if until.IsZero() {
		c.add("remind_at", usher.CodeRequired, "is required")
	} else {
		c.future("remind_at", &until, r.now())
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return r.change(ctx, p, id, "reminder.snooze", func(rem *usher.Reminder, changes map[string]usher.Change) error {
		// A snooze moves the time, and undoes a dismissal, as an update
		// of remind_at does.
		if err := r.mailsAnother(ctx, p, rem); err != nil {
			return err
		}
		changes["remind_at"] = usher.Change{Old: timeText(rem.RemindAt), New: timeText(micro(&until))}
		rem.RemindAt, rem.DeliveredAt, rem.DismissedAt = micro(&until), nil, nil
		rem.SnoozeCount++
		return nil
	})
}

// Delete deletes a reminder: it is no longer found, listed or delivered,
// its payload is dropped at once, and housekeeping deletes its row once
// KeepEnded has passed. Else a loop of creating and deleting one kept 16
// KB a turn for good, past the cap on live reminders.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (r *Reminders) Delete(ctx context.Context, id int64) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actReminderWrite, nil); err != nil {
		return err
	}
	_, err := r.change(ctx, p, id, "reminder.delete", func(rem *usher.Reminder, _ map[string]usher.Change) error {
		markReminderDeleted(rem, r.now())
		return nil
	})
	return err
}

// markReminderDeleted deletes rem, which the caller writes: nothing finds,
// lists or delivers it any more, and its payload goes at once, its row
// once housekeeping reaches it.
func markReminderDeleted(rem *usher.Reminder, now time.Time) {
	rem.DeletedAt, rem.Payload = &now, []byte("null")
}

// reminderMeta is the meta of a reminder's event: its resource, and the
// accounts it names, by which the audit log hides it from a reader a rule
// keeps from either (hideDenied).
func reminderMeta(rem *usher.Reminder) map[string]string {
	return map[string]string{"resource": rem.Resource, "assigned_to": strconv.FormatInt(rem.AssignedTo, 10),
		"created_by": strconv.FormatInt(rem.CreatedBy, 10)}
}

// endRemindersFor deletes, within tx, the live reminders a user about to
// be purged made for others. They carry its text, which delivery holds
// back while its creator is deleted (creator_gone); purged, its id goes
// from them (the store sets it to none, as usher's own reminders have),
// and delivery could no longer tell.
func endRemindersFor(ctx context.Context, tx store.Tx, creator int64, now time.Time) error {
	f := usher.ReminderFilter{CreatedBy: creator, Page: usher.PageRequest{Limit: maxRemindersPerUser}}
	for {
		page, err := tx.ReminderList(ctx, f)
		if err != nil {
			return err
		}
		for _, rem := range page.Items {
			if rem.AssignedTo == creator {
				continue
			}
			if _, err := tx.ReminderUpdate(ctx, rem.ID, func(r *usher.Reminder) error {
				markReminderDeleted(r, now)
				return nil
			}); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		f.Page.After = page.Next
	}
}

// change is every change to a reminder: in one transaction it finds the
// live reminder, decides whether the caller may write it, lets fn change
// it and note the changes, writes it and records the event.
func (r *Reminders) change(ctx context.Context, p *usher.Principal, id int64, action string,
	fn func(rem *usher.Reminder, changes map[string]usher.Change) error) (*usher.Reminder, error) {
	var out *usher.Reminder
	err := r.store.InTx(ctx, func(tx store.Tx) error {
		changes := map[string]usher.Change{}
		rem, err := tx.ReminderUpdate(ctx, id, func(rem *usher.Reminder) error {
			if rem.DeletedAt != nil {
				return errReminderNotFound()
			}
			if err := r.authorizeReminder(ctx, p, actReminderWrite, rem); err != nil {
				return err
			}
			if err := fn(rem, changes); err != nil {
				return err
			}
			rem.UpdatedAt = r.now()
			return nil
		})
		if errors.Is(err, usher.ErrNotFound) {
			return errReminderNotFound()
		}
		if err != nil {
			return err
		}
		out = rem
		return r.record(ctx, tx, rem.UpdatedAt, event{action: action, resourceType: "reminder",
			resourceID: strconv.FormatInt(id, 10), changes: changes, meta: reminderMeta(rem)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeliverDue mails the reminders that are due, at most that many, to
// their assignees through the outbox, and returns how many it queued. Each
// is claimed for a while in the database, so that concurrent senders —
// other replicas — take different ones, and is marked delivered in the
// transaction that queues its mail, only if the claim still holds: a
// reminder is mailed once, even when a sender stops between the two.
// A reminder whose assignee cannot be mailed is marked delivered unmailed,
// and so is one past remindersMailedPerWindow mails to its assignee within
// the policy's failure window: snoozing reminders due at once, in a loop,
// would else mail their payloads to the assignee as fast as they fall due.
//
// Errors: only the store's.
func (r *Reminders) DeliverDue(ctx context.Context, most int) (int, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	claim := hex.EncodeToString(b[:])
	now := r.now()
	due, err := r.store.ReminderClaim(ctx, now, now.Add(reminderLease), claim, most)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, rem := range due {
		mailed := false
		// Counted before the transaction, which on SQLite holds the one
		// writer: a mail the assignee could not be sent counts all the same.
		limited, err := r.pastBound(ctx, r.store, limit{key: "reminder-mail:" + strconv.FormatInt(rem.AssignedTo, 10),
			max: remindersMailedPerWindow})
		if err != nil {
			return queued, err
		}
		err = r.store.InTx(ctx, func(tx store.Tx) error {
			at := r.now()
			if err := tx.ReminderDeliver(ctx, rem.ID, claim, at); err != nil {
				return err
			}
			outcome := "no_recipient"
			u, err := tx.UserGet(ctx, usher.UserKey{ID: rem.AssignedTo})
			if err != nil && !errors.Is(err, usher.ErrNotFound) {
				return err
			}
			recipient := err == nil && !u.Deleted() && u.Email != "" && u.State == usher.StateActive
			// Another's reminder carries its writer's text — its
			// creator's, or that of whoever set its text since: once
			// the writer is deleted or may not sign
			// in (an abusive account an administrator blocked), it is
			// mailed no more, and a mail of it queued is not sent
			// (queueAuthored).
			writer := writerOf(rem)
			if writer == rem.AssignedTo {
				writer = 0
			}
			maker := true
			if writer != 0 {
				c, err := tx.UserGet(ctx, usher.UserKey{ID: writer})
				if err != nil && !errors.Is(err, usher.ErrNotFound) {
					return err
				}
				maker = err == nil && !c.Deleted() && c.State.CanSignIn()
			}
			switch {
			case recipient && !maker:
				outcome = "creator_gone"
			case recipient && u.EmailConfirmedAt == nil:
				// A reminder's payload is its creator's text: mailed to an
				// address no one proved (an account used before its address
				// is, with SkipEmailConfirmation), it would carry whatever
				// its maker wrote to whoever has that address.
				outcome = "address_unconfirmed"
			case recipient && limited:
				outcome = "mail_limited"
			case recipient:
				if err := r.queueAuthored(ctx, tx, "reminder", u.Email, u, writer, map[string]string{"Resource": rem.Resource,
					"Due": timeText(rem.RemindAt), "Payload": string(rem.Payload),
					"Link": r.policy.PublicURL + "/v1/reminders/" + strconv.FormatInt(rem.ID, 10)}); err != nil {
					return err
				}
				outcome, mailed = "mailed", true
			}
			meta := reminderMeta(rem)
			meta["outcome"] = outcome
			return r.record(ctx, tx, at, event{action: "reminder.deliver", resourceType: "reminder",
				resourceID: strconv.FormatInt(rem.ID, 10), meta: meta})
		})
		if errors.Is(err, usher.ErrNotFound) {
			// The claim was voided by a change, or taken over.
			continue
		}
		if err != nil {
			return queued, err
		}
		if mailed {
			queued++
		}
	}
	if queued > 0 {
		r.mailQueued()
	}
	return queued, nil
}

// remindersMailedPerWindow bounds the reminder mails one assignee is sent
// within the policy's failure window; the reminders past it are delivered
// all the same, unmailed, for the assignee to read through the API.
const remindersMailedPerWindow = 30

// samePayload reports whether two payloads are the same JSON value,
// whatever their spacing, the order of their keys and their strings'
// escapes (PostgreSQL keeps them as jsonb), their numbers compared as
// number says: a client that sends a reminder back whole, as Corteza's does
// to move its time, changes neither its text nor who wrote it.
func samePayload(a, b []byte, number func(json.Number) any) bool {
	x, okX := jsonValue(a, number)
	y, okY := jsonValue(b, number)
	if !okX || !okY {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// jsonValue decodes a payload, which the checker or the store made one
// JSON value, each number as number makes it.
func jsonValue(data []byte, number func(json.Number) any) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return numbersAs(v, number), true
}

// numbersAs replaces each json.Number within v by what number makes of it.
func numbersAs(v any, number func(json.Number) any) any {
	switch v := v.(type) {
	case json.Number:
		return number(v)
	case []any:
		for i := range v {
			v[i] = numbersAs(v[i], number)
		}
	case map[string]any:
		for k := range v {
			v[k] = numbersAs(v[k], number)
		}
	}
	return v
}

// writerOf is who last set a reminder's text: its writer, or, for one
// stored before writers were, its creator.
func writerOf(rem *usher.Reminder) int64 {
	if rem.WrittenBy != 0 {
		return rem.WrittenBy
	}
	return rem.CreatedBy
}

// float64Numbers is a number as JavaScript reads it: 1.0 and 1 are one,
// and so are two integers past 2⁵³ that round to one float64; one past a
// float64's range is infinite, which JSON.stringify writes as null.
func float64Numbers(n json.Number) any {
	f, err := strconv.ParseFloat(string(n), 64)
	if math.IsInf(f, 0) {
		return nil
	}
	if err != nil {
		return string(n)
	}
	return f
}

// exactNumbers is a number's exact decimal value: 1.0, 1 and 0.1e1 are
// one, two integers past 2⁵³ are two. It is written as its significant
// digits and a power of ten, so that an exponent of a billion costs no
// more than one of one; an exponent past half of int64's is kept as
// written.
func exactNumbers(n json.Number) any {
	s := string(n)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	mantissa, exponent, _ := strings.Cut(strings.ToLower(s), "e")
	exp := int64(0)
	if exponent != "" {
		var err error
		if exp, err = strconv.ParseInt(exponent, 10, 64); err != nil {
			return string(n)
		}
	}
	if exp > math.MaxInt64/2 || exp < math.MinInt64/2 {
		// Far past any float64: the digits' count would wrap it.
		return string(n)
	}
	whole, fraction, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(whole+fraction, "0")
	exp -= int64(len(fraction))
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	if trimmed == "" {
		return "0"
	}
	return sign + trimmed + "e" + strconv.FormatInt(exp, 10)
}
