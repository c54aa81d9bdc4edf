package corteza

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"usher"
)

// StatsService is what the face needs of the core's statistics.
type StatsService interface {
	Get(ctx context.Context) (*usher.Stats, error)
	Subscription(ctx context.Context) (*usher.Subscription, error)
}

// AuditService is what the face needs of the core's audit log.
type AuditService interface {
	List(ctx context.Context, f usher.AuditFilter) (*usher.Page[*usher.AuditEvent], error)
}

// OrgService is what the face needs of the core's organisations.
type OrgService interface {
	Create(ctx context.Context, handle, name string) (*usher.Organisation, error)
	Get(ctx context.Context, id int64, handle string) (*usher.Organisation, error)
	List(ctx context.Context, f usher.OrganisationFilter) (*usher.Page[*usher.Organisation], error)
	Update(ctx context.Context, id int64, in usher.OrganisationUpdate) (*usher.Organisation, error)
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) error {
	s, err := h.Stats.Get(r.Context())
	if err != nil {
		return err
	}
	return respond(w, map[string]any{
		"users": map[string]int{"total": s.Users.Total, "valid": s.Users.Valid, "suspended": s.Users.Suspended, "deleted": s.Users.Deleted},
		"roles": map[string]int{"total": s.Roles.Total, "valid": s.Roles.Valid, "archived": s.Roles.Archived, "deleted": s.Roles.Deleted},
		"applications": map[string]int{"total": s.Applications.Total, "valid": s.Applications.Valid,
			"deleted": s.Applications.Deleted},
	})
}

// subscription answers as a Corteza server without a subscription key does.
func (h *Handler) subscription(w http.ResponseWriter, r *http.Request) error {
	s, err := h.Stats.Subscription(r.Context())
	if err != nil {
		return err
	}
	if !s.Configured {
		return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNotFound, Message: "subscription not configured"}
	}
	return ok(w)
}

// action is Corteza's actionlog.Action; it has no id.
type action struct {
	Timestamp     time.Time         `json:"timestamp"`
	RequestOrigin string            `json:"requestOrigin"`
	RequestID     string            `json:"requestID"`
	ActorIPAddr   string            `json:"actorIPAddr"`
	ActorID       int64             `json:"actorID,string"`
	Actor         string            `json:"actor,omitempty"`
	Resource      string            `json:"resource"`
	Action        string            `json:"action"`
	Error         string            `json:"error"`
	Severity      uint8             `json:"severity"`
	Description   string            `json:"description"`
	Meta          map[string]string `json:"meta"`
}

// actionFilter is the filter an action log list echoes.
type actionFilter struct {
	From     *time.Time `json:"from"`
	To       *time.Time `json:"to"`
	ActorID  []string   `json:"actorID"`
	Resource string     `json:"resource"`
	Action   string     `json:"action"`
	paging
}

func (h *Handler) actionLog(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	f := actionFilter{ActorID: nilIfEmpty(p.strs("actorID")), Resource: p.str("resource"), Action: p.str("action")}
	if f.From, err = timeParam(p, "from"); err != nil {
		return err
	}
	if f.To, err = timeParam(p, "to"); err != nil {
		return err
	}
	if f.paging, err = p.paging(); err != nil {
		return err
	}
	af := usher.AuditFilter{From: f.From, Action: f.Action, Page: f.request()}
	af.ResourceType, af.ResourceID = auditResource(f.Resource)
	if f.To != nil {
		// Corteza's to is inclusive, the core's exclusive; the store
		// keeps microseconds.
		to := f.To.Add(time.Microsecond)
		af.To = &to
	}
	if af.ActorIDs, err = ids(f.ActorID); err != nil {
		return err
	}
	page, err := h.Audit.List(r.Context(), af)
	if err != nil {
		return err
	}
	f.Count = max(page.Total, 0)
	var set []*action
	for _, e := range page.Items {
		res := e.ResourceType
		if e.ResourceID != "" {
			res += ":" + e.ResourceID
		}
		a := &action{Timestamp: e.At, ActorIPAddr: e.Address, ActorID: e.ActorID, Actor: e.ActorEmail,
			Resource: res, Action: e.Action, Severity: 6, Meta: e.Meta, RequestOrigin: "rest", RequestID: e.RequestID}
		if e.ImpersonatorID != 0 {
			// Corteza has no field for it: an administrator acting as the
			// actor goes in the meta, else the log blames the actor.
			a.Meta = maps.Clone(e.Meta)
			if a.Meta == nil {
				a.Meta = map[string]string{}
			}
			a.Meta["impersonatorID"] = strconv.FormatInt(e.ImpersonatorID, 10)
			a.Description = "by user " + a.Meta["impersonatorID"] + " acting as the actor"
		}
		set = append(set, a)
	}
	return respond(w, listPayload{Filter: f, Set: set})
}

// auditResource reads the action log's resource filter as the list
// writes an event's resource ("user", "user:42") or as Corteza names it
// ("system:user", "system:role:42"): a role is the core's group.
func auditResource(s string) (typ, id string) {
	typ, id, _ = strings.Cut(strings.TrimPrefix(s, "system:"), ":")
	if typ == "role" {
		typ = "group"
	}
	if id == "*" {
		id = ""
	}
	return typ, id
}

// organisation is Corteza's types.Organisation.
type organisation struct {
	ID         int64      `json:"organisationID,string"`
	Name       string     `json:"name"`
	Handle     string     `json:"handle"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  *time.Time `json:"updatedAt,omitempty"`
	ArchivedAt *time.Time `json:"archivedAt,omitempty"`
	DeletedAt  *time.Time `json:"deletedAt,omitempty"`
}

func toOrganisation(o *usher.Organisation) *organisation {
	out := &organisation{ID: o.ID, Name: o.Name, Handle: o.Handle, CreatedAt: o.CreatedAt, ArchivedAt: o.ArchivedAt, DeletedAt: o.DeletedAt}
	if !o.UpdatedAt.IsZero() && !o.UpdatedAt.Equal(o.CreatedAt) {
		t := o.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}

func orgID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound("organisation")
	}
	return id, nil
}

func (h *Handler) listOrganisations(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	pg, err := p.paging()
	if err != nil {
		return err
	}
	// As Corteza's repository: live organisations whose name starts with
	// the query, by name.
	page, err := h.Orgs.List(r.Context(), usher.OrganisationFilter{Query: p.str("query"), Archived: usher.Exclude,
		Deleted: usher.Exclude, Sort: "name", Page: pg.request()})
	if err != nil {
		return err
	}
	out := make([]*organisation, 0, len(page.Items))
	for _, o := range page.Items {
		out = append(out, toOrganisation(o))
	}
	return respond(w, out)
}

func (h *Handler) createOrganisation(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	handle := p.str("handle")
	if handle == "" {
		// Corteza's client sends the name alone; usher's organisations
		// have a handle, made here from the name.
		handle = handleOf(p.str("name"))
	}
	o, err := h.Orgs.Create(r.Context(), handle, p.str("name"))
	if err != nil {
		return err
	}
	return respond(w, toOrganisation(o))
}

func (h *Handler) readOrganisation(w http.ResponseWriter, r *http.Request) error {
	id, err := orgID(r)
	if err != nil {
		return err
	}
	o, err := h.Orgs.Get(r.Context(), id, "")
	if err != nil {
		return err
	}
	return respond(w, toOrganisation(o))
}

func (h *Handler) updateOrganisation(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := orgID(r)
	if err != nil {
		return err
	}
	o, err := h.Orgs.Update(r.Context(), id, usher.OrganisationUpdate{Name: p.optStr("name"), Handle: p.optStr("handle")})
	if err != nil {
		return err
	}
	return respond(w, toOrganisation(o))
}

// orgFlag sets an organisation's archived or deleted flag.
func (h *Handler) orgFlag(archive bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := orgID(r)
		if err != nil {
			return err
		}
		yes := true
		in := usher.OrganisationUpdate{Deleted: &yes}
		if archive {
			in = usher.OrganisationUpdate{Archived: &yes}
		}
		if _, err := h.Orgs.Update(r.Context(), id, in); err != nil {
			return err
		}
		return ok(w)
	}
}

// handleOf makes a handle of a name: its letters and digits, lower case,
// the rest as single dashes.
func handleOf(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) && r < unicode.MaxASCII || unicode.IsDigit(r) && r < unicode.MaxASCII {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}
