package config

import (
	"fmt"
	"strings"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// Rating scales of a widget, as the runtime names them.
const (
	RatingStars  = string(chatv1alpha1.RatingStars)
	RatingThumbs = string(chatv1alpha1.RatingThumbs)
)

// ratingScale is a widget's rating scale, Stars unless it says Thumbs.
func ratingScale(s chatv1alpha1.RatingScale) string {
	if s == chatv1alpha1.RatingThumbs {
		return RatingThumbs
	}
	return RatingStars
}

// surveyQuestions copies a widget's survey, in the order written (the order the
// visitor reads them).
func surveyQuestions(in []chatv1alpha1.SurveyQuestion) []SurveyQuestion {
	out := make([]SurveyQuestion, 0, len(in))
	for _, q := range in {
		out = append(out, SurveyQuestion{Name: q.Name, Text: q.Text, Options: append([]string(nil), q.Options...)})
	}
	return out
}

// SurveyText writes a widget's survey answers as people read them: a line per
// question answered, "question: answer", in the survey's order.
func SurveyText(w *WebWidget, answers map[string]string) string {
	var b strings.Builder
	if w != nil {
		for _, q := range w.Survey {
			if a, ok := answers[q.Name]; ok {
				fmt.Fprintf(&b, "%s: %s\n", q.Text, a)
			}
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Scale is the widget's rating scale: Stars unless it says Thumbs.
func (w *WebWidget) Scale() string {
	if w.RatingScale == RatingThumbs {
		return RatingThumbs
	}
	return RatingStars
}
