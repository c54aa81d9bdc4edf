package native

import (
	"html/template"
	"net/http"

	"usher"
	"usher/web"
)

// devicePageHTML is the page where a person takes up a command-line log-in:
// they type the code their client shows, see which client it is, and
// continue to the provider.
var devicePageHTML = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in a command-line client — usher</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/style.css"></head>
<body>
<header class="top"><a class="brand" href="/">usher</a></header>
<main id="main">
<h1>Log in a command-line client</h1>
{{if .Error}}<p class="alert error" role="alert">{{.Error}}</p>{{end}}
{{if .Info}}
<p>A command-line client started this log-in with <strong>{{.Info.Provider}}</strong>
at {{.Info.StartedAt.Format "2006-01-02 15:04 MST"}}, from {{.Info.Address}}
({{if .Info.Device}}{{.Info.Device}}{{else}}a client usher does not recognise{{end}}).</p>
<p>Continue only if you started it yourself. Whoever holds that client gets your session.</p>
<form method="post" action="/v1/auth/device" class="card">
<input type="hidden" name="csrf_token" value="{{.Token}}">
<input type="hidden" name="user_code" value="{{.Code}}"><input type="hidden" name="confirm" value="yes">
<input type="hidden" name="approval" value="{{.Info.Approval}}">
<button type="submit">Continue to {{.Info.Provider}}</button>
</form>
{{else}}
<form method="post" action="/v1/auth/device" class="card">
<input type="hidden" name="csrf_token" value="{{.Token}}">
<label for="user_code">The code your client shows</label>
<input id="user_code" name="user_code" value="{{.Code}}" autocomplete="off" autofocus>
<button type="submit">Next</button>
</form>
{{end}}
</main>
</body></html>
`))

// devicePath is where the page is.
const devicePath = "/v1/auth/device"

type devicePage struct {
	Error string
	Code  string
	Info  *usher.DeviceInfo
	// Token is the form's CSRF token.
	Token string
}

// writeDevicePage answers with the page.
func writeDevicePage(w http.ResponseWriter, status int, page devicePage) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The address may hold the user code: no other site learns it from a
	// Referer. same-origin, since the form's post needs its Origin.
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	return devicePageHTML.Execute(w, page)
}

// devicePage answers the form; user_code, as Escape's log-in methods link
// to it, only fills the field in: the person still submits the code, sees
// the client and confirms.
func (h *Handler) devicePage(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	code := q.String("user_code")
	if err := q.Err(); err != nil {
		return err
	}
	return writeDevicePage(w, http.StatusOK, devicePage{Code: code, Token: h.form.Issue(w, r, h.secure(r), h.session().Read(r))})
}

// verifyDevice takes the form: first the code, which shows the client;
// then the confirmation, which carries the approval nonce the description
// gave and starts the log-in in this browser. Only a
// form from usher's own page is taken: another site's page could make the
// browser of someone logged in at the provider approve the other site's
// code, and the other site's client would get that person's session.
func (h *Handler) verifyDevice(w http.ResponseWriter, r *http.Request) error {
	login := h.session().Read(r)
	if err := h.origin.Check(r); err != nil {
		return writeDevicePage(w, http.StatusForbidden, devicePage{Token: h.form.Issue(w, r, h.secure(r), login),
			Error: "This form did not come from this site. Type the code your client shows into the form below."})
	}
	if _, err := web.MediaType(r, web.MediaForm); err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return web.Invalid("", usher.CodeMalformedForm, "the form could not be read")
	}
	token := r.PostForm.Get("csrf_token")
	if !h.form.Verify(r, h.secure(r), login, token) {
		return writeDevicePage(w, http.StatusForbidden, devicePage{Token: h.form.Issue(w, r, h.secure(r), login),
			Error: "This form has expired or did not come from this page; reload the page and type the code again."})
	}
	code := r.PostForm.Get("user_code")
	var info *usher.DeviceInfo
	var st *usher.OAuthStart
	var err error
	confirm := r.PostForm.Get("confirm") == "yes"
	if confirm {
		st, err = h.Auth.ApproveDevice(r.Context(), code, r.PostForm.Get("approval"), token)
	} else {
		// The browser's form token, verified above, is the viewer the
		// nonce is issued to: no other browser's post approves with it.
		info, err = h.Auth.DescribeDevice(r.Context(), code, token)
	}
	if err != nil {
		e := usher.AsError(err)
		if e.Kind == usher.KindForbidden {
			return writeDevicePage(w, http.StatusForbidden, devicePage{Code: code, Token: token,
				Error: "Type the code again and check the client before continuing."})
		}
		if e.Kind == usher.KindNotFound || e.Kind == usher.KindRateLimited {
			if e.Kind == usher.KindRateLimited {
				w.Header().Set("Retry-After", "60")
			}
			return writeDevicePage(w, statuses[e.Kind], devicePage{Token: token,
				Error: "That code is unknown, used or expired, or too many were tried: " + e.Message})
		}
		return err
	}
	if !confirm {
		return writeDevicePage(w, http.StatusOK, devicePage{Code: code, Info: info, Token: token})
	}
	h.setBinding(w, r, st)
	http.Redirect(w, r, st.AuthURL, http.StatusFound)
	return nil
}
