package processmsg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/notify/dispatch"
	"github.com/switchboard-chat/switchboard/runtime/notify/webhook"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// EventFailed is the X-Switchboard-Event of an error callback.
const EventFailed = "ProcessMessageFailed"

// Failed reports a process message's step given up on, as its error handling says:
// in the conversation's activity stream always; to the people onError.notify names,
// through a DeliveryFailed event; to the process, by a callback job.
// outbox.Options.OnFailed; it ignores jobs of other kinds and returns at once.
func (s *Service) Failed(job store.Job) {
	if job.Kind != KindWrite && !isSendKind(job.Kind) {
		return
	}
	s.failing.Add(1)
	go func() {
		defer s.failing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.report(ctx, job); err != nil && !errors.Is(err, store.ErrStoreClosed) {
			s.opts.Log.Warn("reporting a failed process message", "job", job.IdempotencyKey, "error", err)
		}
	}()
}

func (s *Service) report(ctx context.Context, job store.Job) error {
	var rec record
	conversation := ""
	if job.Kind == KindWrite {
		if err := json.Unmarshal(job.Payload, &rec); err != nil {
			return err
		}
		conversation = rec.ConversationID
	} else {
		p := payloadOf(job)
		conversation = p.ConversationID
		if job.MessageID != 0 {
			// The console shows the message failed, with the reason.
			if _, err := s.opts.Store.UpdateDelivery(ctx, store.DeliveryUpdate{MessageID: job.MessageID, State: store.DeliveryFailed,
				Error: job.LastError}); err != nil {
				return err
			}
		}
		w, err := s.opts.Store.Job(ctx, writeKey(p.ID))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(w.Payload, &rec); err != nil {
			return err
		}
	}
	if conversation != "" {
		s.activity(ctx, conversation, rec, "ProcessMessageFailed", job.LastError+about(rec.Object))
	}
	if n := rec.OnError.Notify; n != nil {
		text := fmt.Sprintf("process message %s to contact %s could not be sent: %s", rec.ID, rec.ContactID, job.LastError)
		if err := s.opts.Store.AppendEvents(ctx, dispatch.Failure(conversation, text, n.Operators, n.Groups)); err != nil {
			return err
		}
	}
	if i := rec.OnError.Interrupt; i != nil && i.CallbackURL != "" {
		p, _ := json.Marshal(callbackPayload{ID: rec.ID, URL: i.CallbackURL})
		_, err := s.opts.Store.Enqueue(ctx, store.Job{Kind: KindCallback, Key: "process/callback/" + rec.ID,
			IdempotencyKey: callbackKey(rec.ID), Payload: p})
		return err
	}
	return nil
}

// callbackPayload is what a callback job carries; the body is made when it is sent.
type callbackPayload struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// CallbackBody is what an error callback posts.
type CallbackBody struct {
	Event          string `json:"event"`
	ProcessMessage Status `json:"processMessage"`
}

// callback is the handler of KindCallback: a POST of the process message's status,
// signed with the process API token as notification webhooks are signed.
func (s *Service) callback(ctx context.Context, job store.Job) error {
	var p callbackPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("undecodable process callback: %w", err))
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return outbox.Permanent(errors.New("the callback URL does not parse"))
	}
	what := "process callback to " + u.Scheme + "://" + u.Host
	tok, err := s.token()
	if err != nil {
		return outbox.Permanent(fmt.Errorf("%s cannot be signed: %w", what, err))
	}
	st, err := s.Status(ctx, p.ID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(CallbackBody{Event: EventFailed, ProcessMessage: st})
	if err != nil {
		return outbox.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return outbox.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	ts := strconv.FormatInt(s.opts.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.IdempotencyKeyHeader, p.ID)
	req.Header.Set(webhook.EventHeader, EventFailed)
	req.Header.Set(webhook.TimestampHeader, ts)
	req.Header.Set(webhook.SignatureHeader, "v1="+webhook.Sign(tok, ts, body))
	resp, err := s.opts.HTTP.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL, whose path may be a credential
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return outbox.StatusError(resp, what, "", s.opts.Now())
}
