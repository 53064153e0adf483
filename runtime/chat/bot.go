package chat

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// BotCall is what a channel's bot receives for each visitor message while it holds
// the chat. It answers through the bot API (BotReply) or hands over (BotHandover).
type BotCall struct {
	Channel        string        `json:"channel"`
	ConversationID string        `json:"conversationId"`
	ContactID      string        `json:"contactId"`
	Message        store.Message `json:"message"`
}

// botTurn handles a visitor message in a chat the bot holds: a handover keyword hands
// the chat to the queue; anything else goes to the bot's webhook. A bot that cannot be
// reached hands the chat over too, so no visitor is left talking to nobody.
func (e *Engine) botTurn(ctx context.Context, ch *config.Channel, conv store.Conversation, m store.Message) {
	word := strings.ToLower(strings.TrimSpace(m.Text))
	for _, k := range ch.Bot.HandoverKeywords {
		if word == k {
			if _, err := e.handover(ctx, conv, "the visitor asked for a human"); err != nil {
				e.log.Error("handing a chat over on the visitor's request", "conversation", conv.ID, "error", err)
			}
			return
		}
	}
	body, err := json.Marshal(BotCall{Channel: ch.Name, ConversationID: conv.ID, ContactID: conv.ContactID, Message: m})
	if err != nil {
		return
	}
	// The visitor's request ends now; the call goes on, and Close waits for it.
	ctx = context.WithoutCancel(ctx)
	e.background(func() {
		status, err := e.post(ctx, ch.Bot.Webhook, body)
		if err == nil && (status < 200 || status > 299) {
			err = fmt.Errorf("the bot's webhook answered %d", status)
		}
		if err != nil {
			e.log.Warn("bot unavailable: handing the chat over", "channel", ch.Name, "error", err)
			if _, err := e.handover(ctx, conv, "the bot is unavailable: "+err.Error()); err != nil {
				e.log.Error("handing a chat over from an unavailable bot", "conversation", conv.ID, "error", err)
			}
		}
	})
}

// handover gives a chat the bot held to its queue; with nobody of the queue online
// and offline messages on, it becomes an offline message, as a chat without a bot
// would.
func (e *Engine) handover(ctx context.Context, conv store.Conversation, reason string) (store.Conversation, error) {
	now := e.now()
	for range 3 {
		c, err := e.store.Conversation(ctx, conv.ID)
		if err != nil {
			return c, err
		}
		if c.State != store.StateBot {
			return c, nil // handed over already
		}
		offline, err := e.queueOffline(ctx, e.view.Load(), c.Queue)
		if err != nil {
			return c, err
		}
		to := store.StateQueued
		if offline {
			to = store.StateMissed
		}
		next, err := e.commit(ctx, store.Transition{ID: c.ID, Version: c.Version,
			Change:   func(c *store.Conversation) { c.State, c.QueuedAt = to, &now },
			Activity: &store.Activity{Type: string(chatv1alpha1.EventBotHandedOver), Actor: "bot", Detail: reason},
			Events:   handoverEvents(c.ID, reason, offline)})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err == nil {
			e.emit(chatv1alpha1.EventBotHandedOver, &next, "", reason)
			if offline {
				e.emit(chatv1alpha1.EventOfflineMessage, &next, "", "")
			}
		}
		return next, err
	}
	return store.Conversation{}, Conflict("the conversation keeps changing: try again")
}

// botConversation authenticates a bot by its channel's secret and loads a chat of that
// channel.
func (e *Engine) botConversation(ctx context.Context, channel, credential, id string) (*config.Channel, store.Conversation, error) {
	v := e.view.Load()
	ch := v.channels[channel]
	if ch == nil || ch.Bot == nil {
		return nil, store.Conversation{}, NotFound(fmt.Sprintf("channel %q has no bot", channel))
	}
	var key []byte
	if ref := ch.Bot.Webhook.SecretRef; ref != nil {
		key = e.secretValue(ref.Name, ref.Key)
	}
	if len(key) == 0 || subtle.ConstantTimeCompare(key, []byte(credential)) != 1 {
		return nil, store.Conversation{}, Unauthenticated("missing or invalid bot credentials: send the bot's secret as Authorization: Bearer <secret>")
	}
	c, err := e.store.Conversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Channel != channel) {
		return nil, store.Conversation{}, NotFound("no such conversation")
	}
	return ch, c, err
}

// handoverEvents are the events of a bot handing a chat over: to an offline queue it
// becomes an offline message.
func handoverEvents(conversationID, reason string, offline bool) []store.Event {
	events := []store.Event{record(chatv1alpha1.EventBotHandedOver, conversationID, "", reason)}
	if offline {
		events = append(events, record(chatv1alpha1.EventOfflineMessage, conversationID, "", ""))
	}
	return events
}

// BotReply stores the bot's answer in a chat it holds; the chat is marked as answered
// by the bot, for notifications that skip such chats.
func (e *Engine) BotReply(ctx context.Context, channel, credential, id, text string) (store.Message, error) {
	text, err := validText(text)
	if err != nil {
		return store.Message{}, err
	}
	ch, c, err := e.botConversation(ctx, channel, credential, id)
	if err != nil {
		return store.Message{}, err
	}
	m := store.Message{ConversationID: c.ID, Direction: store.DirectionOut, AuthorKind: "bot", Text: text, BotAnswer: true}
	e.outbound(ch, c, &m)
	m, _, err = e.store.AppendMessage(ctx, ch.Name, m)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrClosed) {
		return store.Message{}, Conflict("the bot no longer holds this chat: it was handed over")
	}
	if err != nil {
		return store.Message{}, err
	}
	e.metrics.messages.WithLabelValues(string(ch.Type), string(store.DirectionOut)).Inc()
	return m, nil
}

// BotHandover is the bot giving up: the chat goes to the channel's queue.
func (e *Engine) BotHandover(ctx context.Context, channel, credential, id, reason string) (store.Conversation, error) {
	_, c, err := e.botConversation(ctx, channel, credential, id)
	if err != nil {
		return c, err
	}
	if reason == "" {
		reason = "the bot handed the chat over"
	}
	return e.handover(ctx, c, reason)
}
