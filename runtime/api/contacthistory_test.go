package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

const frankToken = "tok-frank-employee"

// contactList lists GET /api/v1/conversations?<query> as token, failing on any
// status but 200.
func contactList(t *testing.T, rg *rig, token, query string) []store.Conversation {
	t.Helper()
	res, body := do(t, "GET", rg.srv.URL+"/api/v1/conversations?"+query, token, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/conversations?%s: %d %s", query, res.StatusCode, body)
	}
	var page struct {
		Conversations []store.Conversation
		Next          string
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	return page.Conversations
}

func ids(list []store.Conversation) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}

// TestContactConversations: ?contact= lists that contact's conversations, the
// closed earlier one and the open one, in the list's order, and no other contact's;
// only to operators of their queue (and supervisors); bad values are refused.
func TestContactConversations(t *testing.T) {
	// frank operates accounting only: the website's chats (first-line) are not his.
	rg := startRig(t, api.Options{}, func(cfg *config.Config) {
		for i := range cfg.Queues {
			if cfg.Queues[i].Name == "accounting" {
				cfg.Queues[i].Operators = append(cfg.Queues[i].Operators, "frank")
			}
		}
	})
	ctx := context.Background()
	vera := openVisitor(t, rg)
	earlier := vera.Conversation.ID
	if _, err := rg.engine.CloseConversation(ctx, "sam", earlier); err != nil {
		t.Fatal(err)
	}
	again, err := rg.engine.Open(ctx, "website", chat.Identity{ExternalID: vera.Contact.ExternalID})
	if err != nil {
		t.Fatal(err)
	}
	if again.Conversation.ID == earlier || again.Contact.ID != vera.Contact.ID {
		t.Fatalf("reopening gave conversation %s of contact %s, want a new one of %s", again.Conversation.ID, again.Contact.ID, vera.Contact.ID)
	}
	other := openVisitor(t, rg)
	if other.Contact.ID == vera.Contact.ID {
		t.Fatal("the second visitor is the same contact")
	}

	query := "contact=" + url.QueryEscape(vera.Contact.ID)
	want := []string{earlier, again.Conversation.ID}
	for _, who := range []struct{ name, token string }{{"alice", aliceToken}, {"sam", samToken}} {
		if got := ids(contactList(t, rg, who.token, query)); !slices.Equal(got, want) {
			t.Errorf("%s lists %v for the contact, want the closed earlier chat and the open one %v", who.name, got, want)
		}
	}
	// The states narrow the list; paging goes through it.
	if got := ids(contactList(t, rg, aliceToken, query+"&state=Closed")); !slices.Equal(got, []string{earlier}) {
		t.Errorf("the contact's closed chats: %v, want [%s]", got, earlier)
	}
	if got := ids(contactList(t, rg, aliceToken, query+"&limit=1")); !slices.Equal(got, []string{earlier}) {
		t.Errorf("the first page of one: %v, want [%s]", got, earlier)
	}
	if got := ids(contactList(t, rg, aliceToken, "contact="+url.QueryEscape(other.Contact.ID))); !slices.Equal(got, []string{other.Conversation.ID}) {
		t.Errorf("the other contact's list: %v, want only [%s]", got, other.Conversation.ID)
	}
	// Without ?contact= the closed chat stays out of the list of open ones.
	if got := ids(contactList(t, rg, aliceToken, "")); slices.Contains(got, earlier) {
		t.Errorf("the open list holds the closed chat %s: %v", earlier, got)
	}
	// frank does not operate first-line: he sees none of them.
	if got := contactList(t, rg, frankToken, query); len(got) != 0 {
		t.Errorf("frank, without the queue, lists %v", ids(got))
	}
	if got := contactList(t, rg, aliceToken, "contact=nobody"); len(got) != 0 {
		t.Errorf("an unknown contact lists %v", ids(got))
	}

	for _, q := range []string{"contact=", "contact=%20", query + "&state=Gone"} {
		if res, body := do(t, "GET", rg.srv.URL+"/api/v1/conversations?"+q, aliceToken, ""); res.StatusCode != http.StatusBadRequest {
			t.Errorf("?%s: %d %s, want 400", q, res.StatusCode, body)
		}
	}
}
