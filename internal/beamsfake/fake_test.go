package beamsfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestPublishIsCheckedAsBeamsChecksIt(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	users := func(ids ...string) string {
		b, _ := json.Marshal(ids)
		return string(b)
	}
	web := `"web":{"notification":{"title":"t","body":"b"}}`
	path := "/publish_api/v1/instances/" + s.InstanceID + "/publishes/users"
	for _, tc := range []struct {
		name        string
		method      string
		path        string
		auth        string
		contentType string
		body        string
		status      int
		wantError   string
	}{
		{name: "a publish", body: `{"users":["alice"],` + web + `}`, status: 200},
		{name: "apns only", body: `{"users":["alice"],"apns":{"aps":{"alert":{"title":"t"}}}}`, status: 200},
		{name: "wrong key", auth: "Bearer nope", body: `{"users":["alice"],` + web + `}`, status: 401, wantError: "Unauthorized"},
		{name: "no key", auth: "-", body: `{"users":["alice"],` + web + `}`, status: 401, wantError: "Unauthorized"},
		{name: "another instance", path: "/publish_api/v1/instances/other/publishes/users", body: `{}`, status: 404},
		{name: "GET", method: "GET", status: 405},
		{name: "not JSON", contentType: "text/plain", body: `{}`, status: 400, wantError: "Invalid content type"},
		{name: "broken JSON", body: `{"users":`, status: 400, wantError: "Invalid request body"},
		{name: "no users", body: `{"users":[],` + web + `}`, status: 422},
		{name: "too many users", body: `{"users":` + users(make([]string, 1001)...) + `,` + web + `}`, status: 422},
		{name: "empty user id", body: `{"users":[""],` + web + `}`, status: 422},
		{name: "user id too long", body: `{"users":["` + strings.Repeat("u", 165) + `"],` + web + `}`, status: 422},
		{name: "no payload", body: `{"users":["alice"]}`, status: 422},
		{name: "reserved data key", body: `{"users":["alice"],"web":{"data":{"pusher":1}}}`, status: 422},
		{name: "deep link that is no URL", body: `{"users":["alice"],"web":{"notification":{"deep_link":"javascript:x"}}}`, status: 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, p, auth, ct := tc.method, tc.path, tc.auth, tc.contentType
			if method == "" {
				method = "POST"
			}
			if p == "" {
				p = path
			}
			if auth == "" {
				auth = "Bearer " + s.SecretKey
			}
			if ct == "" {
				ct = "application/json"
			}
			req, _ := http.NewRequest(method, s.URL+p, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", ct)
			if auth != "-" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc map[string]string
			_ = json.NewDecoder(resp.Body).Decode(&doc)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, doc)
			}
			if tc.status == 200 && !strings.HasPrefix(doc["publishId"], "pubid-") {
				t.Errorf("answer %v has no publishId", doc)
			}
			if tc.status != 200 && (doc["error"] == "" || !strings.Contains(doc["error"], tc.wantError)) {
				t.Errorf("error document %v, want error %q", doc, tc.wantError)
			}
		})
	}
	if n := len(s.Publishes()); n != 2 {
		t.Errorf("%d publishes recorded, want 2", n)
	}
}

func TestFailNext(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.FailNext(1, Failure{Status: 429, RetryAfter: "9", Description: "slow down"})
	for i, want := range []int{429, 200} {
		req, _ := http.NewRequest("POST", s.URL+"/publish_api/v1/instances/"+s.InstanceID+"/publishes/users",
			strings.NewReader(`{"users":["a"],"fcm":{"notification":{"title":"t"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.SecretKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (i == 0 && resp.Header.Get("Retry-After") != "9") {
			t.Errorf("call %d: status %d Retry-After %q, want %d", i, resp.StatusCode, resp.Header.Get("Retry-After"), want)
		}
	}
	if s.Refusals() != 1 {
		t.Errorf("%d refusals, want 1", s.Refusals())
	}
}
