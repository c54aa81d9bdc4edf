package core

import (
	"context"
	"strings"
	"sync"
	"unicode/utf8"

	zxcvbn "github.com/ccojocar/zxcvbn-go"
	"github.com/ccojocar/zxcvbn-go/frequency"

	"usher"
)

// commonCount is how many of the most common passwords are refused outright.
const commonCount = 10000

var commonOnce struct {
	sync.Once
	set map[string]bool
}

// commonPasswords returns the most common passwords, lower-cased, from the
// ranked list the strength estimator embeds. It is built once per process:
// the list is the same for every core.
func commonPasswords() map[string]bool {
	commonOnce.Do(func() {
		list := frequency.Lists["Passwords"].List
		commonOnce.set = make(map[string]bool, commonCount)
		for _, p := range list[:min(commonCount, len(list))] {
			commonOnce.set[strings.ToLower(p)] = true
		}
	})
	return commonOnce.set
}

// passwordProblems checks a new password against the policy: its length,
// the common-password list, the account's own username and e-mail address,
// and the strength estimate when the policy asks for one.
func (e *env) passwordProblems(pw, username, email string) []usher.FieldError {
	var c checker
	c.password(e.policy, pw)
	if len(c.errs) > 0 {
		return c.errs
	}
	lower := strings.ToLower(pw)
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	switch {
	case e.common[lower]:
		c.add("password", usher.CodeTooCommon, "is one of the most common passwords")
	case username != "" && lower == strings.ToLower(username):
		c.add("password", usher.CodeSameAsUsername, "must not be the username")
	case email != "" && (lower == strings.ToLower(email) || lower == local):
		c.add("password", usher.CodeSameAsEmail, "must not be the e-mail address")
	case e.policy.PasswordMinScore > 0:
		if score := zxcvbn.PasswordStrength(estimated(pw), []string{username, email}).Score; score < e.policy.PasswordMinScore {
			c.add("password", usher.CodeTooWeak, "is too easy to guess (strength %d of 4, %d needed)", score, e.policy.PasswordMinScore)
		}
	}
	return c.errs
}

// checkPassword returns the policy's objections to a new password as one
// KindUnprocessable error, or nil.
func (e *env) checkPassword(pw, username, email string) error {
	if problems := e.passwordProblems(pw, username, email); len(problems) > 0 {
		return usher.FieldErrors(problems...)
	}
	return nil
}

// maxEstimated bounds what the estimator reads: its cost grows faster than
// the length, and 64 characters are far past any score's threshold.
const maxEstimated = 64

// estimated is the part of a password the estimator reads.
func estimated(pw string) string {
	if r := []rune(pw); len(r) > maxEstimated {
		return string(r[:maxEstimated])
	}
	return pw
}

// feedback is what the estimator's matches say about a password, keyed by
// the pattern the weakest part of it matched.
var feedback = map[string]struct{ warning, suggestion string }{
	"dictionary": {"Common words and passwords are easy to guess.", "Add another word or two; uncommon words are better."},
	"spatial":    {"Keyboard patterns are easy to guess.", "Use a longer keyboard pattern with more turns, or none."},
	"repeat":     {"Repeats like \"aaa\" or \"abcabc\" are easy to guess.", "Avoid repeated words and characters."},
	"sequence":   {"Sequences like \"abc\" or \"6543\" are easy to guess.", "Avoid sequences."},
	"date":       {"Dates are often easy to guess.", "Avoid dates and years that are associated with you."},
}

// PasswordCheck says how good a candidate password would be for an account
// with the given username and e-mail address: the policy's objections, a
// strength score from 0 to 4 and advice. It stores nothing and needs no
// credential.
//
// Errors: RateLimited (when every CPU is estimating already).
func (a *Auth) PasswordCheck(ctx context.Context, pw, username, email string) (*usher.PasswordQuality, error) {
	q := &usher.PasswordQuality{Problems: a.passwordProblems(pw, username, email)}
	q.Acceptable = len(q.Problems) == 0
	if q.Problems == nil {
		q.Problems = []usher.FieldError{}
	}
	if !utf8.ValidString(pw) || len(pw) > a.policy.PasswordMaxBytes {
		// The estimator's cost grows with length; a refused password needs no estimate.
		return q, nil
	}
	// The estimate costs CPU; anyone may ask, so at most one per CPU runs,
	// and beyond that callers are told to come back.
	select {
	case a.estimates <- struct{}{}:
		defer func() { <-a.estimates }()
	default:
		return nil, errBusy()
	}
	m := zxcvbn.PasswordStrength(estimated(pw), []string{username, email})
	q.Score, q.CrackTime = m.Score, m.CrackTimeDisplay
	if q.Score < 3 {
		seen := map[string]bool{}
		for _, part := range m.MatchSequence {
			f, ok := feedback[part.Pattern]
			if !ok || seen[part.Pattern] {
				continue
			}
			seen[part.Pattern] = true
			if q.Warning == "" {
				q.Warning = f.warning
			}
			q.Suggestions = append(q.Suggestions, f.suggestion)
		}
		if len(q.Suggestions) == 0 {
			q.Suggestions = append(q.Suggestions, "Use a few words, avoid common phrases.")
		}
	}
	if q.Suggestions == nil {
		q.Suggestions = []string{}
	}
	return q, nil
}
