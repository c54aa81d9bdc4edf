package core

import "usher"

// nopObserver is the observer of a core given none.
type nopObserver struct{}

func (nopObserver) Login(string, string)         {}
func (nopObserver) Lockout(string)               {}
func (nopObserver) Mail(string, string)          {}
func (nopObserver) Script(usher.Trigger, string) {}
func (nopObserver) TokenCache(bool)              {}

// loginOutcome is the outcome an observer is told of a log-in that ended
// with err.
func loginOutcome(err error) string {
	if err == nil {
		return usher.LoginSucceeded
	}
	switch usher.ErrorKind(err) {
	case usher.KindUnauthenticated:
		return usher.LoginRejected
	case usher.KindForbidden:
		return usher.LoginRefused
	case usher.KindRateLimited:
		if usher.AsError(err).Code == usher.CodeTooManyAttempts {
			return usher.LoginLocked
		}
		return usher.LoginBusy
	case usher.KindInternal:
		return usher.LoginError
	}
	if usher.AsError(err).Code == usher.CodeScriptRefused {
		return usher.LoginRefused
	}
	return usher.LoginInvalid
}

// lockoutScope is the scope of a throttle key's lockout.
func lockoutScope(key string) string {
	if len(key) > 5 && key[:5] == "addr:" {
		return usher.LockoutAddress
	}
	return usher.LockoutAccount
}
