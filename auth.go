package usher

import "time"

// CodeKind is what a one-time code is for.
type CodeKind string

// The one-time code kinds.
const (
	CodeConfirm     CodeKind = "confirm"      // confirms a new account's e-mail address
	CodeReset       CodeKind = "reset"        // the password-reset token sent by mail
	CodeResetTicket CodeKind = "reset_ticket" // what a reset token is exchanged for
	CodeRedeem      CodeKind = "redeem"       // the command line's handle on an OAuth log-in
	CodeDevice      CodeKind = "device"       // the code a person types to take up a command line's log-in
	CodeOAuthState  CodeKind = "oauth_state"  // the state of an OAuth log-in in flight
	CodeExchange    CodeKind = "exchange"     // what a finished external log-in hands its client, for a session
)

// Code is a one-time secret: only its hash is stored. It expires, and it can
// be used once.
type Code struct {
	ID     int64
	Kind   CodeKind
	Hash   []byte
	UserID int64  // the account it is for, once known
	Data   string // sealed state the flow carries, if any
	// EmailKey is the key (see EmailKey) of the address a code sent by mail
	// went to. The code proves that address and no other: it is refused
	// once the account no longer has it.
	EmailKey  string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// Throttle counts failed attempts under one key (an account or a client
// address) and may lock the key for a while.
type Throttle struct {
	Key         string
	Failures    int
	WindowStart time.Time
	LockedUntil *time.Time
}

// SigningKey is a key that signs JWTs. The private half is sealed at rest.
type SigningKey struct {
	ID        string // the JWT "kid"
	Algorithm string // "EdDSA"
	Private   string // sealed
	Public    []byte
	CreatedAt time.Time
	RetiredAt *time.Time // no longer signs; still verifies until its JWTs expire
	// Lifetime is the longest JWT lifetime of the processes that sign or
	// may sign with the key: the server records its own at start.
	Lifetime time.Duration
	// VerifyUntil, set when the key is retired, is when the last JWT it
	// may have signed expires; nil for keys retired before it was kept.
	VerifyUntil *time.Time
}

// SigningKeyState is a signing key as an operator sees it: no private half,
// whether it is the one that signs, and until when a retired key verifies.
type SigningKeyState struct {
	ID            string
	Algorithm     string
	CreatedAt     time.Time
	RetiredAt     *time.Time
	VerifiesUntil *time.Time
	Current       bool
}

// Session is the outcome of a log-in: a session token, its text (shown once)
// and the account.
type Session struct {
	Token  *Token
	Secret string
	User   *User
}

// Signup is the input to sign up.
type Signup struct {
	Username string
	Email    string
	Password string
	Name     string
	// Handle is the account's handle (Corteza's sign-up takes one); empty,
	// one is made from its names.
	Handle string
}

// PasswordQuality is the verdict on a candidate password.
type PasswordQuality struct {
	Score       int // 0 (guessable in moments) to 4 (very unlikely to be guessed)
	Acceptable  bool
	Problems    []FieldError // the policy's objections; empty when acceptable
	Warning     string       // the strength estimator's warning, if any
	Suggestions []string
	// CrackTime is the estimator's guess of an offline attack's time.
	CrackTime string
}

// JWTClaims is what usher puts in the JWTs it signs.
type JWTClaims struct {
	Subject        int64 // the user id
	Kind           PrincipalKind
	Scopes         []string
	ImpersonatorID int64
	// Parent is the id of the session or token the JWT was made with (an
	// impersonation's: the administrator's); the JWT works while it does.
	Parent    int64
	IssuedAt  time.Time
	ExpiresAt time.Time
	ID        string
	// AsSession reports that the JWT was made with its account's own
	// session and expires with it, as Corteza's log-in JWT does: it is
	// that session in another form, bounded as the session is. Found
	// when the JWT is verified; not a claim.
	AsSession bool
	// Retired reports that a retired key verified the JWT, within its
	// window: the JWT expires when the window ends, and is never its
	// session in another form, which whoever read the key from a leaked
	// backup could forge for any session. Not a claim.
	Retired bool
}

// ResetTicket is what a reset token is exchanged for: a short-lived,
// single-use ticket that sets the new password, and whose account it is.
type ResetTicket struct {
	Ticket    string
	ExpiresAt time.Time
	User      *User
}

// OAuthStart is how a browser's external log-in begins: where to send the
// browser, and a binding the browser must carry back (in a cookie) to the
// callback, so that a log-in cannot be finished in another browser than the
// one that started it.
type OAuthStart struct {
	AuthURL   string
	Binding   string
	ExpiresAt time.Time
}

// DeviceStart is how a command-line client's external log-in begins: the
// person opens VerificationURL in a browser and types UserCode there; the
// client polls RedeemURL with RedeemToken until the log-in completes.
type DeviceStart struct {
	VerificationURL string
	UserCode        string
	RedeemToken     string
	RedeemURL       string
	ExpiresAt       time.Time
}

// DeviceInfo describes the client that started a device log-in, for the
// page where the person confirms it.
type DeviceInfo struct {
	Provider string
	Address  string
	// Device is the client's browser and system, or its product's name;
	// empty for a client usher does not recognise.
	Device    string
	StartedAt time.Time
	// Approval is the one-time nonce that approves the log-in
	// (Auth.ApproveDevice): a face carries it in the page the person
	// confirms the client on, and nowhere else.
	Approval string
}
