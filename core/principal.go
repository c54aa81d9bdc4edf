package core

import (
	"sync"
	"time"

	"usher"
)

// principalTTL is how long a credential's token and account are kept
// without being read again. Changes this process makes end the keeping at
// once; a change another process makes (a replica on the same PostgreSQL
// database) is seen within this time.
const principalTTL = 2 * time.Second

// maxPrincipals bounds the credentials kept; past it they are all dropped.
const maxPrincipals = 10000

// principalCache keeps, for a short while, what a token stood for when it
// was last checked: "who is this token?" is asked by nearly every request.
// An entry holds the store's count of committed writes when its reads
// began; once the count has grown, any write might have revoked the token
// or blocked its account, and the entry is read again.
type principalCache struct {
	mu      sync.Mutex
	entries map[string]principalEntry
}

type principalEntry struct {
	tok          *usher.Token
	user         *usher.User
	impersonator *usher.User
	// ownerMay is, for a service account's token an owner minted
	// (usher.Token.MintedByOwner), whether that owner could mint it now.
	ownerMay bool
	changes  uint64
	expires  time.Time
}

// get returns the entry under key (a token's hash, or its id) if it is
// still good: read after the last write this process committed and within
// its time.
func (c *principalCache) get(key string, changes uint64, now time.Time) (principalEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.changes != changes || !now.Before(e.expires) {
		return principalEntry{}, false
	}
	return e, true
}

// put keeps an entry, whose changes is the count taken before its reads.
func (c *principalCache) put(key string, e principalEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxPrincipals {
		c.entries = make(map[string]principalEntry)
	}
	c.entries[key] = e
}

// touched keeps, in the entry under key, the last-used and last-seen times
// of ent, its copies, just written: the entry stays as good as it was,
// since the writes are no change it could be stale by. An entry read again
// meanwhile is left as it is.
func (c *principalCache) touched(key string, ent principalEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.changes != ent.changes || e.tok.ID != ent.tok.ID {
		return
	}
	tok, u := *e.tok, *e.user
	tok.LastUsedAt, u.LastSeenAt = ent.tok.LastUsedAt, ent.user.LastSeenAt
	e.tok, e.user = &tok, &u
	c.entries[key] = e
}

// forgetUser drops the entries of the account with the id, whose own row
// changed by a write the store does not count (a sign-in's times). It
// goes through every entry: there are at most maxPrincipals, and log-ins
// are few next to the token checks.
func (c *principalCache) forgetUser(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.user.ID == id || (e.impersonator != nil && e.impersonator.ID == id) {
			delete(c.entries, k)
		}
	}
}
