package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// loginScript is the script login_script logs in under: the least an
// auth.before_login script does, so that what is measured is the sandbox.
const loginScript = `if (usher.resource.state !== "active") usher.refuse("inactive");`

// loginWithScript measures login with a trivial auth.before_login script
// in place, made through the API before and deleted after, so that the
// scenarios after it run without it. Compare with login.
func (b *bench) loginWithScript(ctx context.Context) (*result, error) {
	admin := [2]string{"Authorization", "Bearer " + b.token}
	body, _ := json.Marshal(map[string]any{"name": "bench-before-login", "source": loginScript,
		"triggers": []string{"auth.before_login"}})
	if _, err := b.usher.do(ctx, call{method: http.MethodPost, path: "/v1/scripts", auth: admin, body: body,
		want: http.StatusCreated}); err != nil {
		return nil, fmt.Errorf("create the before-login script: %w", err)
	}
	defer func() {
		_, _ = b.usher.do(context.WithoutCancel(ctx), call{method: http.MethodDelete, path: "/v1/scripts/bench-before-login",
			auth: admin, want: http.StatusNoContent})
	}()
	r, err := b.load(ctx, b.login())
	if r != nil {
		r.note = "login with a trivial auth.before_login script; the difference from login is the script's cost"
	}
	return r, err
}
