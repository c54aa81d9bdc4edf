package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// reading elsewhere: of an event on a user, a group, an organisation or
// an application the reader is denied reading (a rule on user:<id>,
// group:<id>, organisation:<id> or application:<id>), its changes' and
// meta's values; of a change of organisation_id, an organisation the
// reader is denied reading; of a service account's token, the name of a
// team the reader is denied reading, which the token is named after; of
// an actor the reader is denied reading, the username and the address
// (the id stays).
// audit.read shows everyone else's, as documented; only a deny hides, so
// that a rule written to wall one account or team off holds here too.
// The events stay, saying what happened, when and by whom (by id).
func (a *Audit) hideDenied(ctx context.Context, events []*usher.AuditEvent) error {
	p := usher.PrincipalFrom(ctx)
	if p.IsAdmin() {
		return nil
	}
	denied := map[string]bool{}  // by "user:<id>" or "group:<id>"
	teams := map[string]string{} // a service account's teams, by its id
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
			actor := strconv.FormatInt(e.ActorID, 10)
			d, err := deny(actUserRead, actor)
			if err != nil {
				return err
			}
			if d {
				// The account's device and network too, which the
				// reader learns nowhere else.
				e.ActorEmail, e.ActorName, e.UserAgent, e.Address = "", "", "", ""
			} else if d, err = deny(actEmailRead, actor); err != nil {
				return err
			} else if d {
				e.ActorEmail = ""
			}
		}
		if e.ImpersonatorID != 0 {
			// The device and network are the impersonator's.
			d, err := deny(actUserRead, strconv.FormatInt(e.ImpersonatorID, 10))
			if err != nil {
				return err
			}
			if d {
				e.UserAgent, e.Address = "", ""
			}
		}
		if e.ResourceType == "user" {
			if err := hideUserParts(e, deny); err != nil {
				return err
			}
		}
		// Other events name a denied team by its handle: a merge's source,
		// a user's groups set.
		if id := e.Meta["source_id"]; e.Action == "group.merge" && id != "" {
			d, err := deny(actGroupRead, id)
			if err != nil {
				return err
			}
			if d {
				e.Meta["source_handle"] = "[hidden]"
			}
		}
		teamID := e.Meta["team_id"]
		if h := e.Meta["team"]; h != "" {
			// A service account's team: by the id kept beside it, or the
			// team that holds the handle now.
			v := any(h)
			ids, err := a.hideHandles(ctx, &v, e.Meta["team_id"], deny)
			if err != nil {
				return err
			}
			e.Meta["team"] = v.(string)
			if ids != "" {
				e.Meta["team_id"] = ids
			}
		}
		// A service account's token is named after its team
		// (ServiceAccountToken): by the team kept beside it, else (a
		// rotation, a revocation, an older event) by the account's teams
		// and the team that holds the name now.
		if e.ResourceType == "token" && e.Meta["kind"] == string(usher.TokenServiceAccount) && e.Meta["name"] != "" {
			ids := teamID
			if ids == "" {
				var err error
				if ids, err = a.teamsOf(ctx, teams, e.Meta["user_id"]); err != nil {
					return err
				}
			}
			for id := range strings.SplitSeq(ids, ",") {
				d, err := deny(actGroupRead, id)
				if err != nil {
					return err
				}
				if d {
					e.Meta["name"] = "[hidden]"
					break
				}
			}
			if teamID == "" {
				v := any(e.Meta["name"])
				if _, err := a.hideHandles(ctx, &v, "", deny); err != nil {
					return err
				}
				e.Meta["name"] = v.(string)
			}
		}
		if c, ok := e.Changes["groups"]; ok && e.Action == "user.groups_set" {
			for _, side := range []struct {
				v   *any
				ids string
			}{{&c.Old, "removed_ids"}, {&c.New, "added_ids"}} {
				ids, err := a.hideHandles(ctx, side.v, e.Meta[side.ids], deny)
				if err != nil {
					return err
				}
				if ids != "" {
					e.Meta[side.ids] = ids
				}
			}
			e.Changes["groups"] = c
		}
		var act action
		id := e.ResourceID
		switch e.ResourceType {
		case "user":
			act = actUserRead
		case "group":
			act = actGroupRead
		case "organisation":
			act = actOrgRead
		case "application":
			act = actAppRead
		case "token", "attachment":
			// A denied account's own things: its tokens and files, whose
			// names it chose.
			act, id = actUserRead, cmp.Or(e.Meta["user_id"], e.Meta["owner"])
		case "reminder":
			// The reminders a denied account made or is assigned, or was
			// before a change, whose text it or its planner chose.
			act, id = actUserRead, strings.Join(reminderAccounts(e), ",")
		case "throttle":
			// A lock of a denied account's log-ins (login:user:<id>).
			var ok bool
			if id, ok = strings.CutPrefix(e.ResourceID, "login:user:"); !ok {
				continue
			}
			act = actUserRead
		default:
			continue
		}
		d := false
		for id := range strings.SplitSeq(id, ",") {
			if id == "" {
				continue
			}
			var err error
			if d, err = deny(act, id); err != nil {
				return err
			}
			if d {
				break
			}
		}
		if own := instanceRead[e.ResourceType]; !d && own != "" {
			// A rule on the reminder or the file itself keeps it from
			// the reader as it does elsewhere (404 there).
			var err error
			if d, err = deny(own, e.ResourceID); err != nil {
				return err
			}
		}
		if !d {
			continue
		}
		hideChanges(e)
		for k := range e.Meta {
			e.Meta[k] = "[hidden]"
		}
		if e.ActorID == 0 {
			// No one signed in, on a denied account (a failed log-in, a
			// reset asked for): the device and network most likely its
			// person's.
			e.UserAgent, e.Address = "", ""
		}
	}
	return nil
}

// instanceRead is, for the kinds of resource whose events hideDenied
// hides by their account, the read a rule on one of them (reminder:<id>,
// attachment:<id>) decides.
var instanceRead = map[string]action{"reminder": actReminderRead, "attachment": actAttachRead}

// hideUserParts takes out of an event on a user what a rule on a part of
// the account keeps the reader from elsewhere: its addresses, by a deny of
// email.read on it (the secondary address an email event names, the
// address a reset was asked for with, a change of the primary or the
// waiting address), and its SSH keys' titles and fingerprints, by a deny
// of ssh_key.read.
func hideUserParts(e *usher.AuditEvent, deny func(action, string) (bool, error)) error {
	d, err := deny(actEmailRead, e.ResourceID)
	if err != nil {
		return err
	}
	if d {
		for _, k := range []string{"email", "unconfirmed_email"} {
			if c, ok := e.Changes[k]; ok {
				e.Changes[k] = usher.Change{Old: hiddenValue(c.Old), New: hiddenValue(c.New)}
			}
		}
		if _, ok := e.Meta["email"]; ok {
			e.Meta["email"] = "[hidden]"
		}
	}
	if !strings.HasPrefix(e.Action, "ssh_key.") {
		return nil
	}
	if d, err = deny(actKeyRead, e.ResourceID); err != nil || !d {
		return err
	}
	hideChanges(e)
	for _, k := range []string{"title", "fingerprint"} {
		if _, ok := e.Meta[k]; ok {
			e.Meta[k] = "[hidden]"
		}
	}
	return nil
}

// reminderAccounts lists the accounts a reminder's event names: its
// creator and its assignee, and the assignee a change took it from.
func reminderAccounts(e *usher.AuditEvent) []string {
	var ids []string
	for _, k := range []string{"created_by", "assigned_to"} {
		if id := e.Meta[k]; id != "" && id != "0" {
			ids = append(ids, id)
		}
	}
	if c, ok := e.Changes["assigned_to"]; ok && c.Old != nil {
		ids = append(ids, idText(c.Old))
	}
	return ids
}

// teamsOf returns the ids of the teams, deleted ones too, that the user
// of the id is in, comma-separated, kept in known by the id.
func (a *Audit) teamsOf(ctx context.Context, known map[string]string, userID string) (string, error) {
	if ids, ok := known[userID]; ok || userID == "" {
		return ids, nil
	}
	id, err := strconv.ParseInt(userID, 10, 64)
	if err != nil {
		return "", nil
	}
	ms, err := a.store.UserGroupsKept(ctx, id, usher.GroupTeam)
	if err != nil {
		return "", err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = strconv.FormatInt(m.GroupID, 10)
	}
	known[userID] = strings.Join(ids, ",")
	return known[userID], nil
}

// hideHandles replaces, in *v, a comma-separated list of group handles,
// each handle of a group the reader is denied reading with "[hidden]": by
// the group ids listed beside them, in order, where the event kept them
// (user.groups_set, since it does), and returns those ids with the same
// hidden; else by the groups, of any kind, that hold the handle now.
func (a *Audit) hideHandles(ctx context.Context, v *any, ids string, deny func(action, string) (bool, error)) (string, error) {
	text, ok := (*v).(string)
	if !ok || text == "" {
		return ids, nil
	}
	handles, byID := strings.Split(text, ","), strings.Split(ids, ",")
	kept := ids != "" && len(byID) == len(handles)
	for i, h := range handles {
		var candidates []string
		if kept {
			candidates = []string{byID[i]}
		} else {
			for _, kind := range []usher.GroupKind{usher.GroupTeam, usher.GroupRole, usher.GroupPlain, usher.GroupInternal} {
				g, err := a.store.GroupGet(ctx, 0, kind, h)
				if errors.Is(err, usher.ErrNotFound) {
					continue
				}
				if err != nil {
					return "", err
				}
				candidates = append(candidates, strconv.FormatInt(g.ID, 10))
			}
		}
		for _, id := range candidates {
			d, err := deny(actGroupRead, id)
			if err != nil {
				return "", err
			}
			if d {
				handles[i] = "[hidden]"
				if kept {
					byID[i] = "[hidden]"
				}
				break
			}
		}
	}
	*v = strings.Join(handles, ",")
	if !kept {
		return ids, nil
	}
	return strings.Join(byID, ","), nil
}

// hideSettingValues takes the values out of the settings' events for a
// reader who may not read those settings: the instance's (setting.set,
// setting.delete, and a setting's file's attachment.create and
// attachment.delete), which may hold mail server credentials, unless the
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
		file := e.ResourceType == "attachment" && e.Meta["kind"] == string(usher.AttachmentSetting)
		switch {
		case file:
			// A setting's file is the setting's value: its name, size
			// and checksum (which confirms a guess at its bytes).
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
		if file {
			for _, k := range []string{"name", "size", "content_type", "checksum"} {
				if _, set := e.Meta[k]; set {
					e.Meta[k] = "[hidden]"
				}
			}
		}
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
