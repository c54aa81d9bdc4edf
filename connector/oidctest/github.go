package oidctest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// githubAuthorize is GitHub's authorization endpoint.
func (p *Provider) githubAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scopes := strings.FieldsFunc(q.Get("scope"), func(c rune) bool { return c == ' ' || c == ',' })
	code, redirectURI, err := p.authRequest(q, flowGitHub, scopes, nil)
	p.answerAuthorize(w, r, code, redirectURI, err)
}

// githubToken is GitHub's token endpoint. Like GitHub's, it reports a bad
// code or bad client credentials with status 200 and an error field, and
// answers in JSON only when the client accepts it, form-encoded otherwise.
func (p *Provider) githubToken(w http.ResponseWriter, r *http.Request) {
	if status := p.takeFailure(); status != 0 {
		writeOAuthError(w, status, failureCode(status), "failure requested by the test")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.t.Logf("oidctest: GitHub token request refused: %v", err)
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	clientID, _, err := p.authenticate(r)
	if err != nil {
		p.t.Logf("oidctest: GitHub token request refused: %v", err)
		githubAnswer(w, r, map[string]string{
			"error":             "incorrect_client_credentials",
			"error_description": "The client_id and/or client_secret passed are incorrect.",
			"error_uri":         "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials",
		})
		return
	}
	g, access, err := p.redeem(flowGitHub, clientID, r.PostForm.Get("code"),
		r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"))
	if err != nil {
		p.t.Logf("oidctest: GitHub token request refused: %v", err)
		githubAnswer(w, r, map[string]string{
			"error":             "bad_verification_code",
			"error_description": "The code passed is incorrect or expired.",
			"error_uri":         "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
		})
		return
	}
	githubAnswer(w, r, map[string]string{
		"access_token": access,
		"scope":        strings.Join(g.scopes, ","),
		"token_type":   "bearer",
	})
}

// githubAnswer writes a token endpoint answer the way GitHub does: status
// 200, JSON if the Accept header asks for it, form-encoded otherwise.
func githubAnswer(w http.ResponseWriter, r *http.Request, fields map[string]string) {
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, fields)
		return
	}
	v := make(url.Values, len(fields))
	for k, f := range fields {
		v.Set(k, f)
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(v.Encode()))
}

// githubUser is GET /user.
func (p *Provider) githubUser(w http.ResponseWriter, r *http.Request) {
	g, ok := p.githubAuth(w, r)
	if !ok {
		return
	}
	u := g.user
	var name any // GitHub sends null for an unset name
	if u.Name != "" {
		name = u.Name
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"login":   u.Username,
		"id":      u.GitHubID,
		"node_id": base64.StdEncoding.EncodeToString([]byte("04:User" + strconv.FormatInt(u.GitHubID, 10))),
		"type":    "User",
		"name":    name,
		"email":   nil, // the public address; the private one is at /user/emails
	})
}

// githubEmails is GET /user/emails, which needs the user:email scope.
func (p *Provider) githubEmails(w http.ResponseWriter, r *http.Request) {
	g, ok := p.githubAuth(w, r)
	if !ok {
		return
	}
	if !slices.Contains(g.scopes, "user:email") && !slices.Contains(g.scopes, "user") {
		p.t.Logf("oidctest: GET /user/emails without the user:email scope")
		writeJSON(w, http.StatusNotFound, map[string]string{
			"message":           "Not Found",
			"documentation_url": "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
		})
		return
	}
	emails := []map[string]any{}
	if g.user.Email != "" {
		emails = append(emails, map[string]any{
			"email":      g.user.Email,
			"primary":    true,
			"verified":   g.user.EmailVerified,
			"visibility": "private",
		})
	}
	writeJSON(w, http.StatusOK, emails)
}

// githubAuth returns the grant behind the request's access token, or
// answers as GitHub's API does and reports false.
func (p *Provider) githubAuth(w http.ResponseWriter, r *http.Request) (*grant, bool) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "token ")
	}
	g, live := p.lookupToken(flowGitHub, token)
	if !ok || !live {
		p.t.Logf("oidctest: %s: refused an unknown access token", r.URL.Path)
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"message":           "Bad credentials",
			"documentation_url": "https://docs.github.com/rest",
		})
		return nil, false
	}
	if r.Header.Get("User-Agent") == "" {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.",
		})
		return nil, false
	}
	return g, true
}
