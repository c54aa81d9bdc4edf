// Package escape serves the user service of Escape (Ankyra's release
// tool) under /escape/api/v1: the log-in methods the Escape command-line
// client asks for, secret-token and OAuth log-ins with redeem polling,
// sign-up, teams, groups, plans, service accounts, users and the ACL look-up
// Escape's other services make. Callers bring their token as the
// X-Escape-Token header or cookie. Like every face it only translates: the
// core decides.
package escape

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"usher"
	"usher/web"
)

// UserService is what the face needs of the core's users.
type UserService interface {
	Get(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Me(ctx context.Context) (*usher.User, error)
	List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	// View is how much of a user the caller sees: the core withholds the
	// rest of a public profile.
	View(ctx context.Context, u *usher.User) usher.UserView
	Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error)
	Delete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Suspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unsuspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
	FinishExternalSignup(ctx context.Context, provider string, username, email *string) (*usher.User, error)
}

// AuthService is what the face needs of the core's authentication.
type AuthService interface {
	Authenticate(ctx context.Context, credential string, accept ...usher.TokenKind) (*usher.Principal, error)
	Login(ctx context.Context, login, password string) (*usher.Session, error)
	ServiceAccountLogin(ctx context.Context, username, token string) (*usher.Principal, error)
	Logout(ctx context.Context) error
	Methods(ctx context.Context) []usher.LoginMethod
	SignupMethods(ctx context.Context) ([]usher.LoginMethod, error)
	Signup(ctx context.Context, in usher.Signup) (*usher.User, error)
	Confirm(ctx context.Context, code string) (*usher.User, error)
	RequestPasswordReset(ctx context.Context, email string) error
	ResetPassword(ctx context.Context, token, pw string) error
	PasswordCheck(ctx context.Context, pw, username, email string) (*usher.PasswordQuality, error)
	StartDeviceLogin(ctx context.Context, provider string) (*usher.DeviceStart, error)
	DescribeDevice(ctx context.Context, userCode, viewer string) (*usher.DeviceInfo, error)
	FailOAuth(ctx context.Context, provider, state, reason string) error
	FinishOAuth(ctx context.Context, provider, state, code, binding string) (*usher.Session, string, error)
	Redeem(ctx context.Context, token string) (*usher.Session, error)
}

// GroupService is what the face needs of the core's groups: teams,
// internal groups, memberships and service accounts.
type GroupService interface {
	Create(ctx context.Context, in usher.GroupCreate) (*usher.Group, error)
	Get(ctx context.Context, ref usher.GroupRef) (*usher.Group, usher.Level, error)
	List(ctx context.Context, f usher.GroupFilter) (*usher.Page[*usher.Group], error)
	Update(ctx context.Context, ref usher.GroupRef, in usher.GroupUpdate) (*usher.Group, error)
	Delete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error)
	Members(ctx context.Context, ref usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.Membership], error)
	AddMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error)
	JoinGroup(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error)
	RemoveMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey) error
	UserGroups(ctx context.Context, key usher.UserKey, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	NamedGroups(ctx context.Context, key usher.UserKey) ([]*usher.Membership, error)
	CreateServiceAccount(ctx context.Context, team usher.GroupRef, username, name string) (*usher.User, error)
	ServiceAccounts(ctx context.Context, team usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.User], error)
	DeleteServiceAccount(ctx context.Context, team usher.GroupRef, account usher.UserKey) error
	ServiceAccountToken(ctx context.Context, team usher.GroupRef, account usher.UserKey, regenerate bool) (*usher.Token, string, error)
}

// PlanService is what the face needs of the core's plans.
type PlanService interface {
	List(ctx context.Context) ([]*usher.Plan, error)
	Create(ctx context.Context, p usher.Plan) (*usher.Plan, error)
	Update(ctx context.Context, name string, in usher.PlanUpdate) (*usher.Plan, error)
	Delete(ctx context.Context, name string) error
	Default(ctx context.Context) (string, error)
	Of(ctx context.Context, users []*usher.User) ([]*usher.Plan, error)
}

// AvatarService is what the face needs of the core's avatars.
type AvatarService interface {
	Get(ctx context.Context, key usher.UserKey) (*usher.Avatar, error)
	Set(ctx context.Context, key usher.UserKey, data []byte) (*usher.Avatar, error)
}

// Handler serves Escape's user service.
type Handler struct {
	Users   UserService
	Auth    AuthService
	Groups  GroupService
	Plans   PlanService
	Avatars AvatarService

	Log *slog.Logger
	// SecureCookies marks the X-Escape-Token cookie Secure: usher is
	// reached over HTTPS, if not directly then through a proxy.
	SecureCookies bool
	// PublicURL is where usher is reached from outside; the URLs the log-in
	// methods advertise start with it, and a browser's calls made with the
	// cookie must come from its origin.
	PublicURL string
	// Version is the running version, which GET /version/ answers.
	Version string

	origin *web.Origin
	doc    web.OpenAPIDoc
}

// Prefix is where the face lives: an Escape client is pointed at
// {public URL}/escape.
const Prefix = "/escape/api/v1"

// loginMethodsPath is where the Escape client asks for the log-in methods,
// under the address it is pointed at.
const loginMethodsPath = "/api/v1/auth/login-methods"

// tokenName is the header and the cookie that carry an Escape auth token.
const tokenName = "X-Escape-Token"

// route is one endpoint of the face. A public route needs no credential and
// ignores one: it is where credentials are made.
type route struct {
	method, pattern string
	handle          web.Handler
	public          bool
}

func (h *Handler) routes() []route {
	p := Prefix
	return []route{
		{"GET", loginMethodsPath, h.loginMethods, true},
		{"GET", p + "/auth/login-methods", h.loginMethods, true},
		{"POST", p + "/auth/login/", h.login, true},
		{"POST", p + "/auth/login/service-account/", h.loginServiceAccount, true},
		{"POST", p + "/auth/logout/", h.logout, false},
		{"GET", p + "/auth/signup-methods/", h.signupMethods, true},
		{"POST", p + "/auth/signup/", h.signup, true},
		{"POST", p + "/auth/confirm-email/", h.confirmEmail, true},
		{"POST", p + "/auth/password-reset/", h.requestReset, true},
		{"POST", p + "/auth/password-reset/confirm/", h.reset, true},
		{"POST", p + "/auth/password-quality/", h.passwordQuality, true},
		{"GET", p + "/auth/oauth/{provider}/start/", h.startOAuth, true},
		{"GET", p + "/auth/oauth/{provider}/callback/", h.finishOAuth, true},
		{"POST", p + "/auth/oauth/{provider}/finish-signup/", h.finishSignup, false},
		{"GET", p + "/auth/redeem/", h.redeem, true},
		{"GET", p + "/acl/user/", h.aclUser, false},
		{"GET", p + "/version/", h.version, true},
		{"GET", p + "/openapi.json", h.serveOpenAPI, true},

		{"GET", p + "/teams/", h.listTeams, false},
		{"POST", p + "/teams/", h.createTeam, false},
		{"GET", p + "/teams/{team}/", h.getTeam, false},
		{"PUT", p + "/teams/{team}/", h.updateTeam, false},
		{"DELETE", p + "/teams/{team}/", h.deleteTeam, false},
		{"POST", p + "/teams/{team}/users/{username}/", h.addTeamUser, false},
		{"DELETE", p + "/teams/{team}/users/{username}/", h.removeTeamUser, false},
		{"GET", p + "/teams/{team}/service-accounts/", h.listServiceAccounts, false},
		{"POST", p + "/teams/{team}/service-accounts/{username}/", h.createServiceAccount, false},
		{"DELETE", p + "/teams/{team}/service-accounts/{username}/", h.deleteServiceAccount, false},
		{"POST", p + "/teams/{team}/service-accounts/{username}/token/", h.mintServiceAccountToken, false},
		{"POST", p + "/teams/{team}/service-accounts/{username}/rotate/", h.rotateServiceAccountToken, false},

		{"GET", p + "/groups/", h.listGroups, false},
		{"GET", p + "/groups/{group}/users/", h.groupUsers, false},
		{"GET", p + "/groups/{group}/service-accounts/", h.groupServiceAccounts, false},
		{"POST", p + "/groups/add-user/", h.joinGroup, false},
		{"GET", p + "/groups/{group}/users/{username}/roles/", h.roles, false},
		{"PUT", p + "/groups/{group}/users/{username}/roles/", h.setRoles, false},

		{"GET", p + "/plans/", h.listPlans, false},
		{"POST", p + "/plans/", h.createPlan, false},
		{"PUT", p + "/plans/{plan}/", h.updatePlan, false},
		{"DELETE", p + "/plans/{plan}/", h.deletePlan, false},

		{"GET", p + "/user/", h.me, false},
		{"GET", p + "/users/", h.listUsers, false},
		{"GET", p + "/users/{username}/", h.getUser, false},
		{"PUT", p + "/users/{username}/", h.updateUser, false},
		{"DELETE", p + "/users/{username}/", h.deleteUser, false},
		{"PUT", p + "/users/{username}/plan/", h.setPlan, false},
		{"POST", p + "/users/{username}/activate/", h.activate, false},
		{"POST", p + "/users/{username}/deactivate/", h.deactivate, false},
		{"GET", p + "/users/{username}/avatar/", h.avatar, false},
		{"PUT", p + "/users/{username}/avatar/", h.setAvatar, false},
	}
}

// Routes lists the face's endpoints as "METHOD /pattern".
func (h *Handler) Routes() []string {
	var out []string
	for _, r := range h.routes() {
		out = append(out, r.method+" "+r.pattern)
	}
	return out
}

// exact is the ServeMux pattern of a route's path: a pattern ending in a
// slash would also take every path below it, so that DELETE
// /teams/alpha/anything/ deleted the team alpha; {$} makes it the path
// alone.
func exact(pattern string) string {
	if strings.HasSuffix(pattern, "/") {
		return pattern + "{$}"
	}
	return pattern
}

// Mount registers the face's endpoints on mux, and a fallback that answers
// every other path under /escape/api/v1 with a 404, or a 405 naming the
// methods the path is served with. The log-in methods are served at the
// root as well, for a client pointed at the bare host; the rest of /api/v1
// belongs to the Lenses face.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.origin = web.NewOrigin(h.PublicURL)
	var patterns []string
	for _, r := range h.routes() {
		handler := web.Adapt(r.handle, h.writeError)
		if !r.public {
			handler = h.authenticate(handler)
		}
		pattern := r.method + " " + exact(r.pattern)
		mux.Handle(pattern, handler)
		patterns = append(patterns, pattern)
	}
	mux.Handle(Prefix+"/", web.Fallback(patterns, h.writeError))
}

// cookie is the X-Escape-Token cookie a log-in sets; it is sent to the
// face only.
func (h *Handler) cookie() web.SessionCookie {
	return web.SessionCookie{Name: tokenName, Path: "/escape/", Secure: h.SecureCookies, Host: true}
}

// authenticate puts the caller's principal into the request context. The
// credential is the X-Escape-Token header, or else the cookie of that
// name: a session from a log-in, a personal token or a service account's
// token. Without one the caller is anonymous and the core refuses it.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if p != nil {
			r = r.WithContext(usher.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// tokenKinds are the tokens the face takes.
var tokenKinds = []usher.TokenKind{usher.TokenSession, usher.TokenPersonal, usher.TokenServiceAccount}

// principal returns who r comes from, or nil for nobody.
func (h *Handler) principal(r *http.Request) (*usher.Principal, error) {
	if token := r.Header.Get(tokenName); token != "" {
		return h.Auth.Authenticate(r.Context(), token, tokenKinds...)
	}
	token := h.cookie().Read(r)
	if token == "" {
		return nil, nil
	}
	// A browser sends the cookie with requests other sites make it send:
	// calls by cookie must come from usher's own origin.
	if err := h.origin.Check(r); err != nil {
		return nil, err
	}
	return h.Auth.Authenticate(r.Context(), token, tokenKinds...)
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// empty answers 200 with an empty body, as Escape's "Empty response".
func empty(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusOK)
	return nil
}
