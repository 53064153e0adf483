package e2e

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/smtptest"
)

// notifySetup switches the sample policy on with its email provider on a local SMTP
// server (plain SMTP on loopback).
func notifySetup(t *testing.T, dir string) *smtptest.Server {
	t.Helper()
	mail, err := smtptest.New(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mail.Close)
	edit(t, dir, "notificationpolicy.yaml", "spec:\n  suspend: true\n", "spec:\n")
	edit(t, dir, "notificationpolicy.yaml", "  batching:\n    window: 2m\n", "") // one email per event
	edit(t, dir, "notificationpolicy.yaml", "      host: smtp.example.com\n      port: 587\n      tls: StartTLS\n",
		"      host: "+mail.Host+"\n      port: "+strconv.Itoa(mail.Port)+"\n      tls: None\n")
	edit(t, dir, "notificationpolicy.yaml", `      usernameSecretRef:
        name: smtp-credentials
        key: username
      passwordSecretRef:
        name: smtp-credentials
        key: password
`, "")
	return mail
}

// mailTo waits until each address got want messages and returns their subjects by
// recipient, sorted.
func mailTo(t *testing.T, mail *smtptest.Server, want int, addrs ...string) map[string][]string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := map[string][]string{}
		for _, m := range mail.Messages() {
			p, err := m.Parse()
			if err != nil {
				t.Fatal(err)
			}
			for _, to := range m.To {
				got[to] = append(got[to], p.Subject)
			}
		}
		done := true
		for _, a := range addrs {
			slices.Sort(got[a])
			if len(got[a]) < want {
				done = false
			}
		}
		if done {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail went to %v; want %d to each of %v", got, want, addrs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotificationsFollowSupportBoard runs the sample policy (Support Board's rules)
// through a runtime: with every operator offline, a visitor's first message is mailed
// to the queue's operators, as a new chat and as an offline message; once an operator
// holds the chat and goes offline, the visitor's next message is mailed to that
// operator alone.
func TestNotificationsFollowSupportBoard(t *testing.T) {
	dir := manifestsDir(t)
	mail := notifySetup(t, dir)
	rt := startRuntimeAt(t, dir, "127.0.0.1:0")

	v := newVisitor(t, rt, "Hello, is anyone there?")
	queue := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	got := mailTo(t, mail, 2, queue...)
	for _, to := range queue {
		if want := []string{"New chat from Vera", "Offline message from Vera"}; !slices.Equal(got[to], want) {
			t.Fatalf("%s got %q, want %q", to, got[to], want)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(mail.Messages()); n != 6 {
		t.Fatalf("%d messages for the first message, want 6: %v", n, got)
	}

	// Alice takes the offline message and goes offline. (Online, she is routed the
	// offline message meanwhile: a take that finds it changed is tried again.)
	online(t, rt, alice)
	for i := 0; ; i++ {
		code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/take", alice, nil, nil)
		if code == 200 {
			break
		}
		if code != 409 || i == 10 {
			t.Fatalf("take: %d", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
	call(t, "PUT", rt.base+"/api/v1/me/presence", alice, map[string]string{"presence": "offline"}, nil)
	w := v.connect(t, 0)
	v.send(t, w, "Thanks, one more question")
	got = mailTo(t, mail, 3, "alice@example.com")
	time.Sleep(300 * time.Millisecond)
	if n := len(mail.Messages()); n != 7 {
		t.Fatalf("%d messages after the later one, want 7 (the last operator alone): %v", n, got)
	}
	if !slices.Contains(got["alice@example.com"], "Vera wrote again (conversation "+v.conversation+")") {
		t.Fatalf("alice got %q", got["alice@example.com"])
	}
}
