package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// knownDeviceWindow is how long a device stays known to an account after
// its latest sign-in: a sign-in from a device not seen for longer is
// mailed like one from a device never seen.
const knownDeviceWindow = 90 * 24 * time.Hour

// maxKnownDevices is how many devices an account is known by: a sign-in
// from a new one forgets those not seen for knownDeviceWindow and, past
// this many, those seen longest ago. Else each sign-in with a new product
// name (any User-Agent) kept a row for good.
const maxKnownDevices = 100

// newSignInMailsPerWindow bounds the mails telling an account of sign-ins
// from new devices within the policy's failure window: whoever has the
// password could else mail the account's owner at every sign-in, naming
// a new product each time. The sign-ins past it are still recorded
// (auth.login) and open their sessions, which the owner lists.
const newSignInMailsPerWindow = 10

// productName is the product a user agent that is no browser names
// (curl/8.5.0, python-requests/2.31): letters, digits, - and _, at most
// 40, starting with a letter; else none, and the mails name no device:
// whoever signs in writes the header, and the mails that tell the
// account's owner of the sign-in quote the name, so it must not carry
// words, a domain a mail reader makes a link of, or characters that turn
// text around.
func productName(agent string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(agent), "/")
	ok := name != "" && len(name) <= 40 && (name[0] >= 'A' && name[0] <= 'Z' || name[0] >= 'a' && name[0] <= 'z')
	for _, c := range name {
		ok = ok && (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')
	}
	if !ok {
		return ""
	}
	return name
}

// device describes the device a request came from, coarsely enough that
// a browser's updates and an address's changes within its network do not
// make it new: the browser and operating system families, and the
// client's /24 network (IPv4) or /48 (IPv6).
func (e *env) device(req usher.Request) (name, network string) {
	agent := e.userAgents().Parse(req.UserAgent)
	browser, os := string(agent.Browser()), string(agent.OS())
	if browser == "" {
		// Not a browser (curl, a library, an app): its product name, if
		// it is one; the mails about the account quote it.
		browser = productName(req.UserAgent)
	}
	name = browser
	if os != "" {
		name += " (" + os + ")"
	}
	addr, err := netip.ParseAddr(req.Address)
	if ap, perr := netip.ParseAddrPort(req.Address); err != nil && perr == nil {
		addr, err = ap.Addr(), nil
	}
	if err == nil {
		bits := 48
		if addr = addr.Unmap(); addr.Is4() {
			bits = 24
		}
		if p, err := addr.Prefix(bits); err == nil {
			network = p.String()
		}
	}
	return name, network
}

// deviceHash is what an account knows the request's device by: a hash of
// the account, the device's name and its network (device).
func (e *env) deviceHash(ctx context.Context, u *usher.User) string {
	name, network := e.device(requestOf(ctx))
	sum := sha256.Sum256([]byte(strconv.FormatInt(u.ID, 10) + "\x00" + name + "\x00" + network))
	return hex.EncodeToString(sum[:])
}

// deviceGetter is what reads a known device: the store, or a transaction
// of it.
type deviceGetter interface {
	KnownDeviceGet(ctx context.Context, userID int64, hash string) (time.Time, error)
}

// seenDevice returns, through q, when the user last signed in from the
// device of the hash, and whether that was within knownDeviceWindow of
// now: whether the account knows the device.
func seenDevice(ctx context.Context, q deviceGetter, userID int64, hash string, now time.Time) (last time.Time, known bool, err error) {
	last, err = q.KnownDeviceGet(ctx, userID, hash)
	switch {
	case errors.Is(err, usher.ErrNotFound):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, err
	}
	return last, now.Sub(last) <= knownDeviceWindow, nil
}

// knownDevice reports the request's device's hash when u knows it
// (seenDevice); "" when it does not, or it cannot be told.
func (e *env) knownDevice(ctx context.Context, u *usher.User) string {
	if u.Kind == usher.KindServiceAccount {
		return ""
	}
	hash := e.deviceHash(ctx, u)
	if _, known, err := seenDevice(ctx, e.store, u.ID, hash, e.now()); err != nil || !known {
		return ""
	}
	return hash
}

// forgetDevices forgets, within tx, the devices u has signed in from, but
// the one of the hash when u knows it: a new password's. Whoever had the
// old password could have signed in from many (any program's name is a
// device), and each counts the login's failures in a key of its own
// (loginLimits): a hundred devices made known were a hundred times the
// guesses at the new password. The owner's other devices are new again,
// and their next sign-ins are told as such.
func (e *env) forgetDevices(ctx context.Context, tx store.Tx, u *usher.User, keep string, now time.Time) error {
	last, known, err := seenDevice(ctx, tx, u.ID, keep, now)
	if err != nil {
		return err
	}
	// Every device: none was seen after now.
	if _, err := tx.KnownDeviceTrim(ctx, u.ID, now.Add(knownDeviceWindow), 0); err != nil {
		return err
	}
	if known {
		return tx.KnownDevicePut(ctx, u.ID, keep, last)
	}
	return nil
}

// noteSignIn records, within tx, the device u signs in from, and mails u
// when the account has been signed in to before but not from this device
// within knownDeviceWindow. The device is stored only as a hash of the
// account, the device's name and its network. It reports whether it
// queued a mail.
func (e *env) noteSignIn(ctx context.Context, tx store.Tx, u *usher.User, now time.Time) (bool, error) {
	if u.Kind == usher.KindServiceAccount {
		return false, nil
	}
	hash := e.deviceHash(ctx, u)
	_, known, err := seenDevice(ctx, tx, u.ID, hash, now)
	if err != nil {
		return false, err
	}
	// The first sign-in of an account is from a new device by definition:
	// nothing to tell. u is as its sign-in left it, its last sign-in the
	// one before this. The devices on record do not say it: a new password
	// forgets them (forgetDevices), and whoever completed a reset from a
	// device of their own would then sign in untold.
	mail := !known && notifiable(u) && u.LastSignInAt != nil
	if err := tx.KnownDevicePut(ctx, u.ID, hash, now); err != nil {
		return false, err
	}
	if !known {
		if _, err := tx.KnownDeviceTrim(ctx, u.ID, now.Add(-knownDeviceWindow), maxKnownDevices); err != nil {
			return false, err
		}
	}
	if mail {
		past, err := e.pastBound(ctx, tx, limit{key: "sign-in-mail:" + strconv.FormatInt(u.ID, 10), max: newSignInMailsPerWindow})
		if err != nil {
			return false, err
		}
		mail = !past
	}
	if !mail {
		return false, nil
	}
	req := requestOf(ctx)
	name, _ := e.device(req)
	return true, e.queueLetter(ctx, tx, "new_sign_in", u.Email, u, map[string]string{"At": mailTime(now),
		"Address": req.Address, "Device": name, "ResetLink": e.policy.PublicURL + "/forgot-password",
		"SessionsLink": e.policy.PublicURL + "/account/sessions", "TokensLink": e.policy.PublicURL + "/account/tokens"})
}
