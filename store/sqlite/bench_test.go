package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"usher"
	"usher/store/sqldb"
)

// BenchmarkUserGet reads one user by id, as GET /v1/users/{id} does: its
// allocations per read (-benchmem) are the store's share of the request's.
func BenchmarkUserGet(b *testing.B) {
	ctx := context.Background()
	db := benchStore(b, 200)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.UserGet(ctx, usher.UserKey{ID: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUserListPage reads Pterodactyl's list page — the first 50 users
// with their total — from a store of 200 users: its allocations per page
// (-benchmem) say what scanning the rows costs beside the statement.
func BenchmarkUserListPage(b *testing.B) {
	ctx := context.Background()
	db := benchStore(b, 200)
	f := usher.UserFilter{Kinds: []usher.UserKind{usher.KindNormal, usher.KindBot},
		Page: usher.PageRequest{Limit: 50, WithTotal: true}}
	b.ReportAllocs()
	for b.Loop() {
		p, err := db.UserList(ctx, f)
		if err != nil || len(p.Items) != 50 || p.Total != 200 {
			b.Fatalf("UserList: %d users, total %d, %v", len(p.Items), p.Total, err)
		}
	}
}

// benchStore returns a migrated store in a temporary file holding n users.
func benchStore(b *testing.B, n int) *sqldb.DB {
	b.Helper()
	ctx := context.Background()
	db := openMigrated(b)
	now := time.Now().UTC()
	users := make([]*usher.User, n)
	for i := range users {
		users[i] = &usher.User{UUID: uuid.NewString(), Username: fmt.Sprintf("user%d", i),
			Email: fmt.Sprintf("user%d@example.com", i), Name: "A User", State: usher.StateActive,
			Kind: usher.KindNormal, Language: "en", CreatedAt: now, UpdatedAt: now}
	}
	if err := db.UserCreateMany(ctx, users, make([]string, len(users))); err != nil {
		b.Fatal(err)
	}
	return db
}
