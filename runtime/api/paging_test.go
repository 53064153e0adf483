package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

type conversationPage struct {
	Conversations []struct{ ID string }
	Next          string
}

func listPage(t *testing.T, rg *rig, query string) conversationPage {
	t.Helper()
	res, body := do(t, "GET", rg.srv.URL+"/api/v1/conversations?"+query, aliceToken, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/conversations?%s: %d %s", query, res.StatusCode, body)
	}
	var page conversationPage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	return page
}

// openVisitors starts n widget conversations.
func openVisitors(t *testing.T, rg *rig, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = openVisitor(t, rg).Conversation.ID
	}
	return ids
}

// TestConversationListPages: following next from page to page lists every
// conversation exactly once, conversations started meanwhile included, and the last
// page has no next; bad parameters are refused.
func TestConversationListPages(t *testing.T) {
	rg := startRig(t, api.Options{})
	want := map[string]bool{}
	for _, id := range openVisitors(t, rg, 23) {
		want[id] = true
	}
	seen := map[string]int{}
	query := "limit=5"
	for pages := 1; ; pages++ {
		page := listPage(t, rg, query)
		if len(page.Conversations) > 5 {
			t.Fatalf("page %d holds %d conversations, past its limit of 5", pages, len(page.Conversations))
		}
		for _, c := range page.Conversations {
			seen[c.ID]++
		}
		if page.Next == "" {
			break
		}
		if pages <= 2 {
			for _, id := range openVisitors(t, rg, 2) { // started while the list is read
				want[id] = true
			}
		}
		if pages > 20 {
			t.Fatal("the pages do not end")
		}
		query = "limit=5&cursor=" + url.QueryEscape(page.Next)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s listed %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d conversations, want %d", len(seen), len(want))
	}

	for _, q := range []string{"limit=0", "limit=1001", "limit=many", "cursor=bm90IGEgY3Vyc29y", "cursor=%25"} {
		if res, body := do(t, "GET", rg.srv.URL+"/api/v1/conversations?"+q, aliceToken, ""); res.StatusCode != http.StatusBadRequest {
			t.Errorf("?%s: %d %s, want 400", q, res.StatusCode, body)
		}
	}
}

// TestConversationListIsBoundedByDefault: without ?limit= a page holds 200
// conversations and names the next.
func TestConversationListIsBoundedByDefault(t *testing.T) {
	rg := startRig(t, api.Options{})
	openVisitors(t, rg, 201)
	first := listPage(t, rg, "")
	if len(first.Conversations) != 200 || first.Next == "" {
		t.Fatalf("the first page holds %d conversations and next %q, want 200 and a next", len(first.Conversations), first.Next)
	}
	if rest := listPage(t, rg, "cursor="+url.QueryEscape(first.Next)); len(rest.Conversations) != 1 || rest.Next != "" {
		t.Errorf("the second page holds %d conversations and next %q, want 1 and none", len(rest.Conversations), rest.Next)
	}
}

// TestSnapshotIsBounded: a console's snapshot holds at most 200 conversations; when
// there are more it names the cursor from which GET /api/v1/conversations lists the
// rest, and the two together hold each conversation once.
func TestSnapshotIsBounded(t *testing.T) {
	rg := startRig(t, api.Options{})
	all := openVisitors(t, rg, 203)
	u := "ws" + strings.TrimPrefix(rg.srv.URL, "http") + "/api/v1/operator/ws?access_token=" + aliceToken
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var snap struct {
		Type          string
		Conversations []struct{ ID string }
		Next          string
	}
	if err := c.ReadJSON(&snap); err != nil || snap.Type != "snapshot" {
		t.Fatalf("first event %+v, %v; want the snapshot", snap, err)
	}
	if len(snap.Conversations) != 200 || snap.Next == "" {
		t.Fatalf("the snapshot holds %d conversations and next %q, want 200 and a next", len(snap.Conversations), snap.Next)
	}
	seen := map[string]int{}
	for _, conv := range snap.Conversations {
		seen[conv.ID]++
	}
	for _, conv := range listPage(t, rg, "cursor="+url.QueryEscape(snap.Next)).Conversations {
		seen[conv.ID]++
	}
	for _, id := range all {
		if seen[id] != 1 {
			t.Errorf("%s is in the snapshot and its rest %d times, want once", id, seen[id])
		}
	}
}

// TestMessagesPage: a conversation's messages come in pages of ?limit=; next is the
// ?after= of the following page, absent on the last.
func TestMessagesPage(t *testing.T) {
	rg := startRig(t, api.Options{})
	v := openVisitor(t, rg)
	for i := range 7 {
		if _, _, err := rg.engine.Inbound(context.Background(), v.Contact, fmt.Sprintf("message %d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, base, token string
		headers           []string
	}{
		{"visitor", rg.srv.URL + "/api/v1/channels/website/conversations/" + v.Conversation.ID + "/messages", v.Token, []string{"Origin", widgetOrigin}},
		{"operator", rg.srv.URL + "/api/v1/conversations/" + v.Conversation.ID + "/messages", aliceToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seqs []int64
			after := int64(0)
			for range 10 {
				res, body := do(t, "GET", fmt.Sprintf("%s?limit=3&after=%d", tt.base, after), tt.token, "", tt.headers...)
				var page struct {
					Messages []struct{ Seq int64 }
					Next     int64
				}
				if err := json.Unmarshal([]byte(body), &page); err != nil || res.StatusCode != 200 {
					t.Fatalf("%d %s", res.StatusCode, body)
				}
				for _, m := range page.Messages {
					seqs = append(seqs, m.Seq)
				}
				if page.Next == 0 {
					break
				}
				after = page.Next
			}
			if fmt.Sprint(seqs) != "[1 2 3 4 5 6 7]" {
				t.Errorf("pages held %v, want 1 to 7 once each", seqs)
			}
		})
	}
}

// TestActivityPages: a conversation's activity comes in pages of ?limit=; next is the
// ?after= of the following page, absent on the last.
func TestActivityPages(t *testing.T) {
	rg := startRig(t, api.Options{})
	v := openVisitor(t, rg)
	for i := range 6 {
		if err := rg.engine.Store().AppendActivity(context.Background(), store.Activity{ConversationID: v.Conversation.ID,
			Type: "ActionRun", Actor: "alice", Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var entries int
	after := int64(0)
	for pages := 1; ; pages++ {
		res, body := do(t, "GET", fmt.Sprintf("%s/api/v1/conversations/%s/activity?limit=3&after=%d", rg.srv.URL, v.Conversation.ID, after), aliceToken, "")
		var page struct {
			Activity []struct{ ID int64 }
			Next     int64
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil || res.StatusCode != 200 {
			t.Fatalf("%d %s", res.StatusCode, body)
		}
		if len(page.Activity) > 3 {
			t.Fatalf("page %d holds %d entries, past its limit of 3", pages, len(page.Activity))
		}
		entries += len(page.Activity)
		if page.Next == 0 {
			break
		}
		if pages > 5 {
			t.Fatal("the pages do not end")
		}
		after = page.Next
	}
	if entries != 7 {
		t.Errorf("the pages held %d entries, want 7 (the start and 6 more)", entries)
	}
}
