package api

import (
	"net/http"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// ratingRoutes are what visitors tell of their chats (a rating, feedback, the survey,
// goals reached) and the supervisors' analytics.
func (s *Server) ratingRoutes() {
	s.handle("POST /api/v1/channels/{channel}/conversations/{id}/rating", s.clientRating)
	s.handle("POST /api/v1/channels/{channel}/conversations/{id}/feedback", s.clientFeedback)
	s.handle("POST /api/v1/channels/{channel}/conversations/{id}/survey", s.clientSurvey)
	s.handle("POST /api/v1/channels/{channel}/conversations/{id}/goals", s.clientGoal)
	s.handle("GET /api/v1/analytics", s.operator(s.analytics))
}

// feedbackResponse is the conversation with what the visitor told of it.
type feedbackResponse struct {
	Conversation chat.VisitorConversation `json:"conversation"`
	// Goal and Reached, for a goal: Reached is false when the chat had reached it
	// before.
	Goal    string `json:"goal,omitempty"`
	Reached *bool  `json:"reached,omitempty"`
}

// visitorFeedback decodes a request about a client's conversation into req and
// records it with record.
func visitorFeedback[T any](s *Server, w http.ResponseWriter, r *http.Request,
	record func(conv store.Conversation, req T) (store.Conversation, error)) {
	_, conv, ok := s.clientConversationFor(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	var req T
	if !s.decode(w, r, &req) {
		return
	}
	next, err := record(conv, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, feedbackResponse{Conversation: s.engine.ConversationForVisitor(next)})
}

func (s *Server) clientRating(w http.ResponseWriter, r *http.Request) {
	visitorFeedback(s, w, r, func(conv store.Conversation, req chat.RatingInput) (store.Conversation, error) {
		return s.engine.Rate(r.Context(), conv, req)
	})
}

type feedbackRequest struct {
	Text string `json:"text"`
}

func (s *Server) clientFeedback(w http.ResponseWriter, r *http.Request) {
	visitorFeedback(s, w, r, func(conv store.Conversation, req feedbackRequest) (store.Conversation, error) {
		return s.engine.LeaveFeedback(r.Context(), conv, req.Text)
	})
}

type surveyRequest struct {
	Answers map[string]string `json:"answers"`
}

func (s *Server) clientSurvey(w http.ResponseWriter, r *http.Request) {
	visitorFeedback(s, w, r, func(conv store.Conversation, req surveyRequest) (store.Conversation, error) {
		return s.engine.AnswerSurvey(r.Context(), conv, req.Answers)
	})
}

type goalRequest struct {
	Goal string `json:"goal"`
}

func (s *Server) clientGoal(w http.ResponseWriter, r *http.Request) {
	_, conv, ok := s.clientConversationFor(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	var req goalRequest
	if !s.decode(w, r, &req) {
		return
	}
	next, reached, err := s.engine.ReachGoal(r.Context(), conv, req.Goal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, feedbackResponse{Conversation: s.engine.ConversationForVisitor(next), Goal: req.Goal, Reached: &reached})
}

// analytics is the supervisors' report of a range of days.
func (s *Server) analytics(w http.ResponseWriter, r *http.Request, me chat.Me) {
	q := r.URL.Query()
	rep, err := s.engine.Analytics(r.Context(), me.Name, q.Get("from"), q.Get("to"), q.Get("queue"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
