package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Pages of lists: ?limit= items (default and most below), from ?cursor= (a list's
// next) or, for messages, ?after=.
const (
	defaultConversationPage = 200
	maxConversationPage     = 1000
	maxMessagePage          = 500
	maxActivityPage         = 500
)

// limitParam reads ?limit=, def when absent; it answers 400 itself.
func limitParam(w http.ResponseWriter, r *http.Request, def, most int) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("limit must be a number from 1 to %d", most))
		return 0, false
	}
	return n, true
}

// encodeCursor turns a conversation's place in the list into an opaque cursor.
func encodeCursor(k store.ConversationKey) string {
	raw := strconv.FormatInt(k.At.UnixMilli(), 10) + "." + strconv.FormatInt(k.CreatedAt.UnixMilli(), 10) + "." + k.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// cursorParam reads ?cursor=, nil when absent; it answers 400 itself.
func cursorParam(w http.ResponseWriter, r *http.Request) (*store.ConversationKey, bool) {
	v := r.URL.Query().Get("cursor")
	if v == "" {
		return nil, true
	}
	k, ok := decodeCursor(v)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid", "cursor is not one this API gave: pass a list's next as it is")
		return nil, false
	}
	return &k, true
}

func decodeCursor(v string) (store.ConversationKey, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return store.ConversationKey{}, false
	}
	parts := strings.SplitN(string(raw), ".", 3)
	if len(parts) != 3 || parts[2] == "" {
		return store.ConversationKey{}, false
	}
	at, err1 := strconv.ParseInt(parts[0], 10, 64)
	created, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return store.ConversationKey{}, false
	}
	return store.ConversationKey{At: time.UnixMilli(at), CreatedAt: time.UnixMilli(created), ID: parts[2]}, true
}

// conversationPage lists up to limit conversations the operator sees, of one contact
// when contact is set, from after a cursor, with the cursor of the next page; ""
// when this page is the last.
func (s *Server) conversationPage(ctx context.Context, me chat.Me, contact string, states []store.State, after *store.ConversationKey, limit int) ([]store.Conversation, string, error) {
	// One more than asked says whether a next page exists.
	var list []store.Conversation
	var err error
	if contact != "" {
		list, err = s.engine.ContactPage(ctx, me.Name, contact, states, after, limit+1)
	} else {
		list, err = s.engine.VisiblePage(ctx, me.Name, states, after, limit+1)
	}
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(list) > limit {
		list = list[:limit]
		next = encodeCursor(list[limit-1].Key())
	}
	if list == nil {
		list = []store.Conversation{}
	}
	return list, next, nil
}

// messagePage reads ?after= and ?limit= and lists that page of a conversation's
// messages, with the after of the next page; 0 when this page is the last. It
// answers errors itself.
func (s *Server) messagePage(w http.ResponseWriter, r *http.Request, conversation string) ([]store.Message, int64, bool) {
	after, ok := afterParam(w, r)
	if !ok {
		return nil, 0, false
	}
	limit, ok := limitParam(w, r, maxMessagePage, maxMessagePage)
	if !ok {
		return nil, 0, false
	}
	msgs, err := s.engine.Messages(r.Context(), conversation, after, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return nil, 0, false
	}
	var next int64
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].Seq
	}
	if msgs == nil {
		msgs = []store.Message{}
	}
	return msgs, next, true
}
