package telegram

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
)

// TestNoSecretInErrors: no error the adapter returns, whatever fails, holds the bot
// token or the webhook secret derived from it, even when the API's answer echoes the
// token back.
func TestNoSecretInErrors(t *testing.T) {
	fake := newFake(t)
	secret := SecretToken([]byte(token))
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	ctx := context.Background()
	out := channels.Outgoing{To: "42", Text: "hi"}

	wrong := newAdapter(t, fake, token+"x")
	collect(wrong.Probe(ctx))
	collect(wrong.Register(ctx, "https://chat.example.com/webhooks/tg"))
	_, err := wrong.Send(ctx, out)
	collect(err)

	a := newAdapter(t, fake, token)
	for _, f := range []struct {
		code        int
		description string
		retryAfter  int
	}{
		{http.StatusInternalServerError, "Internal Server Error", 0},
		{http.StatusTooManyRequests, "Too Many Requests: retry after 3", 3},
		{http.StatusForbidden, "Forbidden: bot was blocked by the user", 0},
		{http.StatusBadRequest, "Bad Request: token " + token + " echoed, secret " + secret, 0},
		{http.StatusUnauthorized, "Unauthorized " + token, 0},
	} {
		fake.FailNext(1, f.code, f.description, f.retryAfter)
		_, err := a.Send(ctx, out)
		collect(err)
		fake.FailNext(1, f.code, f.description, f.retryAfter)
		collect(a.Register(ctx, "https://chat.example.com/webhooks/tg"))
	}
	body := fake.TextUpdate(telegramfake.User{ID: 42, FirstName: "Ada"}, "hi")
	for _, s := range []string{"", "wrong", token, secret + "x"} {
		_, err := a.Webhook(webhookRequest(body, s), body)
		collect(err)
	}
	for _, b := range []string{``, `{`, `{"update_id": "` + token + `"}`} {
		_, err := a.Webhook(webhookRequest([]byte(b), secret), []byte(b))
		collect(err)
	}
	fake.Close()
	collect(a.Probe(ctx))
	collect(a.Deregister(ctx))
	_, err = a.Send(ctx, out)
	collect(err)

	if len(errs) < 20 {
		t.Fatalf("only %d errors collected", len(errs))
	}
	for _, err := range errs {
		msg := err.Error()
		var re *channels.RequestError
		if errors.As(err, &re) {
			msg += " " + re.Message
		}
		for _, s := range []string{token, secret, "AAHfake"} {
			if strings.Contains(msg, s) {
				t.Errorf("error %q holds a secret", msg)
			}
		}
	}
}
