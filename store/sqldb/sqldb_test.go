package sqldb_test

import (
	"testing"

	"usher/store/postgres"
	"usher/store/sqldb"
	"usher/store/sqlite"
)

// TestMigrationsMatch keeps the dialects' migrations numbered and named
// alike, so that a version means the same schema on both.
func TestMigrationsMatch(t *testing.T) {
	t.Parallel()
	lite, err := sqldb.Migrations(sqlite.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sqldb.Migrations(postgres.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: sqlite %04d_%s, postgres %04d_%s", i, lite[i].Version, lite[i].Name, pg[i].Version, pg[i].Name)
		}
	}
}

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`a%b_c\d`: `a\%b\_c\\d`, "plain": "plain", "": ""} {
		if got := sqldb.EscapeLike(in); got != want {
			t.Errorf("EscapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}
