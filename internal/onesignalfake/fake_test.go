package onesignalfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, auth, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/notifications?c=push", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, doc
}

func TestCreateIsCheckedAsOneSignalChecksIt(t *testing.T) {
	s := New(Options{Subscribed: []string{"alice", "bob"}})
	defer s.Close()
	body := func(mutate func(map[string]any)) string {
		doc := map[string]any{"app_id": s.AppID, "include_aliases": map[string]any{"external_id": []string{"alice"}},
			"target_channel": "push", "contents": map[string]string{"en": "hi"}}
		if mutate != nil {
			mutate(doc)
		}
		b, _ := json.Marshal(doc)
		return string(b)
	}
	for _, tc := range []struct {
		name      string
		auth      string
		body      string
		status    int
		wantID    bool
		wantError string
	}{
		{name: "created", body: body(nil), status: 200, wantID: true},
		{name: "legacy Basic scheme", auth: "Basic " + s.APIKey, body: body(nil), status: 200, wantID: true},
		{name: "wrong key", auth: "Key nope", body: body(nil), status: 403, wantError: "Access denied"},
		{name: "no key", auth: "-", body: body(nil), status: 403, wantError: "Access denied"},
		{name: "another app", body: body(func(d map[string]any) { d["app_id"] = "00000000-0000-4000-8000-000000000000" }), status: 400, wantError: "not found"},
		{name: "no target", body: body(func(d map[string]any) { delete(d, "include_aliases") }), status: 400, wantError: "You must include"},
		{name: "no channel", body: body(func(d map[string]any) { delete(d, "target_channel") }), status: 400, wantError: "target_channel"},
		{name: "no english", body: body(func(d map[string]any) { d["contents"] = map[string]string{"de": "hallo"} }), status: 400, wantError: "English"},
		{name: "key that is no uuid", body: body(func(d map[string]any) { d["idempotency_key"] = "retry-1" }), status: 400, wantError: "UUID"},
		{name: "nobody subscribed", body: body(func(d map[string]any) { d["include_aliases"] = map[string]any{"external_id": []string{"carol"}} }),
			status: 200, wantError: "not subscribed"},
		{name: "some subscribed", body: body(func(d map[string]any) { d["include_aliases"] = map[string]any{"external_id": []string{"bob", "carol"}} }),
			status: 200, wantID: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := tc.auth
			switch auth {
			case "":
				auth = "Key " + s.APIKey
			case "-":
				auth = ""
			}
			status, doc := post(t, s, auth, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, doc)
			}
			id, _ := doc["id"].(string)
			if tc.wantID != (id != "") {
				t.Errorf("answer %v: id present %v, want %v", doc, id != "", tc.wantID)
			}
			if errs, _ := json.Marshal(doc["errors"]); tc.wantError != "" && !strings.Contains(string(errs), tc.wantError) {
				t.Errorf("errors %s, want %q", errs, tc.wantError)
			}
		})
	}
	if n := len(s.Notifications()); n != 3 {
		t.Errorf("%d notifications, want 3", n)
	}
}

func TestIdempotencyKeyReturnsTheFirstResult(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	const key = "2f1f0d2e-7c62-3b0e-9a51-3a5d6f1c9b11"
	body := `{"app_id":"` + s.AppID + `","include_aliases":{"external_id":["a"]},"target_channel":"push","contents":{"en":"hi"},"idempotency_key":"` + key + `"}`
	_, first := post(t, s, "Key "+s.APIKey, body)
	_, again := post(t, s, "Key "+s.APIKey, body)
	if first["id"] == "" || first["id"] != again["id"] || len(s.Notifications()) != 1 {
		t.Errorf("first %v, again %v, %d notifications", first, again, len(s.Notifications()))
	}
}
