// Package native is usher's own HTTP API under /v1: JSON in and out, errors
// as RFC 9457 problem details, cursor pagination. Like every face it only
// translates: the core decides.
package native

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// UserService is what the face needs of the core's users.
type UserService interface {
	Create(ctx context.Context, in usher.UserCreate) (*usher.User, error)
	Get(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Me(ctx context.Context) (*usher.User, error)
	List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error)
	Delete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Undelete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Purge(ctx context.Context, key usher.UserKey) error
	Block(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unblock(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Suspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unsuspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
}

// AuthService is what the face needs of the core's authentication.
type AuthService interface {
	Authenticate(ctx context.Context, credential string, accept ...usher.TokenKind) (*usher.Principal, error)
	Signup(ctx context.Context, in usher.Signup) (*usher.User, error)
	Confirm(ctx context.Context, code string) (*usher.User, error)
	ResendConfirmation(ctx context.Context, email string) error
	Login(ctx context.Context, login, password string) (*usher.Session, error)
	Logout(ctx context.Context) error
	Sessions(ctx context.Context) ([]*usher.Token, error)
	EndSession(ctx context.Context, id int64) error
	EndSessions(ctx context.Context) (int, error)
	RequestPasswordReset(ctx context.Context, email string) error
	ExchangeResetToken(ctx context.Context, token string) (*usher.ResetTicket, error)
	CompletePasswordReset(ctx context.Context, ticket, password string) error
	ChangePassword(ctx context.Context, current, password string) error
	SetPassword(ctx context.Context, key usher.UserKey, password string) error
	PasswordCheck(ctx context.Context, password, username, email string) (*usher.PasswordQuality, error)
	Tokens(ctx context.Context, kinds ...usher.TokenKind) ([]*usher.Token, error)
	CreateToken(ctx context.Context, in usher.TokenCreate) (*usher.Token, string, error)
	RevokeToken(ctx context.Context, id int64) error
	RotateToken(ctx context.Context, id int64) (*usher.Token, string, error)
	IssueJWT(ctx context.Context) (string, *usher.JWTClaims, error)
	CheckJWT(ctx context.Context, raw string) (*usher.Principal, *usher.JWTClaims, error)
	OwnView(ctx context.Context, u *usher.User) (*usher.User, error)
	Impersonate(ctx context.Context, key usher.UserKey, ttl time.Duration) (string, *usher.JWTClaims, *usher.User, error)
	EndImpersonation(ctx context.Context, jwt string) error
	JWKS(ctx context.Context) ([]byte, error)
	Methods(ctx context.Context) []usher.LoginMethod
	StartOAuth(ctx context.Context, provider, redirect string) (*usher.OAuthStart, error)
	StartOAuthExchange(ctx context.Context, provider, redirect, challenge, method string) (*usher.OAuthStart, error)
	StartDeviceLogin(ctx context.Context, provider string) (*usher.DeviceStart, error)
	DescribeDevice(ctx context.Context, userCode, viewer string) (*usher.DeviceInfo, error)
	ApproveDevice(ctx context.Context, userCode, approval, viewer string) (*usher.OAuthStart, error)
	FinishOAuth(ctx context.Context, provider, state, code, binding string) (*usher.Session, string, error)
	FailOAuth(ctx context.Context, provider, state, reason string) error
	Redeem(ctx context.Context, token string) (*usher.Session, error)
	ExchangeLogin(ctx context.Context, code, verifier string) (*usher.Session, error)
}

// AuditService is what the face needs of the core's audit log.
type AuditService interface {
	List(ctx context.Context, f usher.AuditFilter) (*usher.Page[*usher.AuditEvent], error)
}

// Handler serves the native API.
type Handler struct {
	Users UserService
	Auth  AuthService
	Audit AuditService
	Stats StatsService

	Groups   GroupService
	Orgs     OrgService
	Apps     AppService
	Plans    PlanService
	Keys     KeyService
	Emails   EmailService
	Settings SettingService
	Avatars  AvatarService
	// Reminders serves /v1/reminders.
	Reminders ReminderService
	// Instance serves the instance's settings.
	Instance InstanceService
	// Attachments serves /v1/attachments.
	Attachments AttachmentService
	// Scripts serves /v1/scripts.
	Scripts ScriptService

	Log *slog.Logger
	// SecureCookies marks cookies Secure: usher is reached over HTTPS, if
	// not directly then through a proxy.
	SecureCookies bool
	// PublicURL is where usher is reached from outside. A browser's
	// request that changes something with the session cookie, sets it, or
	// posts a form usher served must come from its origin.
	PublicURL string

	origin *web.Origin
	form   web.FormToken
	doc    web.OpenAPIDoc
}

// route is one endpoint of the face. A public route needs no credential and
// ignores one: it is where credentials are made.
type route struct {
	method, pattern string
	handle          web.Handler
	public          bool
}

func (h *Handler) routes() []route {
	yes, no := true, false
	return []route{
		{"POST", "/v1/users", h.createUser, false},
		{"GET", "/v1/users", h.listUsers, false},
		{"GET", "/v1/users/{user}", h.getUser, false},
		{"PATCH", "/v1/users/{user}", h.updateUser, false},
		{"DELETE", "/v1/users/{user}", h.userAction((UserService).Delete, true), false},
		{"POST", "/v1/users/{user}/undelete", h.userAction((UserService).Undelete, false), false},
		{"POST", "/v1/users/{user}/block", h.userAction((UserService).Block, true), false},
		{"POST", "/v1/users/{user}/unblock", h.userAction((UserService).Unblock, true), false},
		{"POST", "/v1/users/{user}/suspend", h.userAction((UserService).Suspend, true), false},
		{"POST", "/v1/users/{user}/unsuspend", h.userAction((UserService).Unsuspend, true), false},
		{"POST", "/v1/users/{user}/purge", h.purgeUser, false},
		{"PUT", "/v1/users/{user}/password", h.setPassword, false},
		{"GET", "/v1/audit", h.listAudit, false},
		{"GET", "/v1/stats", h.stats, false},
		{"GET", "/v1/subscription", h.subscription, false},

		{"GET", "/v1/users/{user}/keys", h.listKeys, false},
		{"POST", "/v1/users/{user}/keys", h.addKey, false},
		{"GET", "/v1/users/{user}/keys/{id}", h.getKey, false},
		{"DELETE", "/v1/users/{user}/keys/{id}", h.deleteKey, false},
		{"GET", "/v1/users/{user}/emails", h.listEmails, false},
		{"POST", "/v1/users/{user}/emails", h.addEmail, false},
		{"GET", "/v1/users/{user}/emails/{id}", h.getEmail, false},
		{"DELETE", "/v1/users/{user}/emails/{id}", h.deleteEmail, false},
		{"POST", "/v1/users/{user}/emails/{id}/primary", h.makePrimary, false},
		{"POST", "/v1/auth/confirm-email", h.confirmEmail, true},
		{"GET", "/v1/users/{user}/settings", h.settings, false},
		{"PATCH", "/v1/users/{user}/settings", h.updateSettings, false},
		{"GET", "/v1/users/{user}/avatar", h.avatar, true},
		{"PUT", "/v1/users/{user}/avatar", h.setAvatar, false},
		{"DELETE", "/v1/users/{user}/avatar", h.deleteAvatar, false},
		{"GET", "/v1/users/{user}/groups", h.userGroups, false},
		{"PUT", "/v1/users/{user}/groups", h.setUserGroups, false},

		{"POST", "/v1/groups", h.createGroup, false},
		{"GET", "/v1/groups", h.listGroups, false},
		{"GET", "/v1/groups/{group}", h.getGroup, false},
		{"PATCH", "/v1/groups/{group}", h.updateGroup, false},
		{"DELETE", "/v1/groups/{group}", h.groupAction((GroupService).Delete, true), false},
		{"POST", "/v1/groups/{group}/undelete", h.groupAction((GroupService).Undelete, false), false},
		{"POST", "/v1/groups/{group}/archive", h.archiveGroup(true), false},
		{"POST", "/v1/groups/{group}/unarchive", h.archiveGroup(false), false},
		{"POST", "/v1/groups/{group}/move", h.moveGroup, false},
		{"POST", "/v1/groups/{group}/merge", h.mergeGroup, false},
		{"GET", "/v1/groups/{group}/members", groupList(h, (GroupService).Members, toMembershipJSON), false},
		{"GET", "/v1/groups/{group}/member-ids", groupList(h, (GroupService).MemberIDs, func(id int64) int64 { return id }), false},
		{"PUT", "/v1/groups/{group}/members/{user}", h.setMember, false},
		{"DELETE", "/v1/groups/{group}/members/{user}", h.removeFromGroup((GroupService).RemoveMember), false},
		{"GET", "/v1/groups/{group}/rules", h.groupRules, false},
		{"PUT", "/v1/groups/{group}/rules", h.setRules(true), false},
		{"PATCH", "/v1/groups/{group}/rules", h.setRules(false), false},
		{"DELETE", "/v1/groups/{group}/rules", h.deleteRules, false},
		{"GET", "/v1/groups/{group}/service-accounts", groupList(h, (GroupService).ServiceAccounts, toUserJSON), false},
		{"POST", "/v1/groups/{group}/service-accounts", h.createServiceAccount, false},
		{"DELETE", "/v1/groups/{group}/service-accounts/{user}", h.removeFromGroup((GroupService).DeleteServiceAccount), false},
		{"POST", "/v1/groups/{group}/service-accounts/{user}/token", h.serviceAccountToken, false},
		{"GET", "/v1/permissions", h.operations, false},
		{"GET", "/v1/permissions/effective", h.effective, false},

		{"POST", "/v1/organisations", h.createOrg, false},
		{"GET", "/v1/organisations", h.listOrgs, false},
		{"GET", "/v1/organisations/{org}", h.getOrg, false},
		{"PATCH", "/v1/organisations/{org}", h.updateOrg, false},
		{"DELETE", "/v1/organisations/{org}", h.orgState(nil, &yes), false},
		{"POST", "/v1/organisations/{org}/undelete", h.orgState(nil, &no), false},
		{"POST", "/v1/organisations/{org}/archive", h.orgState(&yes, nil), false},
		{"POST", "/v1/organisations/{org}/unarchive", h.orgState(&no, nil), false},

		{"POST", "/v1/applications", h.createApp, false},
		{"GET", "/v1/applications", h.listApps, false},
		{"GET", "/v1/applications/{app}", h.getApp, false},
		{"PATCH", "/v1/applications/{app}", h.updateApp, false},
		{"DELETE", "/v1/applications/{app}", h.appAction((AppService).Delete), false},
		{"POST", "/v1/applications/{app}/undelete", h.appAction((AppService).Undelete), false},
		{"GET", "/v1/reminders", h.listReminders, false},
		{"POST", "/v1/reminders", h.createReminder, false},
		{"GET", "/v1/reminders/{id}", h.getReminder, false},
		{"PATCH", "/v1/reminders/{id}", h.updateReminder, false},
		{"DELETE", "/v1/reminders/{id}", h.deleteReminder, false},
		{"POST", "/v1/reminders/{id}/dismiss", h.dismissReminder, false},
		{"POST", "/v1/reminders/{id}/snooze", h.snoozeReminder, false},

		{"POST", "/v1/attachments", h.uploadAttachment, false},
		{"GET", "/v1/attachments/{id}", h.getAttachment, false},
		{"DELETE", "/v1/attachments/{id}", h.deleteAttachment, false},
		{"GET", "/v1/attachments/{id}/original", h.originalAttachment, false},
		{"GET", "/v1/attachments/{id}/preview", h.previewAttachment, false},
		{"GET", "/v1/scripts", h.listScripts, false},
		{"POST", "/v1/scripts", h.createScript, false},
		{"GET", "/v1/scripts/{name}", h.getScript, false},
		{"PATCH", "/v1/scripts/{name}", h.updateScript, false},
		{"DELETE", "/v1/scripts/{name}", h.deleteScript, false},
		{"POST", "/v1/scripts/{name}/run", h.runScript, false},
		{"GET", "/v1/scripts/bundles/{bundle}", h.scriptBundle, false},

		{"GET", "/v1/settings", h.listInstanceSettings, false},
		{"PATCH", "/v1/settings", h.updateInstanceSettings, false},
		{"GET", "/v1/settings/current", h.currentSettings, true},
		{"GET", "/v1/settings/{name}", h.getInstanceSetting, false},
		{"PUT", "/v1/settings/{name}", h.setInstanceSetting, false},

		{"GET", "/v1/plans", h.listPlans, false},
		{"POST", "/v1/plans", h.createPlan, false},
		{"GET", "/v1/plans/{plan}", h.getPlan, false},
		{"PUT", "/v1/plans/{plan}", h.updatePlan, false},
		{"DELETE", "/v1/plans/{plan}", h.deletePlan, false},

		{"POST", "/v1/auth/signup", h.signup, true},
		{"POST", "/v1/auth/confirm", h.confirm, true},
		{"POST", "/v1/auth/confirm/resend", h.resendConfirmation, true},
		{"POST", "/v1/auth/login", h.sameOrigin(h.login), true},
		{"POST", "/v1/auth/logout", h.logout, false},
		{"POST", "/v1/auth/password-reset", h.requestReset, true},
		{"POST", "/v1/auth/password-reset/exchange", h.exchangeReset, true},
		{"POST", "/v1/auth/password-reset/complete", h.completeReset, true},
		{"POST", "/v1/auth/password", h.changePassword, false},
		{"POST", "/v1/auth/password-check", h.passwordCheck, true},
		{"GET", "/v1/auth/methods", h.methods, true},
		{"POST", "/v1/auth/jwt", h.issueJWT, false},
		{"GET", "/v1/auth/jwt/check", h.checkJWT, true},
		{"POST", "/v1/auth/impersonate", h.impersonate, false},
		{"GET", "/v1/auth/oauth/{provider}/start", h.startOAuth, true},
		{"GET", "/v1/auth/oauth/{provider}/callback", h.finishOAuth, true},
		{"GET", "/v1/auth/device", h.devicePage, true},
		{"POST", "/v1/auth/device", h.verifyDevice, true},
		{"POST", "/v1/auth/redeem", h.sameOrigin(h.redeem), true},
		{"POST", "/v1/auth/exchange", h.sameOrigin(h.exchange), true},

		{"GET", "/v1/me", h.me, false},
		{"GET", "/v1/me/sessions", h.sessions, false},
		{"DELETE", "/v1/me/sessions", h.endSessions, false},
		{"DELETE", "/v1/me/sessions/{id}", h.endSession, false},
		{"GET", "/v1/me/tokens", h.tokens, false},
		{"POST", "/v1/me/tokens", h.createToken, false},
		{"DELETE", "/v1/me/tokens/{id}", h.revokeToken, false},
		{"POST", "/v1/me/tokens/{id}/rotate", h.rotateToken, false},

		{"GET", "/.well-known/jwks.json", h.jwks, true},
		{"GET", "/openapi.json", h.serveOpenAPI, true},
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

// Mount registers the face's endpoints on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.origin = web.NewOrigin(h.PublicURL)
	h.form = web.FormToken{}
	for _, r := range h.routes() {
		handler := web.Adapt(r.handle, h.writeError)
		if !r.public {
			handler = h.authenticate(handler)
		}
		mux.Handle(r.method+" "+r.pattern, handler)
	}
	mux.Handle("/v1/", web.Fallback(h.Routes(), h.writeError))
}

// session is the cookie a log-in sets, sent with every request.
func (h *Handler) session() web.SessionCookie {
	return web.SessionCookie{Name: "usher_session", Path: "/", Secure: h.SecureCookies, Host: true}
}

// authenticate puts the caller's principal into the request context: from
// an Authorization: Bearer header, or else the session cookie. A request
// without a credential is anonymous and the core decides what it may do; a
// bearer credential that is not valid is refused at once, while a stale
// cookie is ignored.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := web.BearerToken(r)
		if token == "" {
			if secret := h.session().Read(r); secret != "" {
				if p, err := h.Auth.Authenticate(r.Context(), secret); err == nil {
					// A browser sends the cookie with requests other sites
					// make it send: changes by cookie must come from usher's
					// own origin.
					if err := h.origin.Check(r); err != nil {
						h.writeError(w, r, err)
						return
					}
					r = r.WithContext(usher.WithPrincipal(r.Context(), p))
				}
			}
			next.ServeHTTP(w, r)
			return
		}
		p, err := h.Auth.Authenticate(r.Context(), token)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(usher.WithPrincipal(r.Context(), p)))
	})
}

// sameOrigin refuses a browser's request from another site's page before
// next runs: for the public routes that set the session cookie, where a
// forged log-in would sign the browser in to an account of the other
// site's choosing.
func (h *Handler) sameOrigin(next web.Handler) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.origin.Check(r); err != nil {
			return err
		}
		return next(w, r)
	}
}

// statuses maps each error kind to the face's status code.
var statuses = map[usher.Kind]int{
	usher.KindInternal:        http.StatusInternalServerError,
	usher.KindInvalid:         http.StatusBadRequest,
	usher.KindUnauthenticated: http.StatusUnauthorized,
	usher.KindForbidden:       http.StatusForbidden,
	usher.KindNotFound:        http.StatusNotFound,
	usher.KindConflict:        http.StatusConflict,
	usher.KindPrecondition:    http.StatusPreconditionFailed,
	usher.KindTooLarge:        http.StatusRequestEntityTooLarge,
	usher.KindUnprocessable:   http.StatusUnprocessableEntity,
	usher.KindRateLimited:     http.StatusTooManyRequests,
}

// problem is an RFC 9457 problem detail with usher's extensions.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail"`
	Code      string         `json:"code"`
	Errors    []problemField `json:"errors,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

type problemField struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError writes err as application/problem+json, for every error of
// the face's: its routes', its fallback's 404 and 405, a body's 415.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	web.LogError(h.Log, r, err)
	e := usher.AsError(err)
	status := statuses[e.Kind]
	if s := web.Status(e); s != 0 {
		status = s
	}
	p := problem{
		Type: "urn:usher:error:" + e.Code, Title: http.StatusText(status), Status: status,
		Detail: e.Message, Code: e.Code, RequestID: usher.RequestFrom(r.Context()).ID,
	}
	for _, f := range e.Fields {
		p.Errors = append(p.Errors, problemField(f))
	}
	switch e.Kind {
	case usher.KindUnauthenticated:
		w.Header().Set("WWW-Authenticate", `Bearer realm="usher"`)
	case usher.KindRateLimited:
		w.Header().Set("Retry-After", web.RetryAfter(e.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	_ = web.WriteJSON(w, status, p)
}

// userRef resolves the {user} path segment: digits are an id, @ and a
// handle a handle (no username starts with @), email: and an address an
// e-mail address (no username holds a colon), anything else a username.
func (h *Handler) userRef(r *http.Request) (usher.UserKey, error) {
	ref := r.PathValue("user")
	if handle, ok := strings.CutPrefix(ref, "@"); ok {
		return usher.UserKey{Handle: handle}, nil
	}
	if address, ok := strings.CutPrefix(ref, "email:"); ok {
		return usher.UserKey{Email: address}, nil
	}
	if ref != "" && strings.Trim(ref, "0123456789") == "" {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil || id <= 0 {
			return usher.UserKey{}, web.Invalid("user", usher.CodeInvalidID, "is not a valid user id")
		}
		return usher.UserKey{ID: id}, nil
	}
	return usher.UserKey{Username: ref}, nil
}
