package channels_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/channels/telegram"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

// TestTwoReplicasSendEachReplyOnce: two runtimes share one PostgreSQL database and
// one bot. The webhook is registered once; a thousand replies, made on both replicas,
// each reach Telegram exactly once, in order per chat.
func TestTwoReplicasSendEachReplyOnce(t *testing.T) {
	uri := pgtest.Database(t, pg)
	ctx := context.Background()
	open := func() *sqlstore.DB {
		st, err := sqlstore.OpenPostgres(ctx, uri, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	fake := telegramfake.New(telegramfake.Bot{Token: sampleToken})
	t.Cleanup(fake.Close)
	opts := rigOptions{publicURL: "https://chat.example.test", fake: fake, maxChats: 100, unlimited: true}
	a, b := newRig(t, open(), opts), newRig(t, open(), opts)
	replicas := []*rig{a, b}

	start := time.Now()
	const chats, perChat = 100, 10
	secret := telegram.SecretToken([]byte(sampleToken))
	convs := make([]string, chats)
	for i := range chats {
		r := replicas[i%2]
		user := telegramfake.User{ID: int64(5000 + i), FirstName: "U" + strconv.Itoa(i)}
		if rec := serveWebhook(r, "telegram", fake.TextUpdate(user, "hi"), secret); rec.Code != http.StatusOK {
			t.Fatalf("webhook on replica %d: %d %s", i%2, rec.Code, rec.Body)
		}
		c, err := r.st.ContactByExternalID(ctx, "telegram", strconv.Itoa(5000+i))
		if err != nil {
			t.Fatal(err)
		}
		cs, err := r.st.Conversations(ctx, store.ConversationFilter{ContactID: c.ID})
		if err != nil || len(cs) != 1 {
			t.Fatalf("conversations of %s: %v %v", c.ID, cs, err)
		}
		convs[i] = cs[0].ID
		if _, err := r.engine.Take(ctx, "bob", convs[i]); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("chats open at %v", time.Since(start))
	for n := range perChat {
		for i := range chats {
			if _, err := replicas[(i+n)%2].engine.Reply(ctx, "bob", convs[i], fmt.Sprintf("chat %d reply %d", i, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := chats * perChat
	t.Logf("replies stored at %v; %d sent so far", time.Since(start), len(fake.Sent()))
	waitFor(t, "every reply sent", 60*time.Second, func() bool { return len(fake.Sent()) >= total })
	t.Logf("all sent at %v", time.Since(start))
	time.Sleep(300 * time.Millisecond) // room for a second send to show up
	sent := fake.Sent()
	if len(sent) != total {
		t.Fatalf("Telegram got %d messages for %d replies", len(sent), total)
	}
	next := map[int64]int{}
	for _, s := range sent {
		if want := fmt.Sprintf("chat %d reply %d", s.ChatID-5000, next[s.ChatID]); s.Text != want {
			t.Fatalf("chat %d got %q, want %q", s.ChatID, s.Text, want)
		}
		next[s.ChatID]++
	}
	if _, sets, _ := fake.Webhook(); sets != 1 {
		t.Fatalf("setWebhook called %d times by two replicas, want once", sets)
	}
}
