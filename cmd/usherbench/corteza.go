package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
)

// cortezaJWT logs the bench's administrator in through the Corteza face
// and returns the JWT Corteza's clients send.
func (b *bench) cortezaJWT(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": adminName + "@bench.example", "password": benchPassword}) // strings always marshal
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.usher.base+"/api/system/auth/internal/login", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := b.usher.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("corteza log-in: %w", err)
	}
	defer res.Body.Close()
	var out struct {
		Response struct {
			JWT string `json:"jwt"`
		} `json:"response"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("corteza log-in: %w", err)
	}
	if out.Error != nil || out.Response.JWT == "" {
		return "", fmt.Errorf("corteza log-in: %+v", out.Error)
	}
	return out.Response.JWT, nil
}

// cortezaLoad runs a Corteza face scenario: GETs with the administrator's
// Corteza JWT.
func (b *bench) cortezaLoad(ctx context.Context, pick func(*rand.Rand) string) (*result, error) {
	jwt, err := b.cortezaJWT(ctx)
	if err != nil {
		return nil, err
	}
	return b.load(ctx, b.usher.get("Authorization", "Bearer "+jwt, pick))
}
