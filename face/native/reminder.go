package native

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"usher"
	"usher/web"
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

// reminderJSON is the native representation of a reminder.
type reminderJSON struct {
	ID          int64           `json:"id"`
	Resource    string          `json:"resource"`
	Payload     json.RawMessage `json:"payload"`
	AssignedTo  int64           `json:"assigned_to"`
	CreatedBy   *int64          `json:"created_by"`
	RemindAt    *time.Time      `json:"remind_at"`
	SnoozeCount int             `json:"snooze_count"`
	DismissedAt *time.Time      `json:"dismissed_at"`
	DeliveredAt *time.Time      `json:"delivered_at"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func toReminderJSON(r *usher.Reminder) reminderJSON {
	payload := json.RawMessage(r.Payload)
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return reminderJSON{ID: r.ID, Resource: r.Resource, Payload: payload, AssignedTo: r.AssignedTo,
		CreatedBy: optionalID(r.CreatedBy), RemindAt: r.RemindAt, SnoozeCount: r.SnoozeCount,
		DismissedAt: r.DismissedAt, DeliveredAt: r.DeliveredAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (h *Handler) listReminders(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	f := usher.ReminderFilter{
		Resource: q.String("resource"), ScheduledFrom: q.Time("scheduled_from"), ScheduledUntil: q.Time("scheduled_until"),
		Page: idPage(q),
	}
	if s := q.String("assigned_to"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			q.Fail(web.Invalid("assigned_to", usher.CodeInvalidID, "must be a user id"))
		}
		f.AssignedTo = id
	}
	if b := q.Bool("exclude_dismissed"); b != nil {
		f.ExcludeDismissed = *b
	}
	if b := q.Bool("scheduled_only"); b != nil {
		f.ScheduledOnly = *b
	}
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Reminders.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, r, page, toReminderJSON, idCursor)
}

func (h *Handler) createReminder(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Resource   string          `json:"resource"`
		Payload    json.RawMessage `json:"payload"`
		AssignedTo int64           `json:"assigned_to"`
		RemindAt   *time.Time      `json:"remind_at"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	rem, err := h.Reminders.Create(r.Context(), usher.ReminderCreate{Resource: req.Resource, Payload: req.Payload,
		AssignedTo: req.AssignedTo, RemindAt: req.RemindAt})
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+strconv.FormatInt(rem.ID, 10))
	return web.WriteJSON(w, http.StatusCreated, toReminderJSON(rem))
}

func (h *Handler) getReminder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rem, err := h.Reminders.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toReminderJSON(rem))
}

func (h *Handler) updateReminder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Resource   *string         `json:"resource"`
		Payload    json.RawMessage `json:"payload"`
		AssignedTo *int64          `json:"assigned_to"`
		RemindAt   *time.Time      `json:"remind_at"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	rem, err := h.Reminders.Update(r.Context(), id, usher.ReminderUpdate{Resource: req.Resource, Payload: req.Payload,
		AssignedTo: req.AssignedTo, RemindAt: req.RemindAt})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toReminderJSON(rem))
}

func (h *Handler) dismissReminder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rem, err := h.Reminders.Dismiss(r.Context(), id)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toReminderJSON(rem))
}

func (h *Handler) snoozeReminder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		RemindAt time.Time `json:"remind_at"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	rem, err := h.Reminders.Snooze(r.Context(), id, req.RemindAt)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toReminderJSON(rem))
}

func (h *Handler) deleteReminder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := h.Reminders.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
