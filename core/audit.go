package core

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"usher"
	"usher/store"
)

// Audit reads the audit log. Writing it is not a service of its own: every
// change writes its event in its own transaction.
type Audit struct{ *env }

// List returns a page of the audit events matching f, newest first. Only
// administrators and the holders of a rule allowing "audit" "read" may
// read the log; as they read every actor's doings, each event also
// carries its actor's current e-mail address (ActorEmail), which the
// store reads with the page in one query. The values of the instance
// settings' changes are hidden from a reader who may not read the
// settings (hideSettingValues).
//
// The cursor is an event's id.
//
// Errors: Unauthenticated, Forbidden, Invalid (a bad range, an actor id
// that is not one, more than MaxAuditActors actors, a cursor that names
// no event, a bad offset, an action or resource filterText refuses).
func (a *Audit) List(ctx context.Context, f usher.AuditFilter) (*usher.Page[*usher.AuditEvent], error) {
	if err := a.authorize(ctx, actAuditRead, nil); err != nil {
		return nil, err
	}
	var err error
	if f.Page, err = a.idPage(f.Page); err != nil {
		return nil, err
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidRange, Message: "from must be before to",
			Fields: []usher.FieldError{{Field: "from", Code: usher.CodeInvalidRange, Message: "must be before to"}}}
	}
	if len(f.ActorIDs) > MaxAuditActors {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeTooMany, Message: "actor: names too many users",
			Fields: []usher.FieldError{{Field: "actor", Code: usher.CodeTooMany, Message: "names more than 100 users"}}}
	}
	for _, t := range []struct{ name, v string }{
		{"action", f.Action}, {"resource", f.ResourceType}, {"resource", f.ResourceID},
	} {
		if err := filterText(t.name, t.v); err != nil {
			return nil, err
		}
	}
	for _, id := range f.ActorIDs {
		if id <= 0 {
			return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidID, Message: "actor: must be a user id",
				Fields: []usher.FieldError{{Field: "actor", Code: usher.CodeInvalidID, Message: "must be a user id"}}}
		}
	}
	page, err := a.store.AuditList(ctx, f)
	if err != nil {
		return nil, err
	}
	if err := a.hideSettingValues(ctx, page.Items); err != nil {
		return nil, err
	}
	return page, a.hideDenied(ctx, page.Items)
}

// hideDenied takes out of the events what a rule keeps the reader from
// reading elsewhere: of an event on a user, a group or an organisation
// the reader is denied reading (a rule on user:<id>, group:<id> or
// organisation:<id>), its changes' and meta's values; of a change of
// organisation_id, an organisation the reader is denied reading; of an
// actor the reader is denied reading, the username and the address (the
// id stays).
// audit.read shows everyone else's, as documented; only a deny hides, so
// that a rule written to wall one account or team off holds here too.
// The events stay, saying what happened, when and by whom (by id).
func (a *Audit) hideDenied(ctx context.Context, events []*usher.AuditEvent) error {
	p := usher.PrincipalFrom(ctx)
	if p.IsAdmin() {
		return nil
	}
	denied := map[string]bool{} // by "user:<id>" or "group:<id>"
	deny := func(act action, id string) (bool, error) {
		key := act.resource() + ":" + id
		if d, ok := denied[key]; ok {
			return d, nil
		}
		err := a.decide(ctx, p, act, id, true)
		if err != nil && usher.ErrorKind(err) != usher.KindForbidden {
			return false, err
		}
		denied[key] = err != nil
		return err != nil, nil
	}
	for _, e := range events {
		if c, ok := e.Changes["organisation_id"]; ok {
			for _, v := range []*any{&c.Old, &c.New} {
				if *v == nil {
					continue
				}
				d, err := deny(actOrgRead, idText(*v))
				if err != nil {
					return err
				}
				if d {
					*v = hiddenValue(*v)
				}
			}
			e.Changes["organisation_id"] = c
		}
		if e.ActorID != 0 {
			d, err := deny(actUserRead, strconv.FormatInt(e.ActorID, 10))
			if err != nil {
				return err
			}
			if d {
				e.ActorEmail, e.ActorName = "", ""
			}
		}
		var act action
		switch e.ResourceType {
		case "user":
			act = actUserRead
		case "group":
			act = actGroupRead
		case "organisation":
			act = actOrgRead
		default:
			continue
		}
		if e.ResourceID == "" {
			continue
		}
		d, err := deny(act, e.ResourceID)
		if err != nil {
			return err
		}
		if !d {
			continue
		}
		hideChanges(e)
		for k := range e.Meta {
			e.Meta[k] = "[hidden]"
		}
	}
	return nil
}

// hideSettingValues takes the values out of the settings' events for a
// reader who may not read those settings: the instance's (setting.set,
// setting.delete), which may hold mail server credentials, unless the
// reader may read the instance settings; a user's own (settings.update),
// which may hold a client's secrets, unless the reader may read that
// user's settings. audit.read alone must not hand either over. The events
// stay, saying which setting changed, when and by whom.
func (a *Audit) hideSettingValues(ctx context.Context, events []*usher.AuditEvent) error {
	p := usher.PrincipalFrom(ctx)
	if p.IsAdmin() {
		return nil
	}
	may := map[string]bool{} // by the instance ("") or a user's id
	for _, e := range events {
		var key string
		switch {
		case len(e.Changes) == 0:
			continue
		case e.ResourceType == "setting":
		case e.ResourceType == "user" && e.Action == "settings.update":
			key = e.ResourceID
		default:
			continue
		}
		ok, decided := may[key]
		if !decided {
			var err error
			if key == "" {
				err = a.authorizeInstance(ctx, actInstanceRead)
			} else {
				err = a.decide(ctx, p, actSettingsRead, key, key == strconv.FormatInt(p.UserID(), 10))
			}
			if err != nil && usher.ErrorKind(err) != usher.KindForbidden {
				return err
			}
			ok, may[key] = err == nil, err == nil
		}
		if ok {
			continue
		}
		hideChanges(e)
	}
	return nil
}

// hideChanges puts hiddenValue in place of each of e's changed values.
func hideChanges(e *usher.AuditEvent) {
	for k, c := range e.Changes {
		e.Changes[k] = usher.Change{Old: hiddenValue(c.Old), New: hiddenValue(c.New)}
	}
}

// idText is an id kept in an event's changes as text: a number read back
// from JSON is a float64, which fmt would write as 1e+06.
func idText(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// hiddenValue is what a reader who may not see a value is shown of it.
func hiddenValue(v any) any {
	if v == nil {
		return nil
	}
	return "[hidden]"
}

// MaxAuditActors is the most actors one audit query may name.
const MaxAuditActors = 100

// event is what a change tells the audit log; the principal and the request
// come from the context.
type event struct {
	action       string
	resourceType string
	resourceID   string
	changes      map[string]usher.Change
	meta         map[string]string
}

// record appends the event to the log within tx.
func (e *env) record(ctx context.Context, tx store.Tx, at time.Time, ev event) error {
	p := usher.PrincipalFrom(ctx)
	req := requestOf(ctx)
	ae := &usher.AuditEvent{
		At: at, ActorKind: p.Kind, Action: ev.action, ResourceType: ev.resourceType,
		ResourceID: ev.resourceID, Changes: ev.changes, Meta: ev.meta,
		Address: req.Address, UserAgent: req.UserAgent, RequestID: req.ID,
	}
	if p.User != nil {
		ae.ActorID, ae.ActorName = p.User.ID, p.User.Username
	}
	if p.Impersonator != nil {
		ae.ImpersonatorID = p.Impersonator.ID
	}
	return tx.AuditAppend(ctx, ae)
}
