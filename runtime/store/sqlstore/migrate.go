package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// versionTable is where goose records the migrations applied.
const versionTable = "goose_db_version"

// migrate applies the embedded migrations not applied yet, each in its own
// transaction, with goose; opts add a session locker where replicas share a database.
func (db *DB) migrate(ctx context.Context, gooseDialect goose.Dialect, opts ...goose.ProviderOption) error {
	if err := db.adoptOldVersionTable(ctx, gooseDialect); err != nil {
		return fmt.Errorf("adopting the migration history: %w", err)
	}
	dir, err := fs.Sub(migrations, "migrations/"+db.d.name)
	if err != nil {
		return err
	}
	provider, err := goose.NewProvider(gooseDialect, db.write, dir,
		append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithTableName(versionTable)}, opts...)...)
	if err != nil {
		return err
	}
	if _, err := provider.Up(ctx); err != nil {
		var partial *goose.PartialError
		if errors.As(err, &partial) && partial.Failed != nil && partial.Failed.Source != nil {
			return fmt.Errorf("migration %s: %w", partial.Failed.Source.Path, partial.Err)
		}
		return err
	}
	return nil
}

// adoptOldVersionTable carries the history of databases migrated before goose (a
// schema_migrations table of "0001_init"-style versions) into goose's table, once, so
// goose does not apply those migrations again.
func (db *DB) adoptOldVersionTable(ctx context.Context, gooseDialect goose.Dialect) error {
	gooseStore, err := database.NewStore(gooseDialect, versionTable)
	if err != nil {
		return err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if db.d.dollar {
		// One replica at a time; the lock ends with the transaction.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7412093)`); err != nil {
			return err
		}
	}
	hasOld, err := db.tableExists(ctx, tx, "schema_migrations")
	if err != nil || !hasOld {
		return err
	}
	if err := gooseStore.CreateVersionTable(ctx, tx); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return err
	}
	var versions []int64
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		n, err := strconv.ParseInt(strings.SplitN(name, "_", 2)[0], 10, 64)
		if err != nil {
			rows.Close()
			return fmt.Errorf("schema_migrations holds version %q, which names no migration", name)
		}
		versions = append(versions, n)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	// Goose starts its table with version 0 and looks for it to know the table exists.
	for _, v := range append([]int64{0}, versions...) {
		if err := gooseStore.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE schema_migrations`); err != nil {
		return err
	}
	return tx.Commit()
}

func (db *DB) tableExists(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	query := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if db.d.dollar {
		query = `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`
	}
	var n int
	err := tx.QueryRowContext(ctx, query, name).Scan(&n)
	return n > 0, err
}
