package usher

// Observer is told what the core does, for an operator's metrics. The core
// calls it inline: its methods must be quick, and safe for concurrent use.
type Observer interface {
	// Login is told that a log-in by method (LoginPassword, LoginOAuth,
	// LoginServiceAccount) ended with outcome (LoginSucceeded, …).
	Login(method, outcome string)
	// Lockout is told that failed log-ins locked a key: scope is
	// LockoutAccount or LockoutAddress.
	Lockout(scope string)
	// Mail is told that a delivery of a mail of kind was tried, and its
	// outcome: MailSent, MailFailed or MailGivenUp.
	Mail(kind, outcome string)
	// Script is told that a run of a script on trigger ended with outcome:
	// ok, refused or failed.
	Script(trigger Trigger, outcome string)
	// TokenCache is told whether a credential's check was answered from
	// the cache (hit) or read from the store.
	TokenCache(hit bool)
}

// The outcomes of a delivery an Observer is told of.
const (
	MailSent    = "sent"
	MailFailed  = "failed"   // to be tried again later
	MailGivenUp = "given_up" // failed, and not to be tried again: see ErrUndeliverable
)

// The methods of log-in an Observer is told of.
const (
	LoginPassword       = "password"        // a login and password
	LoginOAuth          = "oauth"           // an external provider's callback
	LoginServiceAccount = "service_account" // a service account's name and token
)

// The outcomes of a log-in an Observer is told of.
const (
	LoginSucceeded = "success"
	// LoginRejected: a wrong login or password, or a provider that did
	// not confirm the log-in.
	LoginRejected = "invalid_credentials"
	// LoginRefused: right credentials for an account that may not log in
	// (blocked, suspended, unconfirmed), a method switched off, or a
	// script that refused the log-in.
	LoginRefused = "refused"
	LoginLocked  = "locked"  // too many failures: the key is locked
	LoginBusy    = "busy"    // the password-hashing queue was full
	LoginInvalid = "invalid" // a malformed request: a missing field, an unknown provider or state
	LoginError   = "error"   // a server fault
)

// The scopes of a lockout.
const (
	LockoutAccount = "account" // the failures of one login or account
	LockoutAddress = "address" // the failures from one client address
)
