package pages

import (
	"net/http"
	"strconv"

	"usher"
	"usher/web"
)

// impersonation is the cookie that holds an administrator's impersonation:
// the JWT the core issued, which records the administrator. While it is
// set, the pages act as the impersonated user under a banner; the
// administrator's own session cookie stays, and the native API still
// sees the administrator.
func (h *Handler) impersonation() web.SessionCookie {
	return web.ImpersonationCookie(h.SecureCookies)
}

// impersonate starts acting as the user: audited by the core under both.
func (h *Handler) impersonate(w http.ResponseWriter, r *http.Request) error {
	ref, err := h.userForm(w, r)
	if ref == nil {
		return err
	}
	key := *ref
	jwt, claims, _, err := h.Auth.Impersonate(r.Context(), key, 0)
	if err != nil {
		return err
	}
	// The one it replaces ends, whatever it acts as now (refused while
	// its user is blocked, it would act again once unblocked).
	if err := h.endImpersonation(w, r); err != nil {
		return err
	}
	h.impersonation().Set(w, r, jwt, &claims.ExpiresAt)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// stopImpersonating ends the impersonation — its JWT is refused from then
// on, wherever a copy of it is — and returns the administrator to the
// user's page in the console. The cookie goes whatever the core answers.
func (h *Handler) stopImpersonating(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkForm(r); err != nil {
		return err
	}
	to := "/admin/users"
	if p := usher.PrincipalFrom(r.Context()); p.Impersonator != nil {
		to = "/admin/users/" + strconv.FormatInt(p.UserID(), 10)
	}
	err := h.endImpersonation(w, r)
	if err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// endImpersonation ends the impersonation the browser's cookie holds, if
// any, whatever it acts as now (refused while its user is blocked, it
// would act again once unblocked), and clears the cookie whatever the
// core answers. An impersonation that has expired, or that does not
// verify, acts as no one already.
func (h *Handler) endImpersonation(w http.ResponseWriter, r *http.Request) error {
	jwt := h.impersonation().Read(r)
	if jwt == "" {
		return nil
	}
	h.impersonation().Clear(w, r)
	if err := h.Auth.EndImpersonation(r.Context(), jwt); err != nil && usher.ErrorKind(err) != usher.KindUnauthenticated &&
		usher.ErrorKind(err) != usher.KindInvalid {
		return err
	}
	return nil
}
