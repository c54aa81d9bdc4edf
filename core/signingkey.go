package core

import (
	"context"
	"slices"
	"time"

	"usher"
	"usher/store"
)

// longest is the longest lifetime this process gives a JWT.
func (e *env) longest() time.Duration {
	return max(e.policy.JWTTTL, e.policy.ImpersonationTTL)
}

// window is how long k keeps verifying once retired: the longest lifetime
// of a JWT it may have signed — its recorded Lifetime (the server's) or
// this process's — and the clock skew allowed. Past it, no JWT the key
// signed can be valid, and the key may be pruned.
func (e *env) window(k *usher.SigningKey) time.Duration {
	return max(k.Lifetime, e.longest()) + jwtLeeway
}

// verifyUntil is when a retired key stops verifying: the time stored as it
// was retired, or for a key retired before that was stored, its retirement
// and its window. The zero time for a key not retired.
func (e *env) verifyUntil(k *usher.SigningKey) time.Time {
	switch {
	case k.RetiredAt == nil:
		return time.Time{}
	case k.VerifyUntil != nil:
		return *k.VerifyUntil
	}
	return k.RetiredAt.Add(e.window(k))
}

// recordLifetime raises the recorded Lifetime of the keys that sign to
// this process's longest JWT lifetime.
func (e *env) recordLifetime(ctx context.Context, tx store.Tx) error {
	stored, err := tx.SigningKeyList(ctx)
	if err != nil {
		return err
	}
	for _, k := range stored {
		if k.RetiredAt == nil && k.Lifetime < e.longest() {
			if err := tx.SigningKeyLifetime(ctx, k.ID, e.longest()); err != nil {
				return err
			}
		}
	}
	return nil
}

// SigningKeys lists the keys that sign and verify JWTs, oldest first,
// without their private halves: the current key, and retired ones with the
// time they stop verifying.
//
// Errors: Unauthenticated, Forbidden (administrators only), the store's.
func (a *Auth) SigningKeys(ctx context.Context) ([]usher.SigningKeyState, error) {
	if err := a.authorize(ctx, actKeyRotate, nil); err != nil {
		return nil, err
	}
	stored, err := a.store.SigningKeyList(ctx)
	if err != nil {
		return nil, err
	}
	current := ""
	for _, k := range stored {
		if k.RetiredAt == nil && k.Algorithm != sharedAlg {
			current = k.ID // the newest unretired key, as keyring.current picks
		}
	}
	out := make([]usher.SigningKeyState, 0, len(stored))
	for _, k := range stored {
		s := usher.SigningKeyState{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt,
			Current: k.ID == current}
		if k.RetiredAt != nil {
			until := a.verifyUntil(k)
			s.VerifiesUntil = &until
		}
		out = append(out, s)
	}
	return out, nil
}

// PruneSigningKeys deletes the retired signing keys that verify nothing any
// more: past the verify-until stored as they were retired, which the
// longest JWT lifetime recorded on them (the server's) or this process's
// set. It returns their
// ids. Rotation and the server's start prune too.
//
// Errors: Unauthenticated, Forbidden (administrators only), the store's.
func (a *Auth) PruneSigningKeys(ctx context.Context) ([]string, error) {
	if err := a.authorize(ctx, actKeyRotate, nil); err != nil {
		return nil, err
	}
	var pruned []string
	err := a.store.InTx(ctx, func(tx store.Tx) (err error) {
		pruned, err = a.prune(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pruned, a.keys.load(ctx)
}

// prune deletes the retired keys past their verify window, recording each.
func (a *Auth) prune(ctx context.Context, tx store.Tx) ([]string, error) {
	stored, err := tx.SigningKeyList(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	var pruned []string
	for _, k := range stored {
		if k.RetiredAt == nil || !now.After(a.verifyUntil(k)) {
			continue
		}
		if err := tx.SigningKeyDelete(ctx, k.ID); err != nil {
			return nil, err
		}
		if err := a.record(ctx, tx, now, event{action: "auth.signing_key_delete", resourceType: "signing_key", resourceID: k.ID}); err != nil {
			return nil, err
		}
		pruned = append(pruned, k.ID)
	}
	slices.Sort(pruned)
	return pruned, nil
}
