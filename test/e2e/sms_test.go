package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/twiliofake"
)

// sampleTwilioToken is the auth token of config/samples/secrets.yaml.
const sampleTwilioToken = "REPLACE-with-the-twilio-auth-token"

// smsSetup adds an SMS channel on the sample queue to dir, talking to a fake Twilio.
func smsSetup(t *testing.T, dir string) *twiliofake.Server {
	t.Helper()
	fake := twiliofake.New(twiliofake.Options{AuthToken: sampleTwilioToken})
	t.Cleanup(fake.Close)
	channel := fmt.Sprintf(`apiVersion: chat.switchboard.dev/v1alpha1
kind: Channel
metadata:
  name: sms
spec:
  liveChatRef:
    name: support
  queueRef:
    name: first-line
  type: SMS
  sms:
    accountSID: %s
    authTokenSecretRef:
      name: twilio
      key: authToken
    from: "%s"
    apiBaseURL: %s
`, fake.AccountSID, twiliofake.DefaultNumber, fake.URL)
	if err := os.WriteFile(filepath.Join(dir, "sms-channel.yaml"), []byte(channel), 0o644); err != nil {
		t.Fatal(err)
	}
	return fake
}

// TestSMSBothWays runs two-way texting through a real runtime process: a text from a
// phone reaches an operator's console through the queue, the reply reaches Twilio
// from our number, Twilio's status callback marks it delivered, and a STOP stops the
// replies with a reason the operator can read.
func TestSMSBothWays(t *testing.T) {
	dir := manifestsDir(t)
	fake := smsSetup(t, dir)
	_, rt := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))
	online(t, rt, alice)
	c := console(t, rt, alice)
	ctx := context.Background()
	hook := rt.base + "/webhooks/sms"
	phone := "+14155550123"

	forged := twiliofake.NewRequest(hook, "not-the-token", twiliofake.Inbound{AccountSID: fake.AccountSID, From: phone,
		To: twiliofake.DefaultNumber, Body: "forged"}.Params())
	if res, err := http.DefaultClient.Do(forged); err != nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("a text signed with another token: %v %v, want 403", res, err)
	}
	if code, err := fake.Receive(ctx, hook, twiliofake.Inbound{From: phone, Body: "Hi, my order is late"}); err != nil || code != http.StatusOK {
		t.Fatalf("incoming text: %d %v", code, err)
	}
	if cb := fake.Callbacks(); !strings.Contains(cb[len(cb)-1].ContentType, "xml") {
		t.Fatalf("the incoming text was answered with %q, want TwiML", cb[len(cb)-1].ContentType)
	}
	id := conversationOfMessage(t, c, "Hi, my order is late")
	accept(t, rt, alice, id)
	call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/messages", alice, map[string]string{"text": "Sorry! It ships today."}, nil)

	var sent twiliofake.Message
	for deadline := time.Now().Add(15 * time.Second); sent.SID == ""; time.Sleep(10 * time.Millisecond) {
		for _, m := range fake.Messages() {
			if m.Body == "Sorry! It ships today." {
				sent = m
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("Twilio never got the reply")
		}
	}
	if sent.To != phone || sent.From != twiliofake.DefaultNumber {
		t.Fatalf("reply sent %s → %s", sent.From, sent.To)
	}
	waitDelivery(t, rt, alice, id, "Sorry! It ships today.", "sent")
	status := twiliofake.NewRequest(hook, sampleTwilioToken, twiliofake.StatusParams(fake.AccountSID, sent.SID, sent.From, phone, "delivered", 0))
	if res, err := http.DefaultClient.Do(status); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("status callback: %v %v", res, err)
	}
	waitDelivery(t, rt, alice, id, "Sorry! It ships today.", "delivered")

	// The contact opts out: the next reply is not sent, and the operator sees why.
	fake.Receive(ctx, hook, twiliofake.Inbound{From: phone, Body: "STOP"})
	c.waitEvent(t, "the STOP on the console", isMessage("STOP"))
	call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/messages", alice, map[string]string{"text": "One more thing"}, nil)
	if reason := waitDelivery(t, rt, alice, id, "One more thing", "failed"); !strings.Contains(reason, "opted out") {
		t.Fatalf("failure reason %q", reason)
	}
	for _, m := range fake.Messages() {
		if m.Body == "One more thing" {
			t.Fatal("a text went to a contact who replied STOP")
		}
	}
}
