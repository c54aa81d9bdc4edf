package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/store/sqldb"
)

// TestUserPagesReadAPage: a page of users in any of the lists' orders,
// filtered on kind, state and deletion alone, walks the rowid or the index
// that holds the order and stops after the page. Planned without
// statistics, SQLite took the index on deletion for a narrow one, read
// every live user through it and sorted them all in a temporary B-tree:
// a plain user's GET /v1/users?sort=-created_at read 10,000 users for 20
// in 31 ms and 80,000 in 237 ms. While a load has set users_created_at
// aside, every order still plans (a first fix named the index, and a page
// by creation failed for the load's length: "no such index").
func TestUserPagesReadAPage(t *testing.T) {
	t.Parallel()
	db := planned(t)
	ctx := context.Background()
	pool := db.Pools()["write"]
	plan := func(t *testing.T, order, cond string) string {
		t.Helper()
		col, _, _ := strings.Cut(order, " ")
		from, live := dialect{}.UsersInOrder(col, true)
		return queryPlan(t, pool, "SELECT * FROM "+from+" WHERE "+live+
			" AND state <> 'suspended' AND kind IN ('normal', 'bot')"+cond+" ORDER BY "+order+" LIMIT 21")
	}
	// A search of many matches sorted otherwise than by id walks its
	// order's index too, each user tested against the matches
	// (WalkAt): the search as SearchUsers writes it then.
	const walk = " AND +users.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH '{username name} : \"son\"')"
	var orders []string
	for _, dir := range []string{"ASC", "DESC"} {
		orders = append(orders, "id "+dir)
		for _, col := range []string{"created_at", "username_key", "uuid"} {
			orders = append(orders, col+" "+dir+", id "+dir)
		}
	}
	for _, order := range orders {
		// A page filtered on the admin flag or a range of creation too
		// (sqldb's ordered).
		for _, cond := range []string{"", walk, " AND is_admin = 0", " AND created_at >= 0 AND created_at < 99"} {
			if p := plan(t, order, cond); strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "users_deleted_suspended") ||
				strings.Contains(p, "PRIMARY KEY (rowid=?)") {
				t.Errorf("a page by %s%s sorts every user: %s", order, cond, p)
			}
		}
	}
	if loading, err := db.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	for _, order := range orders {
		plan(t, order, walk)
	}
	if err := db.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	// The partial index of live users' names serves no page of the
	// deleted, which would fail with it named.
	if from, _ := (dialect{}).UsersInOrder("username_key", false); strings.Contains(from, "INDEXED BY") {
		t.Errorf("deleted users by name from %q", from)
	}
}

// TestUncommonPagesReadTheirIndex: a page of the administrators, of users
// in a state other than active or of kinds other than normal, when they
// are few, reads them through the partial index that holds them alone
// (migration 0033, sqldb's uncommonIndex) — in id order with no sort, as a
// page by id asks — where it walked every user in the page's order for
// the few: 250 ms at a million users for one administrator, 3.2 s for
// blocked users by name when there were none.
func TestUncommonPagesReadTheirIndex(t *testing.T) {
	t.Parallel()
	db := planned(t)
	pool := db.Pools()["write"]
	for _, c := range []struct{ index, cond string }{
		{"users_admins", "is_admin = 1 AND is_admin"},
		{"users_uncommon_state", "state = 'blocked' AND state <> 'active'"},
		{"users_uncommon_state", "state = 'suspended' AND state <> 'active'"},
		{"users_uncommon_kind", "kind = 'bot' AND kind <> 'normal'"},
	} {
		for _, dir := range []string{"ASC", "DESC"} {
			p := queryPlan(t, pool, "SELECT * FROM "+dialect{}.UsersThrough(c.index)+" WHERE deleted_at IS NULL AND "+c.cond+
				" ORDER BY id "+dir+" LIMIT 21")
			if !strings.Contains(p, c.index) || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("a page of %s by id %s: %s", c.cond, dir, p)
			}
		}
	}
}

// TestNameSearchReadsNoAddresses: a search that looks at no address — a
// user's who is no administrator, Pterodactyl's filter[username] — reads
// the trigram index of usernames and names alone (migration 0034), and an
// administrator's, which looks at addresses too, the index of all three:
// with the latter emptied, only the former still finds. Through the index
// of all three, a search for a string every address holds read every
// address's trigram lists for no match: 573 ms at a million users.
func TestNameSearchReadsNoAddresses(t *testing.T) {
	t.Parallel()
	db := planned(t)
	ctx := context.Background()
	u := &usher.User{UUID: "0f8fad5b-d9cb-469f-a165-70867728950e", Username: "mary", Name: "Mary Shelley",
		Email: "mary@example.org", State: usher.StateActive, Kind: usher.KindNormal, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := db.UserCreate(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pools()["write"].ExecContext(ctx, "INSERT INTO users_fts (users_fts) VALUES ('delete-all')"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    usher.UserFilter
		want int
	}{
		{usher.UserFilter{Query: "helle"}, 1},
		{usher.UserFilter{UsernameContains: "mar"}, 1},
		{usher.UserFilter{Query: "helle", SearchEmail: true}, 0},
		{usher.UserFilter{EmailContains: "example"}, 0},
	} {
		c.f.Page.Limit = 20
		p, err := db.UserList(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != c.want {
			t.Errorf("%+v found %d users, want %d", c.f, len(p.Items), c.want)
		}
	}
}

// TestGroupPagesReadAPage: a page of one kind's live groups, as a list
// of groups reads each kind's, walks an index in every order a list of
// groups sorts by (sqldb's sortExpr) and stops after the page. Before
// migration 0030 a page read every live group of its kinds through the
// index of handles and sorted them all: 10–33 ms for 36,000 groups. A page
// of organisations likewise (migration 0032; 15 ms at 50,000 before).
func TestGroupPagesReadAPage(t *testing.T) {
	t.Parallel()
	pool := planned(t).Pools()["write"]
	for _, expr := range []string{"id", "created_at", "updated_at", "lower(name)", "lower(handle)"} {
		for _, dir := range []string{" ASC", " DESC"} {
			order := expr + dir
			if expr != "id" {
				order += ", id" + dir
			}
			p := queryPlan(t, pool, "SELECT * FROM groups WHERE kind = 'team'"+
				" AND archived_at IS NULL AND deleted_at IS NULL ORDER BY "+order+" LIMIT 21")
			if strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "groups_kind_") {
				t.Errorf("a page of groups by %s sorts every group of the kind: %s", order, p)
			}
			// Organisations sort the same ways (migration 0032).
			p = queryPlan(t, pool, "SELECT * FROM organisations WHERE archived_at IS NULL AND deleted_at IS NULL ORDER BY "+order+" LIMIT 21")
			if strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("a page of organisations by %s sorts every organisation: %s", order, p)
			}
		}
	}
}

// queryPlan is the steps of SQLite's plan of stmt, joined by "; ".
func queryPlan(t *testing.T, pool *sql.DB, stmt string) string {
	t.Helper()
	rows, err := pool.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+stmt)
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "; ")
}

// planned is a migrated database, closed when the test ends.
func planned(t *testing.T) *sqldb.DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestAuditPagesReadAPage: a page of one action's events, as a page of a
// prefix of actions reads each action's, walks audit_events_action in id
// order and stops after the page; a page of the prefix's range read every
// event in it and sorted them all (90–130 ms for 170,000 events).
func TestAuditPagesReadAPage(t *testing.T) {
	t.Parallel()
	pool := planned(t).Pools()["write"]
	p := queryPlan(t, pool, "SELECT * FROM audit_events a WHERE a.action = 'user.login' AND a.at >= 0 AND a.id < 99 ORDER BY a.id DESC LIMIT 21")
	if strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "audit_events_action") {
		t.Errorf("a page of one action sorts its events: %s", p)
	}
}

// TestLookupsReadTheirKeys: statements that look up a few users or groups
// read them by key. Planned without statistics, SQLite took the index on
// deletion for a narrow one and walked every live user: the counts of a
// user's groups (MembershipsOf, every user read that shows groups: 34 ms
// at 50,000 users for two groups of ten), and an import batch's lookups
// of names and external ids in a filled database (UserFind and
// UsernamesHeld: 187 and 86 ms at 200,000 users, each batch).
func TestLookupsReadTheirKeys(t *testing.T) {
	t.Parallel()
	pool := planned(t).Pools()["write"]
	args := strings.NewReplacer("{{group_columns_g}}", "g.id", "{{user_columns}}", "id", "?1", "'[5]'", "?2", "'[]'")
	for file, names := range map[string][]string{
		"membership.sql": {"MembershipsOf"}, "user.sql": {"UserFind"}, "email.sql": {"UsernamesHeld"},
	} {
		text, err := fs.ReadFile(queries, "queries/"+file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			_, stmt, found := strings.Cut(string(text), "-- name: "+name+"\n")
			if !found {
				t.Fatalf("no %s in %s", name, file)
			}
			stmt, _, _ = strings.Cut(stmt, "-- name:")
			if p := queryPlan(t, pool, args.Replace(stmt)); strings.Contains(p, "users_deleted") || strings.Contains(p, "SCAN users") {
				t.Errorf("%s walks the users: %s", name, p)
			}
		}
	}
}
