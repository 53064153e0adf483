package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAllAgentsOverHTTP: an accounting chat is offered to every eligible expert at
// once; the first to accept takes it and the offer disappears from the other console.
func TestAllAgentsOverHTTP(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	daveConsole, erinConsole := console(t, rt, dave), console(t, rt, erin)
	online(t, rt, dave)
	online(t, rt, erin)
	var opened struct{ Conversation struct{ ID string } }
	if code := call(t, "POST", rt.base+"/api/v1/channels/staff-helpdesk/conversations", frank, map[string]string{"text": "Where is my refund?"}, &opened); code != 201 {
		t.Fatalf("opening: %d", code)
	}
	id := opened.Conversation.ID
	offered := conversationIn(id, func(c map[string]any) bool {
		o, _ := c["offered"].([]any)
		return len(o) == 2 && o[0] == "dave" && o[1] == "erin"
	})
	daveConsole.waitEvent(t, "the offer on dave's console", offered)
	erinConsole.waitEvent(t, "the offer on erin's console", offered)

	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/take", erin, nil, nil); code != 200 {
		t.Fatalf("erin takes: %d", code)
	}
	var out struct{ Error struct{ Message string } }
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+id+"/take", dave, nil, &out); code != 409 {
		t.Errorf("dave, second: %d %q, want 409", code, out.Error.Message)
	}
	daveConsole.waitEvent(t, "the offer gone from dave's console", func(ev map[string]any) bool {
		return ev["type"] == "conversation" && field(ev, "conversation", "id") == id && field(ev, "conversation", "state") == "Active" &&
			field(ev, "conversation", "operator") == "erin" && field(ev, "conversation", "offered") == nil
	})
}

// TestForwardOverHTTP: an operator switches a chat to the expert queue, a transfer
// target, with its history.
func TestForwardOverHTTP(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	online(t, rt, alice)
	online(t, rt, dave)
	v := newVisitor(t, rt, "I was charged twice")
	accept(t, rt, alice, v.conversation)
	var out struct{ Error struct{ Message string } }
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/forward", alice, map[string]string{"queue": "nowhere"}, &out); code != 404 {
		t.Errorf("forward to an unknown queue: %d %q", code, out.Error.Message)
	}
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/forward", alice, map[string]string{}, &out); code != 400 {
		t.Errorf("forward to nobody: %d %q", code, out.Error.Message)
	}
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/forward", alice, map[string]string{"queue": "accounting"}, nil); code != 200 {
		t.Fatalf("forward: %d", code)
	}
	var msgs struct{ Messages []struct{ Text string } }
	for range 100 {
		var c struct{ State, Queue string }
		call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation, dave, nil, &c)
		if c.Queue == "accounting" {
			break
		}
	}
	call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation+"/messages", dave, nil, &msgs)
	if len(msgs.Messages) != 1 || msgs.Messages[0].Text != "I was charged twice" {
		t.Errorf("dave sees %+v", msgs.Messages)
	}
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/take", dave, nil, nil); code != 200 {
		t.Errorf("dave takes the forwarded chat: %d", code)
	}
}

func TestRoutingMetrics(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	online(t, rt, alice)
	newVisitor(t, rt, "count me")
	want := []string{
		`switchboard_runtime_assignments_total{queue="first-line",rule="AvailableAgent"} 1`,
		`switchboard_runtime_operators{active="true",presence="online"} 1`,
		`switchboard_runtime_operator_load_bucket{le="1"}`,
		`switchboard_runtime_queue_length{queue="first-line"} 0`,
		`switchboard_runtime_queue_wait_seconds_count{queue="first-line"} 1`,
		`switchboard_runtime_messages_total{channel_type="WebWidget",direction="in"} 1`,
		`switchboard_runtime_conversations{state="Assigned"} 1`,
		`switchboard_runtime_websocket_connections`,
		`switchboard_runtime_http_request_duration_seconds_bucket`,
		`switchboard_runtime_store_operation_duration_seconds_bucket`,
		`switchboard_runtime_config_info{revision=`,
	}
	var body string
	for range 200 {
		res, err := http.Get(rt.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body = string(data)
		missing := false
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = true
			}
		}
		if !missing {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
}
