package processmsg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Outbox kinds.
const (
	// KindWrite finds a process message's conversations and stores it in each.
	KindWrite = "process.write"
	// KindCallback posts a failure to the process's callback URL.
	KindCallback = "process.callback"
	// kindSendPrefix starts the kinds that send a stored process message: one per
	// messenger type, with its rate limits, and kindSendPrefix+"live" for channels
	// whose contacts see it as it is stored.
	kindSendPrefix = "process.send."
)

// SendKind is the kind that sends process messages through channels of type t.
func SendKind(t config.ChannelType) string { return kindSendPrefix + strings.ToLower(string(t)) }

const kindSendLive = kindSendPrefix + "live"

func writeKey(id string) string       { return KindWrite + "/" + id }
func sendKey(id string, n int) string { return kindSendPrefix + id + "/" + strconv.Itoa(n) }
func callbackKey(id string) string    { return KindCallback + "/" + id }
func isSendKind(kind string) bool     { return strings.HasPrefix(kind, kindSendPrefix) }

// Register registers the service's kinds with the outbox, before it starts. The
// attempts and delays are each message's own (the jobs' MaxAttempts, RetryAfter).
func (s *Service) Register(o *outbox.Outbox) error {
	if err := o.Handle(KindWrite, outbox.Kind{Handle: s.write}); err != nil {
		return err
	}
	if err := o.Handle(kindSendLive, outbox.Kind{Handle: s.send}); err != nil {
		return err
	}
	for _, t := range []config.ChannelType{config.ChannelTelegram, config.ChannelFacebookMessenger, config.ChannelWhatsApp, config.ChannelSMS} {
		l, ok := s.opts.Channels.Limits(t)
		if !ok {
			continue
		}
		if err := o.Handle(SendKind(t), outbox.Kind{Handle: s.send, KeyRate: l.PerRecipient, LimiterRate: l.PerSender}); err != nil {
			return err
		}
	}
	return o.Handle(KindCallback, outbox.Kind{Handle: s.callback, MaxAttempts: 10, MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute})
}

// sendPayload is what a send job carries: the message it sends is the job's.
type sendPayload struct {
	ID             string `json:"id"`
	N              int    `json:"n"`
	ConversationID string `json:"conversationID"`
	Channel        string `json:"channel"`
	ContactID      string `json:"contactID"`
	Text           string `json:"text"`
	DelayMs        int64  `json:"delayMs"`
}

// write is the handler of KindWrite: it stores the message in every conversation
// the request reaches that does not hold it yet.
func (s *Service) write(ctx context.Context, job store.Job) error {
	var rec record
	if err := json.Unmarshal(job.Payload, &rec); err != nil {
		return outbox.Permanent(fmt.Errorf("undecodable process message: %w", err))
	}
	targets, err := s.targets(ctx, rec)
	if err != nil {
		return retry(err, rec.delay())
	}
	sends, err := s.sends(ctx, rec.ID)
	if err != nil {
		return err
	}
	cfg := s.config()
	for _, c := range targets {
		if slices.ContainsFunc(sends, func(j store.Job) bool { return payloadOf(j).ConversationID == c.ID }) {
			continue // stored by an earlier attempt
		}
		n := len(sends)
		kind := kindSendLive
		if ch := channel(cfg, c.Channel); ch != nil && s.opts.Channels.Messenger(ch.Type) {
			kind = SendKind(ch.Type)
		}
		p, _ := json.Marshal(sendPayload{ID: rec.ID, N: n, ConversationID: c.ID, Channel: c.Channel, ContactID: c.ContactID,
			Text: rec.Text, DelayMs: rec.DelayMs})
		send := store.Job{Kind: kind, Key: "process/conversation/" + c.ID, IdempotencyKey: sendKey(rec.ID, n), Payload: p,
			MaxAttempts: rec.Attempts}
		if kind != kindSendLive {
			send.Limiter = "channel/" + c.Channel // shared with the channel's replies
		}
		m, err := s.opts.Engine.WriteToContact(ctx, c.ID, rec.Text, send)
		if err != nil {
			return retry(err, rec.delay())
		}
		sends = append(sends, store.Job{Payload: p})
		s.activity(ctx, c.ID, rec, "ProcessMessage", "message "+strconv.FormatInt(m.ID, 10)+about(rec.Object))
	}
	return nil
}

// targets are the open conversations a process message reaches now.
func (s *Service) targets(ctx context.Context, rec record) ([]store.Conversation, error) {
	if rec.Mode == ModeApp && rec.ConversationID != "" {
		c, err := s.opts.Store.Conversation(ctx, rec.ConversationID)
		if err != nil {
			return nil, err
		}
		if !c.State.Open() {
			return nil, chat.Conflict("conversation " + c.ID + " is closed: the contact starts a new one by writing again")
		}
		return []store.Conversation{c}, nil
	}
	open, err := s.opts.Store.Conversations(ctx, store.ConversationFilter{ContactID: rec.ContactID,
		States: []store.State{store.StateBot, store.StateQueued, store.StateAssigned, store.StateActive, store.StateMissed}})
	if err != nil {
		return nil, err
	}
	if rec.Mode == ModeApp {
		open = slices.DeleteFunc(open, func(c store.Conversation) bool { return rec.Channel != "" && c.Channel != rec.Channel })
		open = open[:min(len(open), 1)]
	}
	if len(open) == 0 {
		return nil, chat.Conflict("contact " + rec.ContactID + " has no open conversation: a process message is written into one, and the contact opens one by writing")
	}
	slices.SortFunc(open, func(a, b store.Conversation) int { return strings.Compare(a.ID, b.ID) })
	return open, nil
}

// sends are a process message's send jobs, in order: their keys are numbered.
func (s *Service) sends(ctx context.Context, id string) ([]store.Job, error) {
	var out []store.Job
	for n := 0; ; n++ {
		j, err := s.opts.Store.Job(ctx, sendKey(id, n))
		if errors.Is(err, store.ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
}

func payloadOf(j store.Job) sendPayload {
	var p sendPayload
	_ = json.Unmarshal(j.Payload, &p)
	return p
}

// send is the handler of the send kinds.
func (s *Service) send(ctx context.Context, job store.Job) error {
	var p sendPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("undecodable process message send: %w", err))
	}
	if job.Kind == kindSendLive {
		return nil // the contact saw it when it was stored
	}
	if channel(s.config(), p.Channel) == nil {
		return outbox.Permanent(fmt.Errorf("channel %s is no longer configured: the message cannot be sent", p.Channel))
	}
	err := s.opts.Channels.SendMessage(ctx, p.Channel, p.ContactID, job.MessageID, p.Text)
	return retry(err, time.Duration(p.DelayMs)*time.Millisecond)
}

// retry schedules the next attempt delay from now, unless err is final or the
// provider asked for its own wait. Input the process cannot change is final.
func retry(err error, delay time.Duration) error {
	if err == nil || outbox.IsPermanent(err) {
		return err
	}
	if chat.KindOf(err) == chat.KindInvalid {
		return outbox.Permanent(err)
	}
	if wait, ok := outbox.RetryAfterOf(err); ok {
		return outbox.RetryAfter(err, max(wait, delay))
	}
	return outbox.RetryAfter(err, delay)
}

func channel(cfg *config.Config, name string) *config.Channel {
	for i := range cfg.Channels {
		if cfg.Channels[i].Name == name {
			return &cfg.Channels[i]
		}
	}
	return nil
}

// activity records an entry in a conversation's activity stream; a failure to is
// logged, as the message itself is stored.
func (s *Service) activity(ctx context.Context, conversationID string, rec record, typ, detail string) {
	err := s.opts.Store.AppendActivity(ctx, store.Activity{ConversationID: conversationID, Type: typ, Actor: "process:" + rec.ID, Detail: detail})
	if err != nil && !errors.Is(err, store.ErrStoreClosed) {
		s.opts.Log.Warn("recording a process message in the activity stream", "conversation", conversationID, "error", err)
	}
}

// about describes the object a message is about, for the activity stream.
func about(o *Object) string {
	if o == nil {
		return ""
	}
	out := " about " + o.Kind + " " + o.ID
	if o.Title != "" {
		out += " (" + o.Title + ")"
	}
	return out
}
