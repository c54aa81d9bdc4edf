package native_test

import (
	"net/http"
	"testing"

	"usher"
	"usher/connector/oidctest"
	"usher/core"
	"usher/core/coretest"
)

// TestProviderAddressWithCompatibilityCharacterNotLinked replays a
// takeover through a provider: the victim's account has no password and a
// confirmed address; a provider vouches, for the attacker's identity, for
// the same address written with a compatibility character (a Kelvin sign
// for K, a long s for s). Its key (usher.EmailKey) is the victim's
// address's, and strings.EqualFold took it for the same address, so the
// attacker's identity was linked to the victim's account and the callback
// opened a session as the victim. usher stores no such address; the
// provider's word for one is now taken as no address at all. The same
// with the Greek final sigma: λογος.example and λογοσ.example are two
// domains to IDNA (xn--oxapmbp, xn--oxapmbu), which two people may hold,
// but one to case folding. The address is linked only to the same mailbox,
// its domain compared as IDNA maps it, and now keys by its A-label too, so
// the attacker's address is their own: the log-in makes their account with
// it.
func TestProviderAddressWithCompatibilityCharacterNotLinked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		victim, vouched string
		own             bool // the vouched address is a mailbox of its own, which the attacker's account gets
	}{
		{"kate@corp.example", "\u212aate@corp.example", false},                                                 // KELVIN SIGN
		{"ross@corp.example", "ro\u017f\u017f@corp.example", false},                                            // LATIN SMALL LETTER LONG S
		{"nikos@\u03bb\u03bf\u03b3\u03bf\u03c2.example", "nikos@\u03bb\u03bf\u03b3\u03bf\u03c3.example", true}, // final sigma, sigma
	}
	for _, tt := range tests {
		t.Run(tt.vouched, func(t *testing.T) {
			t.Parallel()
			b, idp := setupMailAndOIDC(t)
			victim := b.mustCreate(t, map[string]any{"username": "victim", "email": tt.victim, "email_confirmed": true})
			idp.SetUser(oidctest.User{Subject: "mallory-1", Email: tt.vouched, EmailVerified: true, Username: "mallory"})
			res := b.oidcLogIn(t, idp)
			var s sessionBody
			res.decode(t, &s)
			// A compatibility character is no address usher stores: the
			// log-in goes on without one. The plain sigma's domain is
			// another: the attacker's account has it.
			want := ""
			if tt.own {
				want = tt.vouched
			}
			if res.status != http.StatusOK || s.User.ID == victim.ID || s.User.Email != want {
				t.Fatalf("the attacker's provider log-in: %d %s", res.status, res.body)
			}
			var u userBody
			b.call(t, req{method: "GET", path: "/v1/users/victim", token: b.adminTok}, http.StatusOK, &u)
			if len(u.Identities) != 0 {
				t.Fatalf("the attacker's identity was linked to the victim's account: %+v", u.Identities)
			}
		})
	}
}

// TestProviderALabelFindsItsAccount: a domain's A-label is the domain.
// The account holds anna@bücher.example, confirmed, and no password; its
// owner logs in through a provider that writes the domain as DNS does,
// anna@xn--bcher-kva.example. The address was keyed by its case-folded
// form, so the A-label found no account and the log-in made a second one,
// the address confirmed on both. A sign-up with the A-label was let
// through the same way. Keyed by the A-label, the address finds its
// account, and the sign-up is refused as the address is taken.
func TestProviderALabelFindsItsAccount(t *testing.T) {
	t.Parallel()
	b, idp := setupMailAndOIDC(t)
	anna := b.mustCreate(t, map[string]any{"username": "anna", "email": "anna@b\u00fccher.example", "email_confirmed": true})
	idp.SetUser(oidctest.User{Subject: "anna-1", Email: "anna@xn--bcher-kva.example", EmailVerified: true, Username: "anna"})
	res := b.oidcLogIn(t, idp)
	var s sessionBody
	res.decode(t, &s)
	if res.status != http.StatusOK || s.User.ID != anna.ID {
		t.Fatalf("the owner's provider log-in: %d %s, want a session as user %d", res.status, res.body, anna.ID)
	}
	var u userBody
	b.call(t, req{method: "GET", path: "/v1/users/anna", token: b.adminTok}, http.StatusOK, &u)
	if len(u.Identities) != 1 {
		t.Fatalf("the provider's identity is not linked to the account: %+v", u.Identities)
	}
	b.refused(t, req{method: "POST", path: "/v1/users", token: b.adminTok, body: map[string]any{
		"username": "anna2", "email": "ANNA@XN--BCHER-KVA.example"}}, http.StatusConflict, usher.CodeEmailTaken)
}

// TestAddressFoldedToAnotherUsernameRefused replays a log-in takeover: an
// account's username has an address's shape ("melissa@corp.example"), and
// a sign-up takes the address "melißa@corp.example". A log-in looks its
// login up as an address first, by the address's key, which folds ß to
// "ss": the sign-up was checked against usernames by the address merely
// lower-cased, was let through, and from then on Melissa's log-in by her
// username found the newcomer's account and answered 401.
func TestAddressFoldedToAnotherUsernameRefused(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{SignupEnabled: true}})
	const pw = "melissa's long passphrase"
	b.mustCreate(t, map[string]any{"username": "melissa@corp.example", "name": "Melissa", "password": pw})
	b.refused(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
		"username": "mallory", "email": "meli\u00dfa@corp.example", "password": "mallory's long passphrase"}},
		http.StatusConflict, usher.CodeEmailTaken)
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "melissa@corp.example", "password": pw}},
		http.StatusOK, nil)
}

// TestSignupDomainsComparedByKey replays a way past --signup-domains: the
// domain was compared lower-cased by strings.ToLower, which makes the
// dotted capital İ a plain i, so an address at another domain
// (corp-İt.example, an internationalised name anyone may register) passed
// as one at corp-it.example. Comparing by the address's key instead let
// straße.example pass as strasse.example and λογοσ.example as
// λογος.example: the key folds ß to ss and ς to σ, but to IDNA each pair is
// two domains, which two people may hold. Domains are now compared as
// domain names: ASCII ones but for case, others once IDNA maps them.
func TestSignupDomainsComparedByKey(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{SignupEnabled: true, SkipEmailConfirmation: true,
		SignupDomains: []string{"corp-it.example", "strasse.example", "\u03bb\u03bf\u03b3\u03bf\u03c2.example", "b\u00fccher.example"}}})
	tests := []struct {
		email  string
		status int
	}{
		{"mallory@corp-\u0130t.example", http.StatusUnprocessableEntity},
		{"mallory@evil.example", http.StatusUnprocessableEntity},
		{"mallory@corp-it.example.evil.example", http.StatusUnprocessableEntity},
		{"mallory@stra\u00dfe.example", http.StatusUnprocessableEntity},
		{"mallory@\u03bb\u03bf\u03b3\u03bf\u03c3.example", http.StatusUnprocessableEntity},
		{"erin@CORP-IT.example", http.StatusCreated},
		{"nikos@\u039b\u039f\u0393\u039f\u03c2.example", http.StatusCreated}, // upper-case, final sigma kept
		{"anna@xn--bcher-kva.example", http.StatusCreated},                   // the A-label of bücher
	}
	for i, tt := range tests {
		res := b.api.do(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
			"username": "u" + string(rune('a'+i)), "email": tt.email, "password": "a long enough passphrase"}})
		switch {
		case res.status != tt.status:
			t.Errorf("sign-up with %s: %d %s, want %d", tt.email, res.status, res.body, tt.status)
		case tt.status == http.StatusCreated:
		case len(res.problem(t).Errors) != 1 || res.problem(t).Errors[0].Code != usher.CodeDomainNotAllowed:
			t.Errorf("sign-up with %s: %s, want %s", tt.email, res.body, usher.CodeDomainNotAllowed)
		}
	}
}
