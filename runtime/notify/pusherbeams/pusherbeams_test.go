package pusherbeams_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/internal/beamsfake"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/pusherbeams"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

var keyRef = config.SecretKeyReference{Name: "beams", Key: "secretKey"}

func publisher(t *testing.T, fake *beamsfake.Server, key string) *pusherbeams.Publisher {
	t.Helper()
	p, err := pusherbeams.New(&config.PusherBeamsProvider{InstanceID: fake.InstanceID, SecretKeySecretRef: keyRef, APIBaseURL: fake.URL},
		func(r config.SecretKeyReference) []byte {
			if r == keyRef {
				return []byte(key)
			}
			return nil
		}, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func delivery() notify.Delivery {
	return notify.Delivery{IdempotencyKey: "k1", To: notify.Recipient{Name: "Alice", PushUserID: "alice"},
		Subject: "New message from Bob", Text: "hello", Link: "https://chat.example.com/console/c/42", Event: "MessageReceived"}
}

func TestDeliver(t *testing.T) {
	for _, tc := range []struct {
		name         string
		mutate       func(*notify.Delivery)
		wantTitle    string
		wantBody     string
		wantLink     string
		wantDataLink string
	}{
		{name: "title, body and link on every platform", wantTitle: "New message from Bob", wantBody: "hello",
			wantLink: "https://chat.example.com/console/c/42", wantDataLink: "https://chat.example.com/console/c/42"},
		{name: "long texts are cut", mutate: func(d *notify.Delivery) {
			d.Subject, d.Text = strings.Repeat("Ü", 150), strings.Repeat("ß", 800)
		}, wantTitle: strings.Repeat("Ü", 99) + "…", wantBody: strings.Repeat("ß", 499) + "…",
			wantLink: "https://chat.example.com/console/c/42", wantDataLink: "https://chat.example.com/console/c/42"},
		{name: "a link that is not http is only data", mutate: func(d *notify.Delivery) { d.Link = "switchboard://c/42" },
			wantTitle: "New message from Bob", wantBody: "hello", wantDataLink: "switchboard://c/42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := beamsfake.New(beamsfake.Options{})
			defer fake.Close()
			d := delivery()
			if tc.mutate != nil {
				tc.mutate(&d)
			}
			if err := publisher(t, fake, fake.SecretKey).Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			pubs := fake.Publishes()
			if len(pubs) != 1 {
				t.Fatalf("%d publishes, want 1", len(pubs))
			}
			p := pubs[0]
			if len(p.Users) != 1 || p.Users[0] != "alice" {
				t.Errorf("published to %q, want [alice]", p.Users)
			}
			webN := object(t, p.Web, "notification")
			fcmN := object(t, p.FCM, "notification")
			apnsA := object(t, object(t, p.APNs, "aps"), "alert")
			for name, n := range map[string]map[string]any{"web": webN, "fcm": fcmN, "apns": apnsA} {
				if n["title"] != tc.wantTitle || n["body"] != tc.wantBody {
					t.Errorf("%s: title %q body %q, want %q and %q", name, n["title"], n["body"], tc.wantTitle, tc.wantBody)
				}
			}
			if got, _ := webN["deep_link"].(string); got != tc.wantLink {
				t.Errorf("web deep_link %q, want %q", got, tc.wantLink)
			}
			for name, payload := range map[string]map[string]any{"web": p.Web, "fcm": p.FCM, "apns": p.APNs} {
				data := object(t, payload, "data")
				if data["event"] != "MessageReceived" || data["link"] != tc.wantDataLink {
					t.Errorf("%s data %v", name, data)
				}
			}
			if utf8.RuneCountInString(tc.wantTitle) > pusherbeams.MaxTitleLength || utf8.RuneCountInString(tc.wantBody) > pusherbeams.MaxBodyLength {
				t.Error("the test expects more than the limits")
			}
		})
	}
}

func object(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	o, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("no object %q in %v", key, m)
	}
	return o
}

func TestErrors(t *testing.T) {
	const wrongKey = "FFFF42FB7CD2D408DDB22D7A0166FFFF"
	for _, tc := range []struct {
		name       string
		key        string
		fail       *beamsfake.Failure
		mutate     func(*notify.Delivery)
		closed     bool
		permanent  bool
		auth       bool
		retryAfter time.Duration
		want       string
	}{
		{name: "wrong secret key", key: wrongKey, permanent: true, auth: true, want: "refused the secret key of instance " + beamsfake.DefaultInstanceID},
		{name: "rate limited", fail: &beamsfake.Failure{Status: 429, Description: "slow down", RetryAfter: "20"}, retryAfter: 20 * time.Second, want: "429"},
		{name: "server error", fail: &beamsfake.Failure{Status: 500, Description: "oops"}, want: "500"},
		{name: "refused with beams's words", fail: &beamsfake.Failure{Status: 422, Error: "Invalid publish request", Description: "users must hold at least one user id"},
			permanent: true, want: "Invalid publish request: users must hold at least one user id"},
		{name: "the key echoed back is scrubbed", fail: &beamsfake.Failure{Status: 400, Description: "bad key " + beamsfake.DefaultSecretKey},
			permanent: true, want: "[redacted]"},
		{name: "unreachable", closed: true, want: "reaching http://127.0.0.1"},
		{name: "no push user id", mutate: func(d *notify.Delivery) { d.To.PushUserID = "" }, permanent: true, want: "no push user id"},
		{name: "push user id too long", mutate: func(d *notify.Delivery) { d.To.PushUserID = strings.Repeat("u", 165) }, permanent: true, want: "not a Beams user id"},
		{name: "nothing to say", mutate: func(d *notify.Delivery) { d.Subject, d.Text = "", " " }, permanent: true, want: "neither a title nor a text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := beamsfake.New(beamsfake.Options{})
			defer fake.Close()
			key := tc.key
			if key == "" {
				key = fake.SecretKey
			}
			p := publisher(t, fake, key)
			if tc.fail != nil {
				fake.FailNext(1, *tc.fail)
			}
			if tc.closed {
				fake.Close()
			}
			d := delivery()
			if tc.mutate != nil {
				tc.mutate(&d)
			}
			err := p.Deliver(context.Background(), d)
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			t.Log(err)
			if outbox.IsPermanent(err) != tc.permanent || outbox.IsAuth(err) != tc.auth {
				t.Errorf("permanent %v auth %v, want %v %v", outbox.IsPermanent(err), outbox.IsAuth(err), tc.permanent, tc.auth)
			}
			after, ok := outbox.RetryAfterOf(err)
			if ok != (tc.retryAfter > 0) || after != tc.retryAfter {
				t.Errorf("RetryAfter %v %v, want %v", after, ok, tc.retryAfter)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), beamsfake.DefaultSecretKey) {
				t.Errorf("error %q holds the secret key", err)
			}
			if len(fake.Publishes()) != 0 {
				t.Error("the fake took a publish")
			}
		})
	}
}

// recorder answers every request itself and keeps its URL.
type recorder struct{ url string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.url = req.URL.String()
	return nil, errors.New("not sent")
}

func TestTheDefaultBaseURLIsTheInstancesHost(t *testing.T) {
	rec := &recorder{}
	p, err := pusherbeams.New(&config.PusherBeamsProvider{InstanceID: beamsfake.DefaultInstanceID, SecretKeySecretRef: keyRef},
		func(config.SecretKeyReference) []byte { return []byte("key") }, &http.Client{Transport: rec})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Deliver(context.Background(), delivery())
	want := "https://" + beamsfake.DefaultInstanceID + ".pushnotifications.pusher.com/publish_api/v1/instances/" + beamsfake.DefaultInstanceID + "/publishes/users"
	if rec.url != want {
		t.Errorf("published to %s, want %s", rec.url, want)
	}
}

func TestNewRefuses(t *testing.T) {
	key := func(config.SecretKeyReference) []byte { return []byte("key") }
	for _, tc := range []struct {
		name    string
		c       *config.PusherBeamsProvider
		secrets notify.SecretFunc
		want    string
	}{
		{name: "no settings", secrets: key, want: "no pusherBeams settings"},
		{name: "no instance", c: &config.PusherBeamsProvider{SecretKeySecretRef: keyRef}, secrets: key, want: "not an instance id"},
		{name: "an instance id that would change the host", c: &config.PusherBeamsProvider{InstanceID: "evil.example.com/x", SecretKeySecretRef: keyRef}, secrets: key, want: "not an instance id"},
		{name: "no key", c: &config.PusherBeamsProvider{InstanceID: beamsfake.DefaultInstanceID, SecretKeySecretRef: keyRef},
			secrets: func(config.SecretKeyReference) []byte { return nil }, want: `Secret "beams" has no key "secretKey"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pusherbeams.New(tc.c, tc.secrets, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
