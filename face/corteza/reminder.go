package corteza

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"usher"
)

// ReminderService is what the face needs of the core's reminders.
type ReminderService interface {
	Create(ctx context.Context, in usher.ReminderCreate) (*usher.Reminder, error)
	Get(ctx context.Context, id int64) (*usher.Reminder, error)
	List(ctx context.Context, f usher.ReminderFilter) (*usher.Page[*usher.Reminder], error)
	Update(ctx context.Context, id int64, in usher.ReminderUpdate) (*usher.Reminder, error)
	Dismiss(ctx context.Context, id int64) (*usher.Reminder, error)
	Snooze(ctx context.Context, id int64, until time.Time) (*usher.Reminder, error)
	Delete(ctx context.Context, id int64) error
}

// reminder is Corteza's types.Reminder.
type reminder struct {
	ID          int64           `json:"reminderID,string"`
	Resource    string          `json:"resource"`
	Payload     json.RawMessage `json:"payload"`
	SnoozeCount int             `json:"snoozeCount"`
	AssignedTo  int64           `json:"assignedTo,string"`
	AssignedBy  int64           `json:"assignedBy,string"`
	AssignedAt  time.Time       `json:"assignedAt"`
	DismissedBy int64           `json:"dismissedBy,string"`
	DismissedAt *time.Time      `json:"dismissedAt"`
	RemindAt    *time.Time      `json:"remindAt"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   *time.Time      `json:"updatedAt,omitempty"`
}

func toReminder(m *usher.Reminder) *reminder {
	out := &reminder{ID: m.ID, Resource: m.Resource, Payload: json.RawMessage(m.Payload), SnoozeCount: m.SnoozeCount,
		AssignedTo: m.AssignedTo, AssignedBy: m.CreatedBy, AssignedAt: m.CreatedAt, DismissedAt: m.DismissedAt,
		RemindAt: m.RemindAt, CreatedAt: m.CreatedAt}
	if len(out.Payload) == 0 {
		out.Payload = json.RawMessage("null")
	}
	if m.DismissedAt != nil {
		out.DismissedBy = m.AssignedTo
	}
	if !m.UpdatedAt.IsZero() && !m.UpdatedAt.Equal(m.CreatedAt) {
		t := m.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}

// reminderFilter is the filter a reminder list echoes, as Corteza's
// types.ReminderFilter: its ids are numbers.
type reminderFilter struct {
	ReminderID     []int64    `json:"reminderID"`
	Resource       string     `json:"resource"`
	AssignedTo     int64      `json:"assignedTo"`
	ScheduledFrom  *time.Time `json:"scheduledFrom"`
	ScheduledUntil *time.Time `json:"scheduledUntil"`
	ExcludeDismiss bool       `json:"excludeDismissed"`
	ScheduledOnly  bool       `json:"scheduledOnly"`
	Sort           string     `json:"sort"`
	paging
}

// timeParam reads a time parameter in RFC 3339.
func timeParam(p *params, name string) (*time.Time, error) {
	s := p.str(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid " + name + ": " + s}
	}
	return &t, nil
}

func (h *Handler) listReminders(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	f := reminderFilter{Resource: p.str("resource"), ExcludeDismiss: p.boolean("excludeDismissed"),
		ScheduledOnly: p.boolean("scheduledOnly"), Sort: p.str("sort")}
	if f.ReminderID, err = ids(p.strs("reminderID")); err != nil {
		return err
	}
	if f.ScheduledFrom, err = timeParam(p, "scheduledFrom"); err != nil {
		return err
	}
	if f.ScheduledUntil, err = timeParam(p, "scheduledUntil"); err != nil {
		return err
	}
	if f.paging, err = p.paging(); err != nil {
		return err
	}
	rf := usher.ReminderFilter{Resource: f.Resource, ResourcePrefix: true, ScheduledFrom: f.ScheduledFrom,
		ExcludeDismissed: f.ExcludeDismiss, ScheduledOnly: f.ScheduledOnly, Page: f.request()}
	if f.ScheduledUntil != nil {
		// Corteza's scheduledUntil is inclusive, the core's exclusive; the
		// store keeps microseconds.
		until := f.ScheduledUntil.Add(time.Microsecond)
		rf.ScheduledUntil = &until
	}
	if rf.AssignedTo, err = p.id("assignedTo"); err != nil {
		return err
	}
	f.AssignedTo = rf.AssignedTo
	want := f.ReminderID
	page, err := h.Reminders.List(r.Context(), rf)
	if err != nil {
		return err
	}
	f.Count = max(page.Total, 0)
	var set []*reminder
	for _, m := range page.Items {
		if len(want) == 0 || len(intersect(want, []int64{m.ID})) == 1 {
			set = append(set, toReminder(m))
		}
	}
	if len(want) > 0 {
		f.Count = len(set)
	}
	// Corteza's reminderSetPayload leaves an empty set out ("set,omitempty").
	return respond(w, struct {
		Filter reminderFilter `json:"filter"`
		Set    []*reminder    `json:"set,omitempty"`
	}{f, set})
}

// reminderID reads the reminderID path value.
func reminderID(p *params) (int64, error) {
	id, err := p.id("reminderID")
	if err != nil || id == 0 {
		return 0, errNotFound("reminder")
	}
	return id, nil
}

func (h *Handler) createReminder(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	in := usher.ReminderCreate{Resource: p.str("resource"), Payload: p.raw("payload")}
	if in.AssignedTo, err = p.id("assignedTo"); err != nil {
		return err
	}
	if in.RemindAt, err = timeParam(p, "remindAt"); err != nil {
		return err
	}
	m, err := h.Reminders.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return respond(w, toReminder(m))
}

func (h *Handler) readReminder(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := reminderID(p)
	if err != nil {
		return err
	}
	m, err := h.Reminders.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return respond(w, toReminder(m))
}

func (h *Handler) updateReminder(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := reminderID(p)
	if err != nil {
		return err
	}
	in := usher.ReminderUpdate{Resource: p.optStr("resource"), Payload: p.raw("payload")}
	if p.has("assignedTo") {
		to, err := p.id("assignedTo")
		if err != nil {
			return err
		}
		in.AssignedTo = &to
	}
	if in.RemindAt, err = timeParam(p, "remindAt"); err != nil {
		return err
	}
	m, err := h.Reminders.Update(r.Context(), id, in)
	if err != nil {
		return err
	}
	return respond(w, toReminder(m))
}

func (h *Handler) deleteReminder(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := reminderID(p)
	if err != nil {
		return err
	}
	if err := h.Reminders.Delete(r.Context(), id); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) dismissReminder(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := reminderID(p)
	if err != nil {
		return err
	}
	if _, err := h.Reminders.Dismiss(r.Context(), id); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) snoozeReminder(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := reminderID(p)
	if err != nil {
		return err
	}
	until, err := timeParam(p, "remindAt")
	if err != nil {
		return err
	}
	if until == nil {
		return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "remindAt is required"}
	}
	if _, err := h.Reminders.Snooze(r.Context(), id, *until); err != nil {
		return err
	}
	return ok(w)
}
