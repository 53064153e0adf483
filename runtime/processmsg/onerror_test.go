package processmsg_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/dispatch"
	"github.com/switchboard-chat/switchboard/runtime/processmsg"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

func TestRetryThenSucceed(t *testing.T) {
	r := newRig(t, false)
	contact, conv := r.telegramChat(t, 501)
	r.fake.FailSends(1, http.StatusInternalServerError, "Internal Server Error", 0)
	code, resp := r.post(t, processToken, `{"recipient": {"contactID": "`+contact+`"}, "text": "Your claim {claim} is accepted, {contact_name}.",
		"variables": {"claim": "WC-1042"}, "onError": {"retry": {"attempts": 2, "delay": "1s"}}}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s, want 202 while the message is pending", code, resp)
	}
	st := r.final(t, decode[processmsg.Status](t, resp).ID)
	if st.State != processmsg.StateSent || st.Attempts != 2 || len(st.Messages) != 1 {
		t.Fatalf("status %+v, want sent on the second of 3 attempts, one message", st)
	}
	want := "Your claim WC-1042 is accepted, Vera."
	if got := r.sentTexts(); !slices.Equal(got, []string{want}) {
		t.Errorf("Telegram got %q, want %q once", got, want)
	}
	m := st.Messages[0]
	if m.ConversationID != conv || m.MessageID == 0 || m.State != processmsg.StateSent {
		t.Errorf("message %+v, want sent in %s with its id", m, conv)
	}
	waitFor(t, "the message's delivery recorded as sent", func() bool {
		msgs, _ := r.st.Messages(context.Background(), conv, 0, 10)
		return slices.ContainsFunc(msgs, func(x store.Message) bool {
			return x.ID == m.MessageID && x.Text == want && x.Delivery == store.DeliverySent
		})
	})
}

func TestRetryExhaustedNotifiesUsers(t *testing.T) {
	r := newRig(t, false)
	ctx := context.Background()
	contact, conv := r.telegramChat(t, 502)
	r.fake.FailSends(10, http.StatusBadGateway, "Bad Gateway", 0)
	code, resp := r.post(t, processToken, body(contact, "Your order shipped.",
		`{"retry": {"attempts": 1, "delay": "1s"}, "notify": {"operators": ["alice"]}}`))
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, resp)
	}
	st := r.final(t, decode[processmsg.Status](t, resp).ID)
	if st.State != processmsg.StateFailed || st.Attempts != 2 || !strings.Contains(st.Error, "Bad Gateway") {
		t.Fatalf("status %+v, want failed after 2 attempts with Telegram's answer", st)
	}
	if strings.Contains(st.Error, botToken) {
		t.Errorf("the error shows the bot token: %s", st.Error)
	}
	// The failure is recorded for the notification policies, naming alice…
	var failed store.Event
	waitFor(t, "a DeliveryFailed event", func() bool {
		evs, _ := r.st.Events(ctx, 0, 100)
		i := slices.IndexFunc(evs, func(e store.Event) bool { return e.Type == "DeliveryFailed" })
		if i >= 0 {
			failed = evs[i]
		}
		return i >= 0
	})
	if failed.ConversationID != conv || !strings.Contains(failed.Detail, st.ID) {
		t.Errorf("DeliveryFailed %+v, want it about %s naming the process message", failed, conv)
	}
	// …and the dispatcher plans alice's email through the policy's onError send.
	// (Without the sample's digest window, so the delivery's key is the event's.)
	cfg := *r.cfg
	cfg.Policies = slices.Clone(cfg.Policies)
	for i := range cfg.Policies {
		cfg.Policies[i].BatchWindow = config.Duration{}
	}
	d := dispatch.New(dispatch.Options{Store: r.st, Config: func() *config.Config { return &cfg }})
	if _, err := d.Step(ctx); err != nil {
		t.Fatal(err)
	}
	key := "notify/support-notifications/onError/operator:alice/email/event:" + strconv.FormatInt(failed.ID, 10)
	job, err := r.st.Job(ctx, key)
	if err != nil {
		t.Fatalf("no notification to alice (%s): %v", key, err)
	}
	if !strings.Contains(string(job.Payload), "alice@example.com") {
		t.Errorf("the notification goes to %s, want alice's address", job.Payload)
	}
	waitFor(t, "the failure in the activity stream and on the message", func() bool {
		acts, _ := r.st.Activity(ctx, conv, 0, 0)
		msgs, _ := r.st.Messages(ctx, conv, 0, 10)
		return slices.ContainsFunc(acts, func(a store.Activity) bool { return a.Type == "ProcessMessageFailed" }) &&
			slices.ContainsFunc(msgs, func(m store.Message) bool { return m.Delivery == store.DeliveryFailed })
	})
}

func TestInterruptSynchronous(t *testing.T) {
	tests := []struct {
		name     string
		fail     bool
		wantCode int
		wantSent int
	}{
		{name: "sent", wantCode: http.StatusOK, wantSent: 1},
		{name: "failed", fail: true, wantCode: http.StatusBadGateway},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, false)
			contact, _ := r.telegramChat(t, int64(600+i))
			if tt.fail {
				r.fake.FailSends(1, http.StatusForbidden, "Forbidden: bot was blocked by the user", 0)
			}
			code, resp := r.post(t, processToken, body(contact, "We need one more photo.", `{"interrupt": {}}`))
			if code != tt.wantCode {
				t.Fatalf("POST: %d %s, want %d", code, resp, tt.wantCode)
			}
			if len(r.fake.Sent()) != tt.wantSent {
				t.Errorf("Telegram got %d messages, want %d", len(r.fake.Sent()), tt.wantSent)
			}
			if !tt.fail {
				if st := decode[processmsg.Status](t, resp); st.State != processmsg.StateSent {
					t.Errorf("answer %+v, want sent", st)
				}
				return
			}
			b := decode[struct {
				Error          struct{ Code, Message string }
				ProcessMessage processmsg.Status
			}](t, resp)
			if b.Error.Code != "send_failed" || !strings.Contains(b.Error.Message, "bot was blocked") ||
				b.ProcessMessage.State != processmsg.StateFailed || b.ProcessMessage.Attempts != 1 {
				t.Errorf("answer %s, want send_failed with Telegram's reason after one attempt", resp)
			}
		})
	}
}

func TestInterruptCallback(t *testing.T) {
	r := newRig(t, false)
	contact, _ := r.telegramChat(t, 701)
	type call struct {
		verified bool
		body     processmsg.CallbackBody
		event    string
	}
	calls := make(chan call, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var c call
		c.verified = verify([]byte(processToken), req.Header, raw, time.Now())
		c.event = req.Header.Get("X-Switchboard-Event")
		_ = json.Unmarshal(raw, &c.body)
		calls <- c
	}))
	defer receiver.Close()
	r.fake.FailSends(1, http.StatusForbidden, "Forbidden: bot was blocked by the user", 0)
	code, resp := r.post(t, processToken, body(contact, "Your claim is rejected.",
		`{"interrupt": {"callbackURL": "`+receiver.URL+`/process/branch?instance=42"}}`))
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s, want 202: the failure comes by callback", code, resp)
	}
	id := decode[processmsg.Status](t, resp).ID
	select {
	case c := <-calls:
		if !c.verified {
			t.Error("the callback's signature does not verify with the process API token")
		}
		if c.event != "ProcessMessageFailed" || c.body.ProcessMessage.ID != id || c.body.ProcessMessage.State != processmsg.StateFailed ||
			!strings.Contains(c.body.ProcessMessage.Error, "bot was blocked") {
			t.Errorf("callback %+v, want process message %s failed with Telegram's reason", c, id)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no callback came")
	}
}

// verify checks a callback as docs/api.md tells receivers to: the HMAC-SHA256 of
// the timestamp, a dot and the raw body, keyed with the token, signed lately.
func verify(secret []byte, h http.Header, body []byte, now time.Time) bool {
	ts := h.Get("X-Switchboard-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(h.Get("X-Switchboard-Signature")), []byte(want))
}
