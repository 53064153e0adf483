package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// CreateSession stores a new operator session and forgets the sessions that ended
// unused before idleBefore or expired before s.CreatedAt, so the table holds only
// live ones.
func (db *DB) CreateSession(ctx context.Context, s store.OperatorSession, idleBefore time.Time) (err error) {
	defer db.timed("create_session")(&err)
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.stmt(ctx, tx, `DELETE FROM operator_sessions WHERE seen_at < ? OR expires_at <= ?`).
			exec(ctx, ms(idleBefore), ms(s.CreatedAt)); err != nil {
			return err
		}
		_, err := db.stmt(ctx, tx, `INSERT INTO operator_sessions (id_hash, operator, method, credential, created_at, seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`).exec(ctx, s.IDHash, s.Operator, s.Method, s.Credential, ms(s.CreatedAt), ms(s.SeenAt), ms(s.ExpiresAt))
		return err
	}, nil)
}

// Session returns the operator session stored under idHash; store.ErrNotFound when
// there is none (it ended, or never was).
func (db *DB) Session(ctx context.Context, idHash string) (s store.OperatorSession, err error) {
	defer db.timed("get_session")(&err)
	var created, seen, expires int64
	err = db.readQueryRow(ctx, `SELECT operator, method, credential, created_at, seen_at, expires_at FROM operator_sessions WHERE id_hash = ?`, idHash).
		Scan(&s.Operator, &s.Method, &s.Credential, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return s, store.ErrNotFound
	}
	if err != nil {
		return s, err
	}
	s.IDHash, s.CreatedAt, s.SeenAt, s.ExpiresAt = idHash, time.UnixMilli(created), time.UnixMilli(seen), time.UnixMilli(expires)
	return s, nil
}

// TouchSession records that the session was used at seen.
func (db *DB) TouchSession(ctx context.Context, idHash string, seen time.Time) (err error) {
	defer db.timed("touch_session")(&err)
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.stmt(ctx, tx, `UPDATE operator_sessions SET seen_at = ? WHERE id_hash = ? AND seen_at < ?`).
			exec(ctx, ms(seen), idHash, ms(seen))
		return err
	}, nil)
}

// DeleteSession ends a session; ending one that is gone already is no error.
func (db *DB) DeleteSession(ctx context.Context, idHash string) (err error) {
	defer db.timed("delete_session")(&err)
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.stmt(ctx, tx, `DELETE FROM operator_sessions WHERE id_hash = ?`).exec(ctx, idHash)
		return err
	}, nil)
}

// SaveOIDCLogin stores a sign-in under way and forgets those that expired.
func (db *DB) SaveOIDCLogin(ctx context.Context, l store.OIDCLogin, now time.Time) (err error) {
	defer db.timed("save_oidc_login")(&err)
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.stmt(ctx, tx, `DELETE FROM oidc_logins WHERE expires_at <= ?`).exec(ctx, ms(now)); err != nil {
			return err
		}
		_, err := db.stmt(ctx, tx, `INSERT INTO oidc_logins (id_hash, state, verifier, nonce, expires_at) VALUES (?, ?, ?, ?, ?)`).
			exec(ctx, l.IDHash, l.State, l.Verifier, l.Nonce, ms(l.ExpiresAt))
		return err
	}, nil)
}

// TakeOIDCLogin returns the sign-in stored under idHash and deletes it, so it is
// used once; store.ErrNotFound when there is none, or it expired by now.
func (db *DB) TakeOIDCLogin(ctx context.Context, idHash string, now time.Time) (l store.OIDCLogin, err error) {
	defer db.timed("take_oidc_login")(&err)
	var expires int64
	err = db.tx(ctx, func(tx *sql.Tx) error {
		err := db.stmt(ctx, tx, `SELECT state, verifier, nonce, expires_at FROM oidc_logins WHERE id_hash = ?`).
			queryRow(ctx, idHash).Scan(&l.State, &l.Verifier, &l.Nonce, &expires)
		if err != nil {
			return err
		}
		res, err := db.stmt(ctx, tx, `DELETE FROM oidc_logins WHERE id_hash = ?`).exec(ctx, idHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return sql.ErrNoRows // another replica took it meanwhile
		}
		return nil
	}, nil)
	if errors.Is(err, sql.ErrNoRows) {
		return store.OIDCLogin{}, store.ErrNotFound
	}
	if err != nil {
		return store.OIDCLogin{}, err
	}
	l.IDHash, l.ExpiresAt = idHash, time.UnixMilli(expires)
	if !now.Before(l.ExpiresAt) {
		return store.OIDCLogin{}, store.ErrNotFound
	}
	return l, nil
}
