package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"usher"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// nullTime scans a nullable time column: unix microseconds in SQLite, a
// timestamp in PostgreSQL. Times come out in UTC.
type nullTime struct{ t **time.Time }

func (n nullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.t = nil
	case int64:
		t := time.UnixMicro(v).UTC()
		*n.t = &t
	case time.Time:
		t := v.UTC()
		*n.t = &t
	default:
		return fmt.Errorf("sqldb: cannot scan %T into a time", src)
	}
	return nil
}

// timeCol scans a NOT NULL time column.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	var p *time.Time
	if err := (nullTime{&p}).Scan(src); err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("sqldb: NULL in a NOT NULL time column")
	}
	*c.t = *p
	return nil
}

// jsonCol scans a JSON column (text in SQLite, jsonb in PostgreSQL) into v.
type jsonCol struct{ v any }

func (c jsonCol) Scan(src any) error {
	var data []byte
	switch s := src.(type) {
	case nil:
		return nil
	case string:
		data = []byte(s)
	case []byte:
		data = s
	default:
		return fmt.Errorf("sqldb: cannot scan %T as JSON", src)
	}
	if m, ok := c.v.(*map[string]string); ok && string(data) == "{}" {
		// Most users' metadata: what Unmarshal would give, without it.
		*m = map[string]string{}
		return nil
	}
	return json.Unmarshal(data, c.v)
}

// rawObject scans a JSON object column into its compact text, nil for the
// empty object: PostgreSQL's jsonb gives it back spaced, SQLite as stored.
type rawObject struct{ v *json.RawMessage }

func (c rawObject) Scan(src any) error {
	var data []byte
	switch s := src.(type) {
	case nil:
	case string:
		data = []byte(s)
	case []byte:
		data = s
	default:
		return fmt.Errorf("sqldb: cannot scan %T as JSON", src)
	}
	if string(data) == "{}" {
		// Most rows: nothing to compact.
		*c.v = nil
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return fmt.Errorf("sqldb: scan JSON: %w", err)
	}
	if *c.v = nil; buf.Len() > 0 && buf.String() != "{}" {
		*c.v = buf.Bytes()
	}
	return nil
}

// nullString scans a nullable text column into a string, "" for NULL.
type nullString struct{ s *string }

func (n nullString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.s = ""
	case string:
		*n.s = v
	case []byte:
		*n.s = string(v)
	default:
		return fmt.Errorf("sqldb: cannot scan %T into a string", src)
	}
	return nil
}

// nullInt scans a nullable integer column into an int64, 0 for NULL.
type nullInt struct{ i *int64 }

func (n nullInt) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.i = 0
	case int64:
		*n.i = v
	default:
		return fmt.Errorf("sqldb: cannot scan %T into an integer", src)
	}
	return nil
}

// timeArg encodes an optional time for the dialect.
func (c *conn) timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return c.d.TimeArg(*t)
}

// textOrNull passes "" as NULL, for optional unique columns.
func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// intOrNull passes 0 as NULL, for optional references.
func intOrNull(i int64) any {
	if i == 0 {
		return nil
	}
	return i
}

// jsonArg encodes v as JSON text.
func jsonArg(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqldb: encode JSON: %w", err)
	}
	return string(data), nil
}

// notFound turns sql.ErrNoRows into usher.ErrNotFound and names other
// errors' statement.
func (c *conn) notFound(name string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return usher.ErrNotFound
	}
	return c.fail(name, err)
}

// unique names the field of a unique violation.
func unique(err error, field string) error {
	var ue *usher.UniqueError
	if errors.As(err, &ue) {
		ue.Field = field
	}
	return err
}

// inclusion adds the condition an Inclusion puts on a nullable time column.
func inclusion(b *Builder, col string, in usher.Inclusion) {
	switch in {
	case usher.Default, usher.Exclude:
		b.Where(col + " IS NULL")
	case usher.Only:
		b.Where(col + " IS NOT NULL")
	}
}

// collect runs a built query and scans every row.
func collect[T any](ctx context.Context, c *conn, name string, b *Builder, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := c.q.QueryContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return nil, c.fail(name, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanID scans a row of one id.
func scanID(s scanner) (int64, error) {
	var id int64
	err := s.Scan(&id)
	return id, err
}

// collectNamed runs a named query and scans every row.
func collectNamed[T any](ctx context.Context, c *conn, name string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	b := &Builder{d: c.d}
	b.Write(c.queries[name])
	b.args = args
	return collect(ctx, c, name, b, scan)
}
