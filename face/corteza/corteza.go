// Package corteza serves Corteza's system REST API (release 2020.9) under
// /api/system, as Corteza's own JavaScript client calls it: its request
// parameters (a JSON body or the form and query), its envelope
// ({"response":…}, {"success":{"message":"OK"}}, and {"error":{"message":…}}
// with HTTP 200), its list shape ({"filter":{…,"count":N},"set":[…]}) and
// its credential, a shared-secret JWT. Like every face it only translates:
// the core decides.
package corteza

import (
	"log/slog"
	"net/http"

	"usher"
	"usher/web"
)

// prefix is where the system API lives: Corteza's common deployment sets
// HTTP_API_BASE_URL=/api.
const prefix = "/api/system"

// listCap bounds every list asked for without a limit. Corteza 2020.9 reads
// such lists whole; usher serves at most this many rows of them and says so
// in docs/corteza.md.
const listCap = 1000

// Handler serves Corteza's system API.
type Handler struct {
	Users       UserService
	Auth        AuthService
	Groups      GroupService
	Apps        AppService
	Settings    SettingService
	Reminders   ReminderService
	Attachments AttachmentService
	Stats       StatsService
	Audit       AuditService
	Orgs        OrgService
	Scripts     ScriptService
	Log         *slog.Logger
	// PublicURL is usher's public base URL: a state-changing request that
	// brings its JWT only in the jwt cookie must come from its origin.
	PublicURL string

	origin *web.Origin

	// The OpenAPI description, rendered once.
	doc web.OpenAPIDoc
}

// route is one endpoint of the face; public routes take no credential.
type route struct {
	method, pattern string
	handle          web.Handler
	public          bool
}

// Routes lists the face's endpoints as "METHOD /pattern".
func (h *Handler) Routes() []string {
	var out []string
	for _, r := range h.routes() {
		out = append(out, r.method+" "+r.pattern)
	}
	return out
}

// Mount registers the face's endpoints on mux, and a fallback that answers
// every other path under /api/system in Corteza's error envelope.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.origin = web.NewOrigin(h.PublicURL)
	for _, r := range h.routes() {
		next := web.Adapt(r.handle, h.writeError)
		if !r.public {
			next = h.authenticate(next)
		} else {
			next = h.optional(next)
		}
		mux.Handle(r.method+" "+r.pattern, next)
	}
	mux.Handle("GET "+prefix+"/openapi.json", web.Adapt(h.serveOpenAPI, h.writeError))
	mux.Handle(prefix+"/", web.Fallback(h.Routes(), h.writeError))
}

// credential is the JWT of a request, from where Corteza's verifier looks,
// in its order: the jwt query parameter, the Authorization header, the jwt
// cookie. A browser sends the cookie with requests other sites make it
// send, so a change by cookie must come from usher's own origin; Corteza's
// clients send the JWT as a Bearer header, so this refuses none of them.
func (h *Handler) credential(r *http.Request) (string, error) {
	if t := r.URL.Query().Get("jwt"); t != "" {
		return t, nil
	}
	if t := web.BearerToken(r); t != "" {
		return t, nil
	}
	// The cookie's name has no __Host- prefix: one another host planted
	// beside usher's is no one's (web.OnlyCookie).
	jwt := web.OnlyCookie(r, "jwt")
	if jwt == "" {
		return "", nil
	}
	if err := h.origin.Check(r); err != nil {
		return "", err
	}
	return jwt, nil
}

// authenticate lets a request through only with a valid Corteza JWT, as
// Corteza's MiddlewareValidOnly does.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := h.credential(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if token == "" {
			h.writeError(w, r, errUnauthorized())
			return
		}
		p, err := h.Auth.Authenticate(r.Context(), token, usher.TokenSharedJWT)
		if err != nil {
			h.writeError(w, r, errUnauthorized())
			return
		}
		next.ServeHTTP(w, r.WithContext(usher.WithPrincipal(r.Context(), p)))
	})
}

// optional authenticates a public route's request when it carries a
// credential (auth/check, logout, change-password), and lets it through
// anonymous otherwise.
func (h *Handler) optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := h.credential(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if token != "" {
			if p, err := h.Auth.Authenticate(r.Context(), token, usher.TokenSharedJWT); err == nil {
				r = r.WithContext(usher.WithPrincipal(r.Context(), p))
			}
		}
		next.ServeHTTP(w, r)
	})
}

func errUnauthorized() error {
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeUnauthenticated, Message: "Unauthorized"}
}

func errNotFound(what string) error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNotFound, Message: what + " not found"}
}

// writeError answers as Corteza 2020.9 does: HTTP 200 and
// {"error":{"message":…}}; its client reads the body, not the status.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	web.LogError(log, r, err)
	e := usher.AsError(err)
	status := http.StatusOK
	if e.Code == usher.CodeRouteNotFound || web.Status(e) == http.StatusMethodNotAllowed {
		// No route: Corteza's router answers 404 and 405 itself.
		status = web.Status(e)
		if status == 0 {
			status = http.StatusNotFound
		}
	}
	msg := e.Message
	switch {
	case e.Kind == usher.KindInternal || msg == "":
		msg = "internal error"
	case e.Code == usher.CodeUnauthenticated:
		msg = "Unauthorized"
	}
	for _, f := range e.Fields[min(1, len(e.Fields)):] {
		msg += "; " + f.Field + ": " + f.Message
	}
	_ = web.WriteJSON(w, status, map[string]any{"error": map[string]string{"message": msg}})
}

// respond writes {"response": v}.
func respond(w http.ResponseWriter, v any) error {
	return web.WriteJSON(w, http.StatusOK, map[string]any{"response": v})
}

// ok writes Corteza's answer to an action with nothing to return.
func ok(w http.ResponseWriter) error {
	return web.WriteJSON(w, http.StatusOK, map[string]any{"success": map[string]string{"message": "OK"}})
}
