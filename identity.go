package usher

// ExternalIdentity is who an external log-in provider says the person is.
type ExternalIdentity struct {
	Provider      string // the connector's name, e.g. "github" or "oidc"
	Subject       string // the provider's stable id for the person
	Email         string
	EmailVerified bool
	Username      string // a preferred username, if the provider has one
	Name          string
}

// LoginMethod is one way to log in, as GET /v1/auth/methods lists them.
type LoginMethod struct {
	Name string // "password", "github", "oidc", ...
	Type string // "secret-token" or "oauth"
	URL  string // where to start it
}
