package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/channels/telegram"
)

// telegramSetup points the sample Telegram channel of dir at a fake Bot API of its own.
func telegramSetup(t *testing.T, dir string) *telegramfake.Server {
	t.Helper()
	fake := telegramfake.New(telegramfake.Bot{Token: sampleBotToken})
	t.Cleanup(fake.Close)
	edit(t, dir, "channels.yaml", "apiBaseURL: "+sampleTelegram().URL, "apiBaseURL: "+fake.URL)
	return fake
}

// waitSent waits until the fake Bot API accepted a message with the text.
func waitSent(t *testing.T, fake *telegramfake.Server, text string) telegramfake.Sent {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, s := range fake.Sent() {
			if s.Text == text {
				return s
			}
		}
	}
	t.Fatalf("Telegram never got %q; it got %+v", text, fake.Sent())
	return telegramfake.Sent{}
}

// conversationOfMessage waits for a messenger contact's message to reach the
// console, and returns its conversation id.
func conversationOfMessage(t *testing.T, c *ws, text string) string {
	t.Helper()
	ev := c.waitEvent(t, "the contact's message on the console", isMessage(text))
	id, _ := field(ev, "message", "conversationID").(string)
	if id == "" {
		t.Fatalf("message event without a conversation: %v", ev)
	}
	return id
}

// deliveryOf reads an operator's message's delivery state through the API.
func deliveryOf(t *testing.T, rt *runtime, token, conversation, text string) (state, reason string) {
	t.Helper()
	var msgs struct {
		Messages []struct {
			Text          string `json:"text"`
			Delivery      string `json:"delivery"`
			DeliveryError string `json:"deliveryError"`
		} `json:"messages"`
	}
	call(t, "GET", rt.base+"/api/v1/conversations/"+conversation+"/messages", token, nil, &msgs)
	for _, m := range msgs.Messages {
		if m.Text == text {
			return m.Delivery, m.DeliveryError
		}
	}
	t.Fatalf("no message %q in %+v", text, msgs)
	return "", ""
}

func waitDelivery(t *testing.T, rt *runtime, token, conversation, text, want string) string {
	t.Helper()
	var got, reason string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, reason = deliveryOf(t, rt, token, conversation, text); got == want {
			return reason
		}
	}
	t.Fatalf("delivery of %q is %q (%s), want %q", text, got, reason, want)
	return ""
}

// TestTelegramLongPolling runs the standalone runtime, without a public URL, as a real
// process: it fetches a Telegram user's message by long polling, the message reaches
// an operator's console through the queue, and the operator's reply reaches Telegram.
func TestTelegramLongPolling(t *testing.T) {
	dir := manifestsDir(t)
	fake := telegramSetup(t, dir)
	_, rt := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))
	online(t, rt, alice)
	c := console(t, rt, alice)

	ada := telegramfake.User{ID: 4242, FirstName: "Ada", LastName: "Lovelace"}
	fake.Queue(fake.TextUpdate(ada, "Hello from Telegram"))
	id := conversationOfMessage(t, c, "Hello from Telegram")
	accept(t, rt, alice, id)
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/messages", alice, map[string]string{"text": "Hi Ada, how can I help?"}, nil); code != http.StatusCreated {
		t.Fatalf("reply: %d", code)
	}
	sent := waitSent(t, fake, "Hi Ada, how can I help?")
	if sent.ChatID != ada.ID {
		t.Fatalf("the reply went to chat %d, want %d", sent.ChatID, ada.ID)
	}
	waitDelivery(t, rt, alice, id, "Hi Ada, how can I help?", "sent")
	c.waitEvent(t, "the delivery state on the console", func(ev map[string]any) bool {
		return ev["type"] == "delivery" && field(ev, "message", "delivery") == "sent"
	})

	// The next message of the same user lands in the same conversation.
	fake.Queue(fake.TextUpdate(ada, "I cannot log in"))
	if again := conversationOfMessage(t, c, "I cannot log in"); again != id {
		t.Fatalf("the second message opened conversation %s, want %s", again, id)
	}
	if _, _, deletes := fake.Webhook(); deletes == 0 {
		t.Fatal("polling began without removing a webhook that may be set")
	}

	// A user who blocked the bot: the reply fails for good, and the console says why.
	fake.Block(ada.ID)
	call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/messages", alice, map[string]string{"text": "Are you still there?"}, nil)
	if reason := waitDelivery(t, rt, alice, id, "Are you still there?", "failed"); !strings.Contains(reason, "blocked") {
		t.Fatalf("the failure reason %q does not say the user blocked the bot", reason)
	}
}

// TestTelegramWebhook runs a runtime with a public https URL: it registers its webhook
// with the derived secret token, takes updates only with that token, stores a
// redelivered update once, and answers only after storing.
func TestTelegramWebhook(t *testing.T) {
	dir := manifestsDir(t)
	fake := telegramSetup(t, dir)
	edit(t, dir, "livechat.yaml", "publicURL: http://localhost:8080", "publicURL: https://chat.example.test")
	_, rt := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))

	var hook telegramfake.Webhook
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var sets int
		if hook, sets, _ = fake.Webhook(); sets > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the runtime never called setWebhook")
		}
	}
	if hook.URL != "https://chat.example.test/webhooks/telegram" || hook.SecretToken != telegram.SecretToken([]byte(sampleBotToken)) ||
		!slices.Equal(hook.AllowedUpdates, []string{"message"}) {
		t.Fatalf("webhook registered as %+v", hook)
	}
	online(t, rt, alice)
	c := console(t, rt, alice)
	ctx := context.Background()
	// Telegram would post to the public URL; a reverse proxy passes it to the runtime.
	local := rt.base + "/webhooks/telegram"
	grace := telegramfake.User{ID: 777, FirstName: "Grace"}

	forged := fake.TextUpdate(grace, "forged message")
	for _, secret := range []string{"", "wrong", sampleBotToken} {
		if code, err := telegramfake.DeliverTo(ctx, http.DefaultClient, local, secret, forged); err != nil || code != http.StatusForbidden {
			t.Fatalf("an update with secret %q: %d %v, want 403", secret, code, err)
		}
	}
	if code, _ := telegramfake.DeliverTo(ctx, http.DefaultClient, local, hook.SecretToken, []byte(`{"update_id":`)); code != http.StatusBadRequest {
		t.Fatalf("a malformed update: %d, want 400", code)
	}

	update := fake.TextUpdate(grace, "Hello over the webhook")
	for range 3 { // Telegram delivers again when it is not sure we got it
		if code, err := telegramfake.DeliverTo(ctx, http.DefaultClient, local, hook.SecretToken, update); err != nil || code != http.StatusOK {
			t.Fatalf("delivering the update: %d %v", code, err)
		}
	}
	id := conversationOfMessage(t, c, "Hello over the webhook")
	var msgs struct{ Messages []struct{ Text string } }
	call(t, "GET", rt.base+"/api/v1/conversations/"+id+"/messages", alice, nil, &msgs)
	if len(msgs.Messages) != 1 {
		t.Fatalf("the conversation holds %+v: want the update once, and nothing forged", msgs)
	}
	accept(t, rt, alice, id)
	call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/messages", alice, map[string]string{"text": "Welcome, Grace"}, nil)
	if sent := waitSent(t, fake, "Welcome, Grace"); sent.ChatID != grace.ID {
		t.Fatalf("reply sent to %d", sent.ChatID)
	}

	var status struct {
		Channels []struct {
			Channel, Reason, WebhookURL string
			Connected                   bool
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		call(t, "GET", rt.metrics+"/status", "", nil, &status)
		if len(status.Channels) == 1 && status.Channels[0].Connected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/status says %+v, want the telegram channel connected", status.Channels)
		}
	}
	if s := status.Channels[0]; s.Channel != "telegram" || s.Reason != "Connected" || s.WebhookURL != hook.URL {
		t.Fatalf("/status says %+v", s)
	}
}
