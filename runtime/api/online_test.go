package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
)

// TestContactOnlineFollowsTheirConnections: a visitor is online while a WebSocket of
// theirs is open here, on any of their tabs, and offline once the last one closes;
// notifications for offline visitors rely on it.
func TestContactOnlineFollowsTheirConnections(t *testing.T) {
	rg := startRig(t, api.Options{})
	v := openVisitor(t, rg)
	other := openVisitor(t, rg)
	waitOnline := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); rg.api.ContactOnline(v.Contact.ID) != want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("online %v, want %v", !want, want)
			}
		}
	}
	if rg.api.ContactOnline(v.Contact.ID) {
		t.Fatal("online before connecting")
	}
	u := "ws" + strings.TrimPrefix(rg.srv.URL, "http") + "/api/v1/channels/website/ws?conversation=" + v.Conversation.ID + "&access_token=" + v.Token
	dial := func() *websocket.Conn {
		c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"http://localhost:8080"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first, second := dial(), dial()
	waitOnline(true)
	if rg.api.ContactOnline(other.Contact.ID) {
		t.Fatal("another visitor is online without a connection")
	}
	first.Close()
	time.Sleep(100 * time.Millisecond)
	waitOnline(true) // the second tab is still open
	second.Close()
	waitOnline(false)
}
