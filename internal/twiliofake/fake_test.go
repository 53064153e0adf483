package twiliofake

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const service = "MG00112233445566778899aabbccddeeff"

// call makes one API call and decodes the JSON answer.
func call(t *testing.T, s *Server, method, path, contentType, body, user, pass string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, doc
}

func messagesPath(sid string) string { return "/2010-04-01/Accounts/" + sid + "/Messages.json" }

const form = "application/x-www-form-urlencoded"

func TestSignMatchesTwiliosDocumentedExample(t *testing.T) {
	// The example of Twilio's webhook security documentation.
	got := Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}})
	if want := "RSOYDt4T1cUTdK1PDd93/VVr8B8="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestCreateMessageIsCheckedAsTwilioChecksIt(t *testing.T) {
	s := New(Options{Numbers: []string{"+15005550006", "+15005550007"}, SenderIDs: []string{"Support"}, MessagingServiceSID: service})
	defer s.Close()
	s.OptOut("+15551230000")
	ok := func(extra ...string) string {
		v := url.Values{"To": {"+15551234567"}, "From": {"+15005550006"}, "Body": {"hi"}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				v.Del(extra[i])
			} else {
				v.Set(extra[i], extra[i+1])
			}
		}
		return v.Encode()
	}
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		user, pass  string
		status      int
		code        float64
		wantStatus  string
	}{
		{"from a number", "POST", "", form, ok(), "", "", 201, 0, "queued"},
		{"through the service", "POST", "", form, ok("From", "", "MessagingServiceSid", service), "", "", 201, 0, "accepted"},
		{"number and service", "POST", "", form, ok("MessagingServiceSid", service), "", "", 201, 0, "accepted"},
		{"1600 characters", "POST", "", form, ok("Body", strings.Repeat("a", 1600)), "", "", 201, 0, "queued"},
		{"800 emoji are 1600 UTF-16 units", "POST", "", form, ok("Body", strings.Repeat("😀", 800)), "", "", 201, 0, "queued"},
		{"no credentials", "POST", "", form, ok(), "-", "", 401, 20003, ""},
		{"wrong auth token", "POST", "", form, ok(), DefaultAccountSID, "wrong", 401, 20003, ""},
		{"another account's path", "POST", messagesPath("AC" + strings.Repeat("1", 32)), form, ok(), "", "", 404, 20404, ""},
		{"GET on Messages", "GET", "", "", "", "", "", 405, 20004, ""},
		{"JSON body carries no parameters", "POST", "", "application/json", `{"To":"+15551234567","From":"+15005550006","Body":"hi"}`, "", "", 400, 21604, ""},
		{"no To", "POST", "", form, ok("To", ""), "", "", 400, 21604, ""},
		{"To not E.164", "POST", "", form, ok("To", "5551234567"), "", "", 400, 21211, ""},
		{"no sender", "POST", "", form, ok("From", ""), "", "", 400, 21603, ""},
		{"from the account's sender ID", "POST", "", form, ok("From", "Support"), "", "", 201, 0, "queued"},
		{"From not a number", "POST", "", form, ok("From", "shop"), "", "", 400, 21212, ""},
		{"From not the account's", "POST", "", form, ok("From", "+15009999999"), "", "", 400, 21606, ""},
		{"unknown service", "POST", "", form, ok("From", "", "MessagingServiceSid", "MG"+strings.Repeat("9", 32)), "", "", 400, 21701, ""},
		{"To is From", "POST", "", form, ok("To", "+15005550006"), "", "", 400, 21266, ""},
		{"no Body", "POST", "", form, ok("Body", ""), "", "", 400, 21602, ""},
		{"1601 characters", "POST", "", form, ok("Body", strings.Repeat("a", 1601)), "", "", 400, 21617, ""},
		{"801 emoji", "POST", "", form, ok("Body", strings.Repeat("😀", 801)), "", "", 400, 21617, ""},
		{"relative StatusCallback", "POST", "", form, ok("StatusCallback", "/webhooks/sms"), "", "", 400, 21609, ""},
		{"opted-out recipient", "POST", "", form, ok("To", "+15551230000"), "", "", 400, 21610, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = messagesPath(s.AccountSID)
			}
			user, pass := tc.user, tc.pass
			switch user {
			case "":
				user, pass = s.AccountSID, s.AuthToken
			case "-":
				user = ""
			}
			status, _, doc := call(t, s, tc.method, path, tc.contentType, tc.body, user, pass)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, doc)
			}
			if tc.code != 0 {
				if doc["code"] != tc.code || doc["status"] != float64(tc.status) || doc["message"] == "" || doc["more_info"] == nil {
					t.Fatalf("error document %v, want code %v", doc, tc.code)
				}
				return
			}
			sid, _ := doc["sid"].(string)
			if len(sid) != 34 || !strings.HasPrefix(sid, "SM") || doc["status"] != tc.wantStatus || doc["account_sid"] != s.AccountSID {
				t.Fatalf("message resource %v", doc)
			}
		})
	}
	msgs := s.Messages()
	if len(msgs) != 6 {
		t.Fatalf("%d messages recorded, want the 6 accepted", len(msgs))
	}
	if m := msgs[1]; m.From != "+15005550006" || m.MessagingServiceSID != service || m.Form.Get("From") != "" {
		t.Errorf("a service's message: %+v; want the pool's first number as sender", m)
	}
}

func TestRecordsAreCopies(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	body := url.Values{"To": {"+15551234567"}, "From": {DefaultNumber}, "Body": {"hi"}}.Encode()
	call(t, s, "POST", messagesPath(s.AccountSID), form, body, s.AccountSID, s.AuthToken)
	s.Messages()[0].Form.Set("Body", "changed")
	if got := s.Messages()[0].Form.Get("Body"); got != "hi" {
		t.Fatalf("a copy's change reached the record: %q", got)
	}
}

func TestFailNextRefusesTheNextMessages(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.FailNext(1, Failure{Status: 429, RetryAfter: "7"})
	s.FailNext(1, Failure{Status: 503})
	body := url.Values{"To": {"+15551234567"}, "From": {DefaultNumber}, "Body": {"hi"}}.Encode()
	for _, want := range []struct {
		status     int
		code       float64
		retryAfter string
	}{{429, 20429, "7"}, {503, 20500, ""}, {201, 0, ""}} {
		status, h, doc := call(t, s, "POST", messagesPath(s.AccountSID), form, body, s.AccountSID, s.AuthToken)
		if status != want.status || h.Get("Retry-After") != want.retryAfter || (want.code != 0 && doc["code"] != want.code) {
			t.Fatalf("got %d %q %v, want %+v", status, h.Get("Retry-After"), doc, want)
		}
	}
	if len(s.Messages()) != 1 {
		t.Fatalf("refused messages were recorded")
	}
}

func TestAccountAndNumbers(t *testing.T) {
	s := New(Options{Numbers: []string{"+15005550006", "+15005550007"}})
	defer s.Close()
	status, _, doc := call(t, s, "GET", "/2010-04-01/Accounts/"+s.AccountSID+".json", "", "", s.AccountSID, s.AuthToken)
	if status != 200 || doc["status"] != "active" || doc["sid"] != s.AccountSID {
		t.Fatalf("account: %d %v", status, doc)
	}
	s.SetAccountStatus("suspended")
	if _, _, doc = call(t, s, "GET", "/2010-04-01/Accounts/"+s.AccountSID+".json", "", "", s.AccountSID, s.AuthToken); doc["status"] != "suspended" {
		t.Fatalf("account after suspension: %v", doc)
	}
	_, _, doc = call(t, s, "GET", "/2010-04-01/Accounts/"+s.AccountSID+"/IncomingPhoneNumbers.json?PhoneNumber=%2B15005550007", "", "", s.AccountSID, s.AuthToken)
	list, _ := doc["incoming_phone_numbers"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["phone_number"] != "+15005550007" {
		t.Fatalf("numbers filtered by PhoneNumber: %v", doc)
	}
	_, _, doc = call(t, s, "GET", "/2010-04-01/Accounts/"+s.AccountSID+"/IncomingPhoneNumbers.json?PhoneNumber=%2B15009999999", "", "", s.AccountSID, s.AuthToken)
	if list, _ := doc["incoming_phone_numbers"].([]any); len(list) != 0 {
		t.Fatalf("a number the account lacks was listed: %v", doc)
	}
	if got := len(s.Requests()); got != 4 {
		t.Fatalf("%d requests recorded, want 4", got)
	}
}

// webhook is a receiver that checks Twilio's signature the way an application does.
type webhook struct {
	*httptest.Server
	token  string
	mu     sync.Mutex
	params []url.Values
}

func newWebhook(token string) *webhook {
	w := &webhook{token: token}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != form {
			http.Error(rw, "not a form", 400)
			return
		}
		if Sign(w.token, w.URL+r.URL.RequestURI(), r.PostForm) != r.Header.Get(SignatureHeader) {
			http.Error(rw, "bad signature", 403)
			return
		}
		w.mu.Lock()
		w.params = append(w.params, r.PostForm)
		w.mu.Unlock()
	}))
	return w
}

func (w *webhook) received() []url.Values {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]url.Values(nil), w.params...)
}

func TestStatusCallbacksAreSigned(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	hook := newWebhook(s.AuthToken)
	defer hook.Close()
	body := url.Values{"To": {"+15551234567"}, "From": {DefaultNumber}, "Body": {"hi"}, "StatusCallback": {hook.URL + "/webhooks/sms?x=1"}}.Encode()
	_, _, doc := call(t, s, "POST", messagesPath(s.AccountSID), form, body, s.AccountSID, s.AuthToken)
	sid := doc["sid"].(string)
	ctx := context.Background()
	if status, err := s.SendStatus(ctx, sid, "undelivered", 30003); err != nil || status != 200 {
		t.Fatalf("SendStatus: %d %v", status, err)
	}
	got := hook.received()
	if len(got) != 1 {
		t.Fatalf("%d callbacks arrived", len(got))
	}
	p := got[0]
	if p.Get("MessageSid") != sid || p.Get("MessageStatus") != "undelivered" || p.Get("ErrorCode") != "30003" ||
		p.Get("AccountSid") != s.AccountSID || p.Get("To") != "+15551234567" || p.Get("From") != DefaultNumber {
		t.Fatalf("callback parameters %v", p)
	}
	if m := s.Messages()[0]; m.Status != "undelivered" {
		t.Fatalf("message status %q after the callback", m.Status)
	}
	// A receiver with another token refuses it, and the fake says so.
	hook.token = "other"
	if status, err := s.SendStatus(ctx, sid, "failed", 30005); err == nil || status != 403 {
		t.Fatalf("SendStatus to a receiver with another token: %d %v", status, err)
	}
	if cbs := s.Callbacks(); len(cbs) != 2 || cbs[1].Status != 403 || !strings.HasPrefix(cbs[1].ContentType, "text/plain") {
		t.Fatalf("callbacks recorded: %+v", cbs)
	}
	if _, err := s.SendStatus(ctx, "SMnope", "sent", 0); err == nil {
		t.Fatal("SendStatus of an unknown message succeeded")
	}
}

func TestAutoStatus(t *testing.T) {
	s := New(Options{AutoStatus: []string{"sent", "delivered"}, AutoStatusDelay: time.Millisecond})
	defer s.Close()
	hook := newWebhook(s.AuthToken)
	defer hook.Close()
	body := url.Values{"To": {"+15551234567"}, "From": {DefaultNumber}, "Body": {"hi"}, "StatusCallback": {hook.URL + "/cb"}}.Encode()
	call(t, s, "POST", messagesPath(s.AccountSID), form, body, s.AccountSID, s.AuthToken)
	deadline := time.Now().Add(5 * time.Second)
	for len(hook.received()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := hook.received()
	if len(got) != 2 || got[0].Get("MessageStatus") != "sent" || got[1].Get("MessageStatus") != "delivered" {
		t.Fatalf("auto callbacks: %v", got)
	}
}

func TestReceiveDeliversASignedIncomingText(t *testing.T) {
	s := New(Options{MessagingServiceSID: service})
	defer s.Close()
	hook := newWebhook(s.AuthToken)
	defer hook.Close()
	status, err := s.Receive(context.Background(), hook.URL+"/webhooks/sms", Inbound{From: "+15551234567", Body: "hello",
		Media: []Media{{URL: "https://api.twilio.com/media/1", ContentType: "image/jpeg"}}})
	if err != nil || status != 200 {
		t.Fatalf("Receive: %d %v", status, err)
	}
	p := hook.received()[0]
	if p.Get("AccountSid") != s.AccountSID || p.Get("To") != DefaultNumber || p.Get("MessagingServiceSid") != service ||
		p.Get("Body") != "hello" || p.Get("NumMedia") != "1" || p.Get("MediaContentType0") != "image/jpeg" ||
		!strings.HasPrefix(p.Get("MessageSid"), "MM") || p.Get("SmsSid") != p.Get("MessageSid") {
		t.Fatalf("incoming parameters %v", p)
	}
	if _, err := s.Receive(context.Background(), "://bad", Inbound{}); err == nil {
		t.Fatal("Receive to a URL that does not parse succeeded")
	}
}

func TestIncomingSMSIsSignedForItsURL(t *testing.T) {
	r := IncomingSMS("https://chat.example.com/webhooks/sms", "tok", Inbound{AccountSID: DefaultAccountSID, From: "+15551234567", To: DefaultNumber, Body: "hi there"})
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.Header.Get("Content-Type") != form || r.PostForm.Get("Body") != "hi there" {
		t.Fatalf("request %s %v %v", r.Method, r.Header, r.PostForm)
	}
	if got := r.Header.Get(SignatureHeader); got != Sign("tok", "https://chat.example.com/webhooks/sms", r.PostForm) {
		t.Fatalf("signature %q does not match the URL and parameters", got)
	}
	body, sig := SignedForm("https://chat.example.com/webhooks/sms", "tok", r.PostForm)
	if sig != r.Header.Get(SignatureHeader) || len(body) == 0 {
		t.Fatal("SignedForm differs from IncomingSMS")
	}
}
