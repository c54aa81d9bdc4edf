package core

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// deviceState is what a device log-in's user code stands for, sealed.
type deviceState struct {
	Provider string `json:"p"`
	Redeem   int64  `json:"r"`
	Address  string `json:"a"`
	// Device is the client as env.device describes it (browser and system
	// families, or a product's one-word name), never the User-Agent as
	// sent: the page where a person decides whether the client is theirs
	// shows it, and whoever starts a log-in writes that header.
	Device    string    `json:"d"`
	StartedAt time.Time `json:"t"`
}

// deviceApproval is what an approval nonce holds, sealed: the user code it
// was issued for, and a digest of the viewer it was issued to (the browser
// shown the client: see DescribeDevice). The code is used once, and the
// nonce with it.
type deviceApproval struct {
	Code   int64  `json:"c"`
	Viewer []byte `json:"v"`
}

// viewerDigest is what a nonce keeps of its viewer, the browser's secret
// and where the request came from (an IPv6 address by its /64): no
// secret of the browser's travels in the page, even sealed. The address
// holds where the secret may be planted — over plain HTTP a sibling host
// sets the form token's cookie of its choosing in another's browser, and
// would describe the code with the same one — unless both browsers share
// an address.
func viewerDigest(ctx context.Context, viewer string) []byte {
	d := sha256.Sum256([]byte("usher device viewer\x00" + viewer + "\x00" + addressKey(usher.RequestFrom(ctx).Address)))
	return d[:]
}

// userCodeAlphabet has no letters that read alike (0/O, 1/I/L, 5/S, 8/B).
const userCodeAlphabet = "ACDEFGHJKMNPQRTUVWXYZ234679"

// newUserCode returns a code of 8 characters, printed as XXXX-XXXX.
func newUserCode() string {
	raw := make([]byte, 8)
	for i := range raw {
		raw[i] = userCodeAlphabet[randomIndex(len(userCodeAlphabet))]
	}
	return string(raw[:4]) + "-" + string(raw[4:])
}

// normalUserCode reads a user code as a person may type it.
func normalUserCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// deviceDonePage is the page a device log-in's browser lands on once the
// provider has confirmed the person: the hosted page that sends them back
// to their terminal, not the session as JSON.
const deviceDonePage = "/device/done"

// deviceStartLimit bounds the device log-ins one address may start within
// the policy's failure window: each writes two codes, and anyone may start
// one (Escape's log-in methods start one per provider).
const deviceStartLimit = 30

// StartDeviceLogin begins a command-line client's log-in with an external
// provider (the flow of RFC 8628): it returns a short user code for the
// person to type at the verification page, and a redeem token the client
// polls with. One client address may start deviceStartLimit of them within
// the policy's FailureWindow.
//
// Errors: NotFound (no such provider), RateLimited.
func (a *Auth) StartDeviceLogin(ctx context.Context, provider string) (*usher.DeviceStart, error) {
	if _, err := a.connector(ctx, provider); err != nil {
		return nil, err
	}
	req := requestOf(ctx)
	if addr := addressKey(req.Address); addr != "" {
		if _, err := a.reserve(ctx, []limit{{key: "device_start:" + addr, max: deviceStartLimit}}); err != nil {
			if e := usher.AsError(err); e.Kind == usher.KindRateLimited {
				return nil, &usher.Error{Kind: usher.KindRateLimited, Code: usher.CodeTooManyAttempts,
					Message: "too many command-line log-ins started from this address; try again later", RetryAfter: e.RetryAfter}
			}
			return nil, err
		}
	}
	out := &usher.DeviceStart{}
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		// The redeem code names its provider, which Redeem asks again.
		redeem, rc, err := a.issueCode(ctx, tx, usher.CodeRedeem, 0, "", a.policy.RedeemTTL, provider)
		if err != nil {
			return err
		}
		device, _ := a.device(req)
		data, err := json.Marshal(deviceState{Provider: provider, Redeem: rc.ID, Address: req.Address,
			Device: device, StartedAt: a.now()})
		if err != nil {
			return err
		}
		code := newUserCode()
		c := &usher.Code{Kind: usher.CodeDevice, Hash: hashCode(normalUserCode(code)), Data: a.seal.Seal(data),
			ExpiresAt: rc.ExpiresAt, CreatedAt: rc.CreatedAt}
		if err := tx.CodeCreate(ctx, c); err != nil {
			return err
		}
		*out = usher.DeviceStart{VerificationURL: a.policy.PublicURL + "/v1/auth/device", UserCode: code,
			RedeemToken: redeem, RedeemURL: a.policy.PublicURL + "/v1/auth/redeem", ExpiresAt: rc.ExpiresAt}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deviceLimit bounds the user codes one address may try within the policy's
// window: a code has 40 bits and lives minutes.
const deviceLimit = 10

// DescribeDevice describes the client that started the command-line log-in
// a person's user code stands for, so that the person can check it is
// theirs, and issues the approval nonce ApproveDevice needs. A face gets the
// nonce only here: it shows the person the client and carries the nonce in
// the form they confirm with, so that no single request approves a log-in.
// The nonce is the viewer's alone: viewer is a secret of the browser the
// client is shown to (its form token), which ApproveDevice is given again,
// from the same address — else whoever started the log-in, knowing the
// code, would describe it in a browser of their own and hand the nonce to
// another's, whose one post approved it. A nonce issued to an empty viewer
// approves nothing.
//
// Errors: NotFound (an unknown, used or expired code), RateLimited.
func (a *Auth) DescribeDevice(ctx context.Context, userCode, viewer string) (*usher.DeviceInfo, error) {
	limits, err := a.reserveDevice(ctx)
	if err != nil {
		return nil, err
	}
	c, st, err := a.deviceCode(ctx, a.store, userCode)
	if err != nil {
		return nil, err
	}
	a.forgive(ctx, limits)
	approval := deviceApproval{Code: c.ID}
	if viewer != "" {
		approval.Viewer = viewerDigest(ctx, viewer)
	}
	nonce, err := json.Marshal(approval)
	if err != nil {
		return nil, err
	}
	return &usher.DeviceInfo{Provider: st.Provider, Address: st.Address, Device: st.Device, StartedAt: st.StartedAt,
		Approval: a.seal.Seal(nonce)}, nil
}

// ApproveDevice takes up, in the person's browser, the command-line log-in
// their user code stands for, with the approval nonce DescribeDevice issued
// for that code to the same viewer: it uses the code up and begins the browser's log-in with
// the provider, whose completion hands the account to the client's redeem
// token; the browser then lands on deviceDonePage, signed in too.
// Without the code's nonce the code is left as it was.
//
// Errors: NotFound (an unknown, used or expired code), Forbidden (no nonce,
// another code's, or another viewer's: device_not_approved), RateLimited.
func (a *Auth) ApproveDevice(ctx context.Context, userCode, approval, viewer string) (*usher.OAuthStart, error) {
	limits, err := a.reserveDevice(ctx)
	if err != nil {
		return nil, err
	}
	var out *usher.OAuthStart
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		c, st, err := a.deviceCode(ctx, tx, userCode)
		if err != nil {
			return err
		}
		if !a.approves(ctx, approval, c.ID, viewer) {
			return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeDeviceNotApproved,
				Message: "confirm the client on the device page before continuing"}
		}
		if err := tx.CodeUse(ctx, c.ID, a.now()); err != nil {
			return errCodeNotFound(usher.CodeDevice)
		}
		if _, err := a.connector(ctx, st.Provider); err != nil {
			return err
		}
		out, err = a.beginOAuth(ctx, tx, st.Provider, deviceDonePage, st.Redeem, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	a.forgive(ctx, limits)
	return out, nil
}

// reserveDevice counts a try of a user code against the client's address
// and returns the limits to forgive when the try succeeds: only wrong codes
// (and approvals without their nonce) count.
func (a *Auth) reserveDevice(ctx context.Context) ([]limit, error) {
	addr := addressKey(usher.RequestFrom(ctx).Address)
	if addr == "" {
		return nil, nil
	}
	limits := []limit{{key: "device:" + addr, max: deviceLimit}}
	if _, err := a.reserve(ctx, limits); err != nil {
		return nil, err
	}
	return limits, nil
}

// deviceCode finds the live device code a user code stands for, and opens
// its state.
func (a *Auth) deviceCode(ctx context.Context, tx store.Tx, userCode string) (*usher.Code, *deviceState, error) {
	code := normalUserCode(userCode)
	if len(code) != 8 {
		return nil, nil, errCodeNotFound(usher.CodeDevice)
	}
	c, err := liveCode(ctx, tx, usher.CodeDevice, code, a.now())
	if err != nil {
		return nil, nil, err
	}
	data, err := a.seal.Open(c.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("device state: %w", err)
	}
	st := new(deviceState)
	if err := json.Unmarshal(data, st); err != nil {
		return nil, nil, fmt.Errorf("device state: %w", err)
	}
	return c, st, nil
}

// approves tells whether approval is the nonce DescribeDevice issued for
// the code to the viewer, at the request's address.
func (a *Auth) approves(ctx context.Context, approval string, code int64, viewer string) bool {
	if approval == "" || viewer == "" {
		return false
	}
	data, err := a.seal.Open(approval)
	if err != nil {
		return false
	}
	var n deviceApproval
	return json.Unmarshal(data, &n) == nil && n.Code == code && subtle.ConstantTimeCompare(n.Viewer, viewerDigest(ctx, viewer)) == 1
}
