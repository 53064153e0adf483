package processmsg_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/processmsg"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

func TestAuthentication(t *testing.T) {
	on, off := newRig(t, false), newRig(t, true)
	contact, _ := on.telegramChat(t, 801)
	tests := []struct {
		name     string
		rig      *rig
		token    string
		wantCode int
		wantMsg  string
	}{
		{name: "API off", rig: off, token: processToken, wantCode: http.StatusNotFound, wantMsg: "set spec.processAPI.tokenSecretRef"},
		{name: "no token", rig: on, wantCode: http.StatusUnauthorized, wantMsg: "Authorization: Bearer"},
		{name: "wrong token", rig: on, token: processToken + "x", wantCode: http.StatusUnauthorized},
		{name: "an operator's credential is not the process token", rig: on, token: "sample-token-alice", wantCode: http.StatusUnauthorized},
		{name: "right token", rig: on, token: processToken, wantCode: http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := tt.rig.post(t, tt.token, body(contact, "Hello", ""))
			if code != tt.wantCode || !strings.Contains(resp, tt.wantMsg) {
				t.Errorf("POST: %d %s, want %d saying %q", code, resp, tt.wantCode, tt.wantMsg)
			}
			if code, resp := tt.rig.do(t, http.MethodGet, "/api/v1/process-messages/nothing", tt.token, ""); tt.wantCode != http.StatusAccepted && code != tt.wantCode {
				t.Errorf("GET: %d %s, want %d", code, resp, tt.wantCode)
			}
		})
	}
	t.Run("guessing is throttled", func(t *testing.T) {
		codes := map[int]int{}
		for range 40 {
			code, _ := on.post(t, "guess-0123456789abcdef", body(contact, "Hello", ""))
			codes[code]++
		}
		if codes[http.StatusTooManyRequests] == 0 {
			t.Errorf("40 wrong tokens in a row got %v, want 429s once the address's allowance is spent", codes)
		}
	})
}

func TestValidation(t *testing.T) {
	r := newRig(t, false)
	contact, conv := r.telegramChat(t, 901)
	tests := []struct {
		name     string
		body     string
		wantCode int
		wantMsg  string
	}{
		{name: "unknown variable", body: `{"recipient": {"contactID": "` + contact + `"}, "text": "Claim {claim} of {contact_name}: {status}", "variables": {"claim": "WC-1"}}`,
			wantCode: http.StatusBadRequest, wantMsg: "the text uses {status}, which no variable sets"},
		{name: "no recipient", body: `{"recipient": {}, "text": "Hello"}`, wantCode: http.StatusBadRequest, wantMsg: "recipient is empty"},
		{name: "both recipients", body: `{"recipient": {"contactID": "` + contact + `", "conversationID": "` + conv + `"}, "text": "Hello"}`,
			wantCode: http.StatusBadRequest, wantMsg: "set only one of"},
		{name: "unknown contact", body: body("no-such-contact", "Hello", ""), wantCode: http.StatusNotFound, wantMsg: `contact "no-such-contact" does not exist`},
		{name: "unknown conversation", body: `{"recipient": {"conversationID": "nope"}, "text": "Hello"}`, wantCode: http.StatusNotFound,
			wantMsg: `conversation "nope" does not exist`},
		{name: "unknown mode", body: `{"recipient": {"contactID": "` + contact + `"}, "mode": "email", "text": "Hello"}`,
			wantCode: http.StatusBadRequest, wantMsg: `mode "email" is not known`},
		{name: "channel of another contact", body: `{"recipient": {"contactID": "` + contact + `"}, "mode": "app", "channel": "website", "text": "Hello"}`,
			wantCode: http.StatusBadRequest, wantMsg: `the contact writes on channel "telegram", not "website"`},
		{name: "another LiveChat", body: `{"recipient": {"contactID": "` + contact + `"}, "sender": "shop", "text": "Hello"}`,
			wantCode: http.StatusBadRequest, wantMsg: `sender "shop" is not the LiveChat this runtime serves`},
		{name: "retry and interrupt", body: body(contact, "Hello", `{"retry": {"attempts": 1}, "interrupt": {}}`),
			wantCode: http.StatusBadRequest, wantMsg: "cannot go with onError.retry"},
		{name: "notify someone unknown", body: body(contact, "Hello", `{"notify": {"operators": ["zed"]}}`),
			wantCode: http.StatusBadRequest, wantMsg: `"zed" is not a person of LiveChat support`},
		{name: "callback not a URL", body: body(contact, "Hello", `{"interrupt": {"callbackURL": "ftp://x"}}`),
			wantCode: http.StatusBadRequest, wantMsg: "callbackURL must be an absolute http:// or https:// URL"},
		{name: "unknown field", body: `{"recipient": {"contactID": "` + contact + `"}, "text": "Hello", "priority": 1}`,
			wantCode: http.StatusBadRequest, wantMsg: "priority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := r.post(t, processToken, tt.body)
			if code != tt.wantCode || !strings.Contains(unquoted(resp), tt.wantMsg) {
				t.Errorf("POST: %d %s, want %d saying %q", code, resp, tt.wantCode, tt.wantMsg)
			}
		})
	}
	if n, _ := r.st.JobStats(context.Background()); slices.ContainsFunc(n, func(s store.JobStats) bool { return s.Kind == processmsg.KindWrite }) {
		t.Error("a refused request stored a process message")
	}
}

func TestIdempotencyKey(t *testing.T) {
	r := newRig(t, false)
	contact, _ := r.telegramChat(t, 1001)
	req := body(contact, "Your refund is on its way.", `{"interrupt": {}}`)
	code1, resp1 := r.post(t, processToken, req, "Idempotency-Key", "refund-77")
	code2, resp2 := r.post(t, processToken, req, "Idempotency-Key", "refund-77")
	if code1 != http.StatusOK || code2 != http.StatusOK {
		t.Fatalf("POSTs: %d %s, %d %s, want both 200", code1, resp1, code2, resp2)
	}
	if a, b := decode[processmsg.Status](t, resp1), decode[processmsg.Status](t, resp2); a.ID != b.ID || a.Messages[0].MessageID != b.Messages[0].MessageID {
		t.Errorf("the repeat is process message %+v, want the first %+v", b, a)
	}
	if n := len(r.fake.Sent()); n != 1 {
		t.Errorf("Telegram got %d messages, want 1", n)
	}
	code, resp := r.post(t, processToken, body(contact, "Something else.", `{"interrupt": {}}`), "Idempotency-Key", "refund-77")
	if code != http.StatusConflict || !strings.Contains(resp, "Idempotency-Key was used for another request") {
		t.Errorf("another body under the same key: %d %s, want 409", code, resp)
	}
	if _, resp := r.post(t, processToken, req, "Idempotency-Key", "refund-78"); decode[processmsg.Status](t, resp).ID == decode[processmsg.Status](t, resp1).ID {
		t.Error("another key gave the same process message")
	}
}

func TestActivityStreamAndStatus(t *testing.T) {
	r := newRig(t, false)
	ctx := context.Background()
	_, conv := r.telegramChat(t, 1101)
	code, resp := r.post(t, processToken, `{"recipient": {"conversationID": "`+conv+`"}, "mode": "app", "text": "Claim accepted.",
		"object": {"kind": "WarrantyClaim", "id": "WC-1042", "title": "Kettle, broken lid"}, "onError": {"interrupt": {}}}`)
	if code != http.StatusOK {
		t.Fatalf("POST: %d %s", code, resp)
	}
	st := r.status(t, decode[processmsg.Status](t, resp).ID)
	if st.State != processmsg.StateSent || st.Mode != processmsg.ModeApp || st.Recipient.ConversationID != conv || st.FinishedAt == nil ||
		st.Object == nil || st.Object.ID != "WC-1042" || len(st.Messages) != 1 || st.Messages[0].Channel != "telegram" {
		t.Errorf("status %+v, want the sent message in %s with its object", st, conv)
	}
	acts, err := r.st.Activity(ctx, conv, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(acts, func(a store.Activity) bool { return a.Type == "ProcessMessage" })
	if i < 0 || acts[i].Actor != "process:"+st.ID || !strings.Contains(acts[i].Detail, "about WarrantyClaim WC-1042 (Kettle, broken lid)") {
		t.Errorf("activity %+v, want the process message about the claim", acts)
	}
	if code, resp := r.do(t, http.MethodGet, "/api/v1/process-messages/unknown-id", processToken, ""); code != http.StatusNotFound ||
		!strings.Contains(unquoted(resp), `process message "unknown-id" does not exist`) {
		t.Errorf("unknown id: %d %s, want 404", code, resp)
	}
}

func TestWidgetConversationIsReachedLive(t *testing.T) {
	r := newRig(t, false)
	code, resp := r.do(t, http.MethodPost, "/api/v1/channels/website/conversations", "", `{"name": "Vera", "email": "vera@example.com", "text": "Hi"}`)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("opening a widget chat: %d %s", code, resp)
	}
	conv := decode[struct{ Conversation struct{ ID string } }](t, resp).Conversation.ID
	code, resp = r.post(t, processToken, `{"recipient": {"conversationID": "`+conv+`"}, "text": "Your claim is accepted.", "onError": {"interrupt": {}}}`)
	if code != http.StatusOK || decode[processmsg.Status](t, resp).State != processmsg.StateSent {
		t.Errorf("POST: %d %s, want sent as it is stored", code, resp)
	}
	msgs, _ := r.st.Messages(context.Background(), conv, 0, 10)
	if !slices.ContainsFunc(msgs, func(m store.Message) bool { return m.Text == "Your claim is accepted." && m.AuthorKind == "system" }) {
		t.Errorf("messages %+v, want the process message", msgs)
	}
}

// unquoted is a JSON answer with its escaped quotes plain, for matching messages.
func unquoted(resp string) string { return strings.ReplaceAll(resp, `\"`, `"`) }
