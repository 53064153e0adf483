package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/metafake"
)

const (
	waPhoneNumberID = "106540352242922"
	waAccessToken   = "EAAG-whatsapp-system-user-token"
	waAppSecret     = "meta-app-secret-for-tests"
	waVerifyToken   = "verify-me-please"
)

// whatsAppSetup adds a WhatsApp channel on the sample queue to dir, talking to a
// fake Graph API, with its Secret.
func whatsAppSetup(t *testing.T, dir string) *metafake.Server {
	t.Helper()
	fake := metafake.New(metafake.Options{PhoneNumberID: waPhoneNumberID, AccessToken: waAccessToken})
	t.Cleanup(fake.Close)
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: whatsapp
stringData:
  accessToken: %s
  appSecret: %s
  verifyToken: %s
---
apiVersion: chat.switchboard.dev/v1alpha1
kind: Channel
metadata:
  name: whatsapp
spec:
  liveChatRef:
    name: support
  queueRef:
    name: first-line
  type: WhatsApp
  whatsApp:
    phoneNumberID: "%s"
    accessTokenSecretRef: {name: whatsapp, key: accessToken}
    appSecretSecretRef: {name: whatsapp, key: appSecret}
    verifyTokenSecretRef: {name: whatsapp, key: verifyToken}
    apiBaseURL: %s
`, waAccessToken, waAppSecret, waVerifyToken, waPhoneNumberID, fake.URL)
	if err := os.WriteFile(filepath.Join(dir, "whatsapp.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	return fake
}

// TestWhatsAppBothWays: Meta's verification handshake, a signed message from a
// WhatsApp user reaching an operator, the reply reaching the Cloud API, statuses
// moving it to read, and a reply outside the 24-hour window failing with a reason the
// operator can act on.
func TestWhatsAppBothWays(t *testing.T) {
	dir := manifestsDir(t)
	fake := whatsAppSetup(t, dir)
	_, rt := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))
	online(t, rt, alice)
	c := console(t, rt, alice)
	hook := rt.base + "/webhooks/whatsapp"

	res, err := http.DefaultClient.Do(metafake.VerifyRequest(hook, waVerifyToken, "challenge-1234"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "challenge-1234" {
		t.Fatalf("handshake: %d %q", res.StatusCode, body)
	}
	if res, _ := http.DefaultClient.Do(metafake.VerifyRequest(hook, "wrong", "x")); res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("handshake with a wrong token: %v", res)
	}

	waID := "4915123456789"
	post := func(wh metafake.Webhook) int {
		t.Helper()
		res, err := http.DefaultClient.Do(wh.Request(hook))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	forged := metafake.WhatsAppTextWebhook("another-secret", waPhoneNumberID, waID, "Eve", "wamid.forged", "forged", time.Now())
	if code := post(forged); code != http.StatusForbidden {
		t.Fatalf("a forged delivery: %d", code)
	}
	msg := metafake.WhatsAppTextWebhook(waAppSecret, waPhoneNumberID, waID, "Jo", "wamid.HBgLNDkxNTEyMzQ1Njc4OQ==", "Where is my parcel?", time.Now())
	for range 2 { // Meta delivers again until it gets a 200
		if code := post(msg); code != http.StatusOK {
			t.Fatalf("message: %d", code)
		}
	}
	id := conversationOfMessage(t, c, "Where is my parcel?")
	accept(t, rt, alice, id)
	call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/messages", alice, map[string]string{"text": "It arrives tomorrow."}, nil)
	sends := fake.WaitSends(1, 15*time.Second)
	if len(sends) != 1 || sends[0].Product != metafake.WhatsApp || sends[0].To != waID || sends[0].Text != "It arrives tomorrow." {
		t.Fatalf("the Cloud API got %+v", sends)
	}
	waitDelivery(t, rt, alice, id, "It arrives tomorrow.", "sent")
	for _, status := range []string{"read", "delivered"} { // out of order: read wins
		if code := post(metafake.WhatsAppStatusWebhook(waAppSecret, waPhoneNumberID, waID, sends[0].MessageID, status, time.Now())); code != http.StatusOK {
			t.Fatalf("status %s: %d", status, code)
		}
	}
	waitDelivery(t, rt, alice, id, "It arrives tomorrow.", "read")

	// A day later the window is closed: the reply fails, and says a template is needed.
	fake.SetLastCustomerMessage(waID, time.Now().Add(-25*time.Hour))
	call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/messages", alice, map[string]string{"text": "Did it arrive?"}, nil)
	if reason := waitDelivery(t, rt, alice, id, "Did it arrive?", "failed"); !strings.Contains(reason, "template") {
		t.Fatalf("failure reason %q does not say a template message is required", reason)
	}
}
