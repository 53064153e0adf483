package render_test

import (
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/render"
)

func TestRender(t *testing.T) {
	values := render.Values{"recipient_name": "Alice", "sender_name": `Vera <script>alert(1)</script>`,
		"message": "Line one\nLine two & <b>three</b>", "conversation_link": "https://chat.example.com/console/?conversation=c1"}
	tests := []struct {
		name string
		tpl  config.Template
		want render.Message
	}{
		{"text keeps values as they are", config.Template{Subject: "From {sender_name}", Text: "Hi {recipient_name},\n{message}\n{conversation_link}"},
			render.Message{Subject: "From Vera <script>alert(1)</script>", Text: "Hi Alice,\nLine one\nLine two & <b>three</b>\nhttps://chat.example.com/console/?conversation=c1"}},
		{"HTML escapes values and keeps their line breaks", config.Template{Text: "x", HTML: "<p>{sender_name}</p><blockquote>{message}</blockquote>"},
			render.Message{Text: "x", HTML: "<p>Vera &lt;script&gt;alert(1)&lt;/script&gt;</p><blockquote>Line one<br>Line two &amp; &lt;b&gt;three&lt;/b&gt;</blockquote>"}},
		{"a subject stays on one line", config.Template{Subject: "{message}"},
			render.Message{Subject: "Line one Line two & <b>three</b>"}},
		{"a field without a value renders empty", config.Template{Text: "[{attachments}]"}, render.Message{Text: "[]"}},
		{"text outside fields is kept, braces too", config.Template{Text: "{not a field} {recipient_name}"}, render.Message{Text: "{not a field} Alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render.Render(tt.tpl, values); got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestBuiltinTemplatesUseOnlyKnownFields: the texts of rules without a template use
// only fields the runtime fills, as a policy's own must.
func TestBuiltinTemplatesUseOnlyKnownFields(t *testing.T) {
	for _, ev := range config.EventTypes {
		tpl := render.Builtin(ev)
		if tpl.Subject == "" || tpl.Text == "" {
			t.Errorf("%s: empty built-in template", ev)
		}
		for _, f := range tpl.Fields {
			if _, ok := config.MergeFields[f]; !ok {
				t.Errorf("%s: built-in template uses unknown field {%s}", ev, f)
			}
		}
	}
}
