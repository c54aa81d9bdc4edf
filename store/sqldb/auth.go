package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"usher"
)

// affected returns ErrNotFound when a statement changed no row.
func affected(res sql.Result) error {
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return usher.ErrNotFound
	}
	return nil
}

// CodeCreate inserts c.
func (c *conn) CodeCreate(ctx context.Context, code *usher.Code) error {
	err := c.writeRow(ctx, "CodeInsert", string(code.Kind), code.Hash, intOrNull(code.UserID), code.Data,
		code.EmailKey, c.d.TimeArg(code.ExpiresAt), c.timeArg(code.UsedAt), c.d.TimeArg(code.CreatedAt)).Scan(&code.ID)
	if err != nil {
		err = c.fail("CodeInsert", err)
		var ue *usher.UniqueError
		if errors.As(err, &ue) {
			ue.Field = "hash"
		}
		return err
	}
	return nil
}

// CodeByHash returns a code by kind and hash.
func (c *conn) CodeByHash(ctx context.Context, kind usher.CodeKind, hash []byte) (*usher.Code, error) {
	code := new(usher.Code)
	var k string
	err := c.queryRow(ctx, "CodeByHash", string(kind), hash).Scan(&code.ID, &k, &code.Hash,
		nullInt{&code.UserID}, &code.Data, &code.EmailKey, timeCol{&code.ExpiresAt}, nullTime{&code.UsedAt}, timeCol{&code.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, c.fail("CodeByHash", err)
	}
	code.Kind = usher.CodeKind(k)
	return code, nil
}

// CodeUse marks a code used if it still can be.
func (c *conn) CodeUse(ctx context.Context, id int64, at time.Time) error {
	res, err := c.exec(ctx, "CodeUse", c.d.TimeArg(at), id)
	if err != nil {
		return err
	}
	return affected(res)
}

// CodeSetUser records the account of an unused code.
func (c *conn) CodeSetUser(ctx context.Context, id, userID int64) error {
	res, err := c.exec(ctx, "CodeSetUser", userID, id)
	if err != nil {
		return err
	}
	return affected(res)
}

// CodeDeleteUser deletes the user's unused codes of a kind.
func (c *conn) CodeDeleteUser(ctx context.Context, userID int64, kind usher.CodeKind) error {
	_, err := c.exec(ctx, "CodeDeleteUser", userID, string(kind))
	return err
}

// CodeDeleteAddress deletes the user's unused codes of the kinds that were
// sent to the address with the key.
func (c *conn) CodeDeleteAddress(ctx context.Context, userID int64, emailKey string, kinds ...usher.CodeKind) error {
	for _, k := range kinds {
		if _, err := c.exec(ctx, "CodeDeleteAddress", userID, emailKey, string(k)); err != nil {
			return err
		}
	}
	return nil
}

// CodeDeleteExpired deletes the codes that expired before the time.
func (c *conn) CodeDeleteExpired(ctx context.Context, before time.Time) (int, error) {
	res, err := c.exec(ctx, "CodeDeleteExpired", c.d.TimeArg(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// scanMail reads the columns of {{mail_columns}}.
func scanMail(s scanner) (*usher.Mail, error) {
	m := new(usher.Mail)
	err := s.Scan(&m.ID, &m.Kind, &m.To, &m.Subject, &m.Body, timeCol{&m.CreatedAt}, &m.Attempts,
		timeCol{&m.NextAttemptAt}, nullTime{&m.SentAt}, &m.LastError, &m.Lang, nullInt{&m.UserID}, nullInt{&m.AuthorID})
	return m, err
}

// OutboxAdd inserts a mail.
func (c *conn) OutboxAdd(ctx context.Context, m *usher.Mail) error {
	// Uncounted, as every write of the outbox: a mail is no row a cache
	// holds, and a log-in from a new device queues one.
	err := c.quietRow(ctx, "OutboxInsert", m.Kind, m.To, m.Subject, m.Body, c.d.TimeArg(m.CreatedAt),
		m.Attempts, c.d.TimeArg(m.NextAttemptAt), m.Lang, intOrNull(m.UserID), intOrNull(m.AuthorID)).Scan(&m.ID)
	if err != nil {
		return c.fail("OutboxInsert", err)
	}
	return nil
}

// OutboxClaim claims due mails for a while.
func (c *conn) OutboxClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*usher.Mail, error) {
	// Uncounted: a mail's lease is no row a cache holds, and every
	// replica claims every few seconds.
	rows, err := c.quiet.QueryContext(ctx, c.queries["OutboxClaim"], c.d.TimeArg(now), c.d.TimeArg(leaseUntil), limit)
	if err != nil {
		return nil, c.fail("OutboxClaim", err)
	}
	defer rows.Close()
	var out []*usher.Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("OutboxClaim: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// OutboxSent records a delivery.
func (c *conn) OutboxSent(ctx context.Context, id int64, at time.Time) error {
	return c.quietAffected(ctx, "OutboxSent", c.d.TimeArg(at), id)
}

// OutboxFailed records a failed attempt.
func (c *conn) OutboxFailed(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	return c.quietAffected(ctx, "OutboxFailed", attempts, c.d.TimeArg(next), lastError, id)
}

// OutboxDrop deletes a mail given up.
func (c *conn) OutboxDrop(ctx context.Context, id int64) error {
	return c.quietAffected(ctx, "OutboxDrop", id)
}

// OutboxGet returns one mail.
func (c *conn) OutboxGet(ctx context.Context, id int64) (*usher.Mail, error) {
	m, err := scanMail(c.queryRow(ctx, "OutboxByID", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, c.fail("OutboxByID", err)
	}
	return m, nil
}

// KnownDeviceGet returns when the user last signed in from the device.
func (c *conn) KnownDeviceGet(ctx context.Context, userID int64, hash string) (time.Time, error) {
	var at time.Time
	err := c.queryRow(ctx, "KnownDeviceGet", userID, hash).Scan(timeCol{&at})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, usher.ErrNotFound
	}
	if err != nil {
		return time.Time{}, c.fail("KnownDeviceGet", err)
	}
	return at, nil
}

// KnownDeviceCount counts the devices the user signed in from.
func (c *conn) KnownDeviceCount(ctx context.Context, userID int64) (int, error) {
	return c.count(ctx, "KnownDeviceCount", userID)
}

// KnownDevicePut records a sign-in from the device at at. The write is
// uncounted (c.quiet): every log-in makes it, and no cache holds the
// devices, so counting it would end every kept token check at each log-in.
func (c *conn) KnownDevicePut(ctx context.Context, userID int64, hash string, at time.Time) error {
	if err := c.quietExec(ctx, "KnownDevicePut", userID, hash, c.d.TimeArg(at)); err != nil {
		return c.fail("KnownDevicePut", err)
	}
	return nil
}

// KnownDeviceTrim deletes a user's devices past the time or the count.
// The write is uncounted, as KnownDevicePut's.
func (c *conn) KnownDeviceTrim(ctx context.Context, userID int64, before time.Time, keep int) (int, error) {
	res, err := c.quiet.ExecContext(ctx, c.queries["KnownDeviceTrim"], userID, c.d.TimeArg(before), keep)
	if err != nil {
		return 0, c.fail("KnownDeviceTrim", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func scanThrottle(s scanner) (*usher.Throttle, error) {
	t := new(usher.Throttle)
	err := s.Scan(&t.Key, &t.Failures, timeCol{&t.WindowStart}, nullTime{&t.LockedUntil})
	return t, err
}

// ThrottleGet returns a key's throttle.
func (c *conn) ThrottleGet(ctx context.Context, key string) (*usher.Throttle, error) {
	t, err := scanThrottle(c.queryRow(ctx, "ThrottleGet", key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, c.fail("ThrottleGet", err)
	}
	return t, nil
}

// The throttles' writes are uncounted (c.quiet): no cache holds a
// throttle, and a log-in makes several.

// ThrottleFail counts a failure.
func (c *conn) ThrottleFail(ctx context.Context, key string, now, windowStart, remember time.Time) (*usher.Throttle, error) {
	var until any // NULL: the failure is remembered no longer than its window
	if !remember.IsZero() {
		until = c.d.TimeArg(remember)
	}
	t, err := scanThrottle(c.quietRow(ctx, "ThrottleFail", key, c.d.TimeArg(now), c.d.TimeArg(windowStart), until))
	if err != nil {
		return nil, c.fail("ThrottleFail", err)
	}
	return t, nil
}

// ThrottleLock locks a key.
func (c *conn) ThrottleLock(ctx context.Context, key string, until, remember time.Time) error {
	return c.quietExec(ctx, "ThrottleLock", c.d.TimeArg(until), key, c.d.TimeArg(remember))
}

// ThrottleRelock locks a key whose lock has ended, unless another did.
func (c *conn) ThrottleRelock(ctx context.Context, key string, now, until time.Time) error {
	return c.quietAffected(ctx, "ThrottleRelock", c.d.TimeArg(until), key, c.d.TimeArg(now))
}

// ThrottleUnlock ends the lock an attempt took.
func (c *conn) ThrottleUnlock(ctx context.Context, key string, until, now time.Time) error {
	return c.quietExec(ctx, "ThrottleUnlock", key, c.d.TimeArg(until), c.d.TimeArg(now))
}

// ThrottleClear forgets a key.
func (c *conn) ThrottleClear(ctx context.Context, key string) error {
	return c.quietExec(ctx, "ThrottleClear", key)
}

// ThrottleForgive takes back one failure.
func (c *conn) ThrottleForgive(ctx context.Context, key string) error {
	return c.quietExec(ctx, "ThrottleForgive", key)
}

// ThrottlePrune deletes throttles that no longer matter.
func (c *conn) ThrottlePrune(ctx context.Context, before, now time.Time) (int, error) {
	res, err := c.exec(ctx, "ThrottlePrune", c.d.TimeArg(before), c.d.TimeArg(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SigningKeyAdd inserts a signing key.
func (c *conn) SigningKeyAdd(ctx context.Context, k *usher.SigningKey) error {
	_, err := c.exec(ctx, "SigningKeyInsert", k.ID, k.Algorithm, k.Private, k.Public,
		c.d.TimeArg(k.CreatedAt), c.timeArg(k.RetiredAt), seconds(k.Lifetime))
	return err
}

// seconds is d in whole seconds, rounded up.
func seconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// SigningKeyList returns every signing key.
func (c *conn) SigningKeyList(ctx context.Context) ([]*usher.SigningKey, error) {
	rows, err := c.q.QueryContext(ctx, c.queries["SigningKeyList"])
	if err != nil {
		return nil, c.fail("SigningKeyList", err)
	}
	defer rows.Close()
	var out []*usher.SigningKey
	for rows.Next() {
		k := new(usher.SigningKey)
		var lifetime int64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public, timeCol{&k.CreatedAt}, nullTime{&k.RetiredAt},
			&lifetime, nullTime{&k.VerifyUntil}); err != nil {
			return nil, fmt.Errorf("SigningKeyList: %w", err)
		}
		k.Lifetime = time.Duration(lifetime) * time.Second
		out = append(out, k)
	}
	return out, rows.Err()
}

// SigningKeyRetire retires a key.
func (c *conn) SigningKeyRetire(ctx context.Context, id string, at, verifyUntil time.Time) error {
	res, err := c.exec(ctx, "SigningKeyRetire", c.d.TimeArg(at), id, c.d.TimeArg(verifyUntil))
	if err != nil {
		return err
	}
	return affected(res)
}

// SigningKeyLifetime raises a key's lifetime.
func (c *conn) SigningKeyLifetime(ctx context.Context, id string, lifetime time.Duration) error {
	_, err := c.exec(ctx, "SigningKeyLifetime", id, seconds(lifetime))
	return err
}

// SigningKeyDelete deletes a key.
func (c *conn) SigningKeyDelete(ctx context.Context, id string) error {
	res, err := c.exec(ctx, "SigningKeyDelete", id)
	if err != nil {
		return err
	}
	return affected(res)
}

// JWTEnd records the JWT's end, once.
func (c *conn) JWTEnd(ctx context.Context, id string, expiresAt time.Time) error {
	_, err := c.exec(ctx, "JWTEnd", id, c.d.TimeArg(expiresAt))
	return err
}

// JWTEnded reports whether the JWT's end is recorded.
func (c *conn) JWTEnded(ctx context.Context, id string) (bool, error) {
	n, err := c.count(ctx, "JWTEnded", id)
	return n > 0, err
}
