package metafake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	pageToken   = "EAAGpageTOKEN"
	accessToken = "EAAGwhatsappTOKEN"
)

func newFake(t *testing.T, now func() time.Time) *Server {
	t.Helper()
	s := New(Options{PageID: "1001", PageToken: pageToken, AppID: "5005", PhoneNumberID: "2002",
		BusinessAccountID: "3003", AccessToken: accessToken, Version: "v21.0", Now: now})
	t.Cleanup(s.Close)
	return s
}

type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func (a answer) code() int {
	e, _ := a.body["error"].(map[string]any)
	n, _ := e["code"].(float64)
	return int(n)
}

func call(t *testing.T, s *Server, method, path, token, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	_ = json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

const messengerText = `{"recipient":{"id":"4004"},"messaging_type":"RESPONSE","message":{"text":"hi"}}`
const whatsAppText = `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15550001111","type":"text","text":{"body":"hi"}}`

func TestRequestsAreCheckedStrictly(t *testing.T) {
	s := newFake(t, nil)
	tests := []struct {
		name, method, path, token, body string
		status, code                    int
	}{
		{"messenger send", "POST", "/v21.0/1001/messages", pageToken, messengerText, 200, 0},
		{"messenger send via me", "POST", "/v21.0/me/messages", pageToken, messengerText, 200, 0},
		{"wrong token", "POST", "/v21.0/1001/messages", "EAAGother", messengerText, 401, 190},
		{"the other product's token", "POST", "/v21.0/1001/messages", accessToken, messengerText, 401, 190},
		{"no token", "POST", "/v21.0/1001/messages", "", messengerText, 400, 2500},
		{"token in the query", "GET", "/v21.0/me?access_token=" + pageToken, pageToken, "", 400, 100},
		{"other version", "POST", "/v20.0/1001/messages", pageToken, messengerText, 400, 2635},
		{"no version", "POST", "/1001/messages", pageToken, messengerText, 400, 2500},
		{"other page", "POST", "/v21.0/1009/messages", pageToken, messengerText, 400, 100},
		{"unknown edge", "POST", "/v21.0/1001/feed", pageToken, messengerText, 400, 100},
		{"no messaging_type", "POST", "/v21.0/1001/messages", pageToken, `{"recipient":{"id":"4004"},"message":{"text":"hi"}}`, 400, 100},
		{"no recipient", "POST", "/v21.0/1001/messages", pageToken, `{"messaging_type":"RESPONSE","message":{"text":"hi"}}`, 400, 100},
		{"bad recipient", "POST", "/v21.0/1001/messages", pageToken, `{"recipient":{"id":"x"},"messaging_type":"RESPONSE","message":{"text":"hi"}}`, 400, 100},
		{"empty text", "POST", "/v21.0/1001/messages", pageToken, `{"recipient":{"id":"4004"},"messaging_type":"RESPONSE","message":{"text":" "}}`, 400, 100},
		{"text of 2001 characters", "POST", "/v21.0/1001/messages", pageToken,
			`{"recipient":{"id":"4004"},"messaging_type":"RESPONSE","message":{"text":"` + strings.Repeat("é", 2001) + `"}}`, 400, 100},
		{"unknown field", "POST", "/v21.0/1001/messages", pageToken, `{"recipient":{"id":"4004"},"messaging_type":"RESPONSE","message":{"txt":"hi"}}`, 400, 100},
		{"not json", "POST", "/v21.0/1001/messages", pageToken, `recipient=4004`, 400, 100},
		{"page probe", "GET", "/v21.0/me?fields=id,name", pageToken, "", 200, 0},
		{"whatsapp send", "POST", "/v21.0/2002/messages", accessToken, whatsAppText, 200, 0},
		{"whatsapp with the page token", "POST", "/v21.0/2002/messages", pageToken, whatsAppText, 401, 190},
		{"no messaging_product", "POST", "/v21.0/2002/messages", accessToken, strings.Replace(whatsAppText, `"messaging_product":"whatsapp",`, "", 1), 400, 100},
		{"no recipient_type", "POST", "/v21.0/2002/messages", accessToken, strings.Replace(whatsAppText, `"recipient_type":"individual",`, "", 1), 400, 100},
		{"bad to", "POST", "/v21.0/2002/messages", accessToken, strings.Replace(whatsAppText, "15550001111", "call me", 1), 400, 100},
		{"image type", "POST", "/v21.0/2002/messages", accessToken, strings.Replace(whatsAppText, `"type":"text"`, `"type":"image"`, 1), 400, 100},
		{"body of 4097 characters", "POST", "/v21.0/2002/messages", accessToken, strings.Replace(whatsAppText, `"body":"hi"`, `"body":"`+strings.Repeat("a", 4097)+`"`, 1), 400, 100},
		{"phone probe", "GET", "/v21.0/2002", accessToken, "", 200, 0},
		{"subscribe", "POST", "/v21.0/3003/subscribed_apps", accessToken, "", 200, 0},
		{"subscribe with a GET", "GET", "/v21.0/3003/subscribed_apps", accessToken, "", 400, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, tt.method, tt.path, tt.token, tt.body)
			if a.status != tt.status || a.code() != tt.code {
				t.Fatalf("answer = %d %v, want %d with code %d", a.status, a.body, tt.status, tt.code)
			}
		})
	}
	sends := s.Sends()
	if len(sends) != 3 || sends[0].Product != Messenger || sends[2].Product != WhatsApp || sends[2].To != "15550001111" ||
		sends[0].Text != "hi" || sends[0].MessagingType != "RESPONSE" {
		t.Fatalf("sends = %+v", sends)
	}
	if sends[0].MessageID == sends[1].MessageID || !strings.HasPrefix(sends[0].MessageID, "m_") || !strings.HasPrefix(sends[2].MessageID, "wamid.") {
		t.Fatalf("message ids = %s %s %s", sends[0].MessageID, sends[1].MessageID, sends[2].MessageID)
	}
	if s.Subscriptions() != 1 || s.Calls() != len(tests) {
		t.Fatalf("subscriptions %d, calls %d", s.Subscriptions(), s.Calls())
	}
}

func TestSuccessBodies(t *testing.T) {
	s := newFake(t, nil)
	a := call(t, s, "POST", "/v21.0/1001/messages", pageToken, messengerText)
	if a.body["recipient_id"] != "4004" || a.body["message_id"] != s.Sends()[0].MessageID {
		t.Fatalf("messenger answer = %v", a.body)
	}
	a = call(t, s, "POST", "/v21.0/2002/messages", accessToken, whatsAppText)
	msgs, _ := a.body["messages"].([]any)
	if a.body["messaging_product"] != "whatsapp" || len(msgs) != 1 || msgs[0].(map[string]any)["id"] != s.Sends()[1].MessageID {
		t.Fatalf("whatsapp answer = %v", a.body)
	}
	if a = call(t, s, "GET", "/v21.0/me", pageToken, ""); a.body["id"] != "1001" {
		t.Fatalf("page = %v", a.body)
	}
}

func TestFailNext(t *testing.T) {
	s := newFake(t, nil)
	limited := WhatsAppThroughput
	limited.RetryAfter = "3"
	s.FailNext(2, limited)
	probeFails := ServerError
	probeFails.Endpoint = EndpointProbe
	s.FailNext(1, probeFails)
	// The probe's failure waits for a probe.
	for i := range 2 {
		a := call(t, s, "POST", "/v21.0/2002/messages", accessToken, whatsAppText)
		if a.status != 429 || a.code() != 130429 || a.header.Get("Retry-After") != "3" {
			t.Fatalf("send %d = %d %v", i, a.status, a.body)
		}
	}
	if a := call(t, s, "POST", "/v21.0/2002/messages", accessToken, whatsAppText); a.status != 200 {
		t.Fatalf("third send = %d %v", a.status, a.body)
	}
	if a := call(t, s, "GET", "/v21.0/2002", accessToken, ""); a.status != 500 || a.code() != 2 {
		t.Fatalf("probe = %d %v", a.status, a.body)
	}
	// A failure comes after the token check: a wrong token still is a wrong token.
	s.FailNext(1, ServerError)
	if a := call(t, s, "POST", "/v21.0/2002/messages", "nope", whatsAppText); a.code() != 190 {
		t.Fatalf("wrong token = %v", a.body)
	}
	if len(s.Sends()) != 1 {
		t.Fatalf("sends = %+v", s.Sends())
	}
}

func TestTwentyFourHourWindow(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newFake(t, func() time.Time { return now })
	s.SetLastCustomerMessage("4004", now.Add(-24*time.Hour-time.Second))
	s.SetLastCustomerMessage("15550001111", now.Add(-25*time.Hour))
	if a := call(t, s, "POST", "/v21.0/1001/messages", pageToken, messengerText); a.code() != 10 || a.body["error"].(map[string]any)["error_subcode"] != float64(2018278) {
		t.Fatalf("messenger outside the window = %v", a.body)
	}
	if a := call(t, s, "POST", "/v21.0/2002/messages", accessToken, whatsAppText); a.code() != 131047 {
		t.Fatalf("whatsapp outside the window = %v", a.body)
	}
	s.SetLastCustomerMessage("4004", now.Add(-23*time.Hour))
	if a := call(t, s, "POST", "/v21.0/1001/messages", pageToken, messengerText); a.status != 200 {
		t.Fatalf("messenger inside the window = %v", a.body)
	}
	if len(s.Sends()) != 1 {
		t.Fatalf("sends = %+v", s.Sends())
	}
}

func TestThreadControl(t *testing.T) {
	s := newFake(t, nil)
	calls := []struct{ edge, body string }{
		{"take_thread_control", `{"recipient":{"id":"4004"},"metadata":"operator"}`},
		{"pass_thread_control", `{"recipient":{"id":"4004"},"target_app_id":"6006"}`},
	}
	for _, c := range calls {
		if a := call(t, s, "POST", "/v21.0/1001/"+c.edge, pageToken, c.body); a.status != 200 || a.body["success"] != true {
			t.Fatalf("%s = %v", c.edge, a.body)
		}
	}
	if a := call(t, s, "POST", "/v21.0/1001/pass_thread_control", pageToken, `{"recipient":{"id":"4004"}}`); a.code() != 100 {
		t.Fatalf("pass without a target = %v", a.body)
	}
	if s.TakeThreadControlCalls() != 1 || s.ThreadOwner("4004") != "6006" || len(s.ThreadControls()) != 2 ||
		s.ThreadControls()[0].Metadata != "operator" {
		t.Fatalf("thread controls = %+v, owner %s", s.ThreadControls(), s.ThreadOwner("4004"))
	}
}

func TestWaitSendsAndCopies(t *testing.T) {
	s := newFake(t, nil)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, s, "POST", "/v21.0/1001/messages", pageToken, messengerText)
		}()
	}
	if got := s.WaitSends(5, 5*time.Second); len(got) != 5 {
		t.Fatalf("WaitSends = %d sends", len(got))
	}
	wg.Wait()
	got := s.Sends()
	got[0].Text = "changed"
	if s.Sends()[0].Text != "hi" {
		t.Fatal("Sends returned the fake's own slice")
	}
	if got := s.WaitSends(6, 50*time.Millisecond); len(got) != 5 {
		t.Fatalf("WaitSends past its timeout = %d sends", len(got))
	}
}

// TestSign checks Sign against RFC 4231's HMAC-SHA256 test case 2.
func TestSign(t *testing.T) {
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := Sign("Jefe", []byte("what do ya want for nothing?")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestWebhookBuilders(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	wh := MessengerTextWebhook("secret", "1001", "4004", "m_1", "hello", at)
	r := wh.Request("http://switchboard.test/webhooks/fb")
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.Header.Get(SignatureHeader) != Sign("secret", body) || !bytes.Equal(body, wh.Body) {
		t.Fatalf("request = %s %v", r.Method, r.Header)
	}
	var p struct {
		Object string
		Entry  []struct {
			ID        string
			Messaging []struct {
				Sender    struct{ ID string }
				Timestamp int64
				Message   struct{ Mid, Text string }
			}
		}
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Object != "page" || p.Entry[0].ID != "1001" ||
		p.Entry[0].Messaging[0].Sender.ID != "4004" || p.Entry[0].Messaging[0].Message.Text != "hello" ||
		p.Entry[0].Messaging[0].Timestamp != at.UnixMilli() {
		t.Fatalf("messenger body = %s (%v)", body, err)
	}
	var w struct {
		Object string
		Entry  []struct {
			Changes []struct {
				Field string
				Value struct {
					Metadata struct {
						PhoneNumberID string `json:"phone_number_id"`
					}
					Statuses []struct{ ID, Status, Timestamp string }
				}
			}
		}
	}
	wh = WhatsAppStatusWebhook("secret", "2002", "15550001111", "wamid.X", "read", at)
	if err := json.Unmarshal(wh.Body, &w); err != nil || w.Object != "whatsapp_business_account" ||
		w.Entry[0].Changes[0].Field != "messages" || w.Entry[0].Changes[0].Value.Metadata.PhoneNumberID != "2002" ||
		w.Entry[0].Changes[0].Value.Statuses[0].Status != "read" || w.Entry[0].Changes[0].Value.Statuses[0].Timestamp != "1740830400" {
		t.Fatalf("whatsapp body = %s (%v)", wh.Body, err)
	}
	v := VerifyRequest("http://switchboard.test/webhooks/fb", "tok", "42")
	if q := v.URL.Query(); v.Method != http.MethodGet || q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != "tok" || q.Get("hub.challenge") != "42" {
		t.Fatalf("verify request = %s %s", v.Method, v.URL)
	}
}
