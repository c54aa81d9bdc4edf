package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
)

// consoleSession logs the bench's administrator in through the native API
// and returns the session cookie the console's pages read.
func (b *bench) consoleSession(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"login": adminName, "password": benchPassword}) // strings always marshal
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.usher.base+"/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := b.usher.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("console log-in: %w", err)
	}
	defer res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "usher_session" && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("console log-in: status %d and no session cookie", res.StatusCode)
}

// consoleLoad runs a console scenario: GETs of the administrator's pages
// with the session cookie.
func (b *bench) consoleLoad(ctx context.Context, pick func(*rand.Rand) string) (*result, error) {
	cookie, err := b.consoleSession(ctx)
	if err != nil {
		return nil, err
	}
	return b.load(ctx, b.usher.get("Cookie", cookie, pick))
}
