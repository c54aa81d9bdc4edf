package usher

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sort names the order of a list of groups, applications or organisations:
// a column, descending after a leading "-" ("name", "-created_at"). Rows
// equal in the column follow in the same direction by id. Empty is the
// list's default, by id ascending. Names and handles sort ignoring case.
type Sort string

// The columns each list sorts by.
var (
	GroupSorts        = []string{"id", "name", "handle", "created_at", "updated_at"}
	ApplicationSorts  = []string{"id", "name", "created_at", "updated_at"}
	OrganisationSorts = []string{"id", "name", "handle", "created_at", "updated_at"}
)

// Column is the column s sorts by: "id" when s is empty.
func (s Sort) Column() string {
	if c := strings.TrimPrefix(string(s), "-"); c != "" {
		return c
	}
	return "id"
}

// Desc reports whether s descends.
func (s Sort) Desc() bool { return strings.HasPrefix(string(s), "-") }

// In reports whether s sorts by one of the columns.
func (s Sort) In(columns []string) bool {
	return slices.Contains(columns, strings.TrimPrefix(string(s), "-"))
}

// Cursor is the cursor of a row under s: its id and the sort column's
// value as text, a name or a handle as it is, a time as unix
// microseconds, none under id.
func (s Sort) Cursor(id int64, name, handle string, created, updated time.Time) Cursor {
	c := Cursor{ID: id}
	switch s.Column() {
	case "name":
		c.Key = name
	case "handle":
		c.Key = handle
	case "created_at":
		c.Key = strconv.FormatInt(created.UnixMicro(), 10)
	case "updated_at":
		c.Key = strconv.FormatInt(updated.UnixMicro(), 10)
	}
	return c
}

// Cursor is the group's cursor in a list sorted by s.
func (g *Group) Cursor(s Sort) Cursor {
	return s.Cursor(g.ID, g.Name, g.Handle, g.CreatedAt, g.UpdatedAt)
}

// Cursor is the application's cursor in a list sorted by s.
func (a *Application) Cursor(s Sort) Cursor {
	return s.Cursor(a.ID, a.Name, "", a.CreatedAt, a.UpdatedAt)
}

// Cursor is the organisation's cursor in a list sorted by s.
func (o *Organisation) Cursor(s Sort) Cursor {
	return s.Cursor(o.ID, o.Name, o.Handle, o.CreatedAt, o.UpdatedAt)
}
