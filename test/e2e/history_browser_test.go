package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestPreviousConversationsInChromium: a visitor comes back after a closed chat; the
// operator who opens the new chat sees the closed one, and no other visitor's, under
// the contact's previous conversations, and reads it, messages and all, without
// leaving the new chat.
func TestPreviousConversationsInChromium(t *testing.T) {
	rt := uiRuntime(t, nil)
	online(t, rt, alice)
	v := newVisitor(t, rt, "My kettle leaks at the bottom")
	earlier := v.conversation
	accept(t, rt, alice, earlier)
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+earlier+"/messages", alice, map[string]string{"text": "Please fit the new seal"}, nil); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("alice's reply: %d", code)
	}
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+earlier+"/close", alice, nil, nil); code != http.StatusOK {
		t.Fatalf("closing the first chat: %d", code)
	}
	// Another visitor's chat, closed too, belongs to no one else's history.
	other := newVisitor(t, rt, "Do you ship to Norway?")
	accept(t, rt, alice, other.conversation)
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+other.conversation+"/close", alice, nil, nil); code != http.StatusOK {
		t.Fatalf("closing the other visitor's chat: %d", code)
	}
	// The visitor comes back: a new chat of the same contact.
	var again visitorOpen
	if code := call(t, "POST", rt.base+"/api/v1/channels/website/conversations", v.token, map[string]string{"text": "The lid is cracked too"}, &again,
		"Origin", origin); code != http.StatusCreated || again.Conversation.ID == "" || again.Conversation.ID == earlier {
		t.Fatalf("the visitor's second chat: %d %+v (the first was %s)", code, again, earlier)
	}

	console := browser(t)
	steps(t, console, "alice", append(signIn(rt, alice),
		press(`#list .conv[data-id="`+again.Conversation.ID+`"]`),
		poll(`document.getElementById("messages").textContent.includes("The lid is cracked too")`),
		poll(`document.querySelectorAll("#previous button").length > 0`))...)
	listed := evalString(t, console, `JSON.stringify([...document.querySelectorAll("#previous button")].map((b) => b.dataset.conversation))`)
	if listed != `["`+earlier+`"]` {
		t.Fatalf("the previous conversations list %s, want only the visitor's closed chat %s (the other visitor's is %s, the open one %s)",
			listed, earlier, other.conversation, again.Conversation.ID)
	}
	if text := evalString(t, console, `document.querySelector("#previous button").textContent`); !strings.Contains(text, "closed") || !strings.Contains(text, "Alice") {
		t.Errorf("the previous conversation reads %q, want its state (closed) and its operator (Alice)", text)
	}
	steps(t, console, "alice",
		press(`#previous button[data-conversation="`+earlier+`"]`),
		poll(`document.getElementById("transcript").open`),
		poll(`document.getElementById("transcript-messages").textContent.includes("My kettle leaks at the bottom") &&
			document.getElementById("transcript-messages").textContent.includes("Please fit the new seal")`))
	if heading := evalString(t, console, `document.getElementById("transcript-heading").textContent`); !strings.Contains(heading, "Conversation of") {
		t.Errorf("the transcript's heading: %q", heading)
	}
	// Read-only: the transcript has no reply box, and the open chat stays the new one.
	if n := evalString(t, console, `String(document.querySelectorAll("#transcript textarea, #transcript input").length)`); n != "0" {
		t.Errorf("the transcript has %s fields to write in", n)
	}
	steps(t, console, "alice", press("#transcript-close"), poll(`!document.getElementById("transcript").open`),
		poll(`document.getElementById("chat-head").dataset.id === "`+again.Conversation.ID+`"`))
}
