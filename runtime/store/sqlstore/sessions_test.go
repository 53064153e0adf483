package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestSessionsAcrossReplicas: a session one replica creates, the other reads and sees
// ended once deleted; sessions unused too long are forgotten; an OIDC sign-in is
// taken once, and never after it expired.
func TestSessionsAcrossReplicas(t *testing.T) {
	for _, b := range jobBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			one, two := b.open(t, nil), b.open(t, nil)
			old := store.OperatorSession{IDHash: "old", Operator: "bob", Method: "token", CreatedAt: now.Add(-3 * time.Hour),
				SeenAt: now.Add(-3 * time.Hour), ExpiresAt: now.Add(9 * time.Hour)}
			if err := one.CreateSession(ctx, old, now.Add(-4*time.Hour)); err != nil {
				t.Fatal(err)
			}
			s := store.OperatorSession{IDHash: "h1", Operator: "alice", Method: "oidc", CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(12 * time.Hour)}
			if err := one.CreateSession(ctx, s, now.Add(-2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := two.Session(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a session unused past the idle timeout is kept: %v", err)
			}
			got, err := two.Session(ctx, "h1")
			if err != nil || got.Operator != "alice" || got.Method != "oidc" || !got.ExpiresAt.Equal(s.ExpiresAt) {
				t.Fatalf("the other replica reads %+v, %v", got, err)
			}
			if err := two.TouchSession(ctx, "h1", now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if got, _ := one.Session(ctx, "h1"); !got.SeenAt.Equal(now.Add(time.Minute)) {
				t.Fatalf("seen at %v after the touch", got.SeenAt)
			}
			if err := one.DeleteSession(ctx, "h1"); err != nil {
				t.Fatal(err)
			}
			if _, err := two.Session(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after sign-out the other replica still reads the session: %v", err)
			}

			l := store.OIDCLogin{IDHash: "l1", State: "st", Verifier: "ver", Nonce: "no", ExpiresAt: now.Add(10 * time.Minute)}
			if err := one.SaveOIDCLogin(ctx, l, now); err != nil {
				t.Fatal(err)
			}
			if got, err := two.TakeOIDCLogin(ctx, "l1", now.Add(time.Minute)); err != nil || got.State != "st" || got.Verifier != "ver" || got.Nonce != "no" {
				t.Fatalf("take: %+v, %v", got, err)
			}
			if _, err := one.TakeOIDCLogin(ctx, "l1", now.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a sign-in taken twice: %v", err)
			}
			l.IDHash = "l2"
			if err := one.SaveOIDCLogin(ctx, l, now); err != nil {
				t.Fatal(err)
			}
			if _, err := two.TakeOIDCLogin(ctx, "l2", now.Add(10*time.Minute)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("an expired sign-in taken: %v", err)
			}
		})
	}
}
