package render

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// edit changes one sample file: old replaced by new once, or new appended when old
// is empty, or the file cut from old on when new is cutToEnd.
type edit struct{ file, old, new string }

const cutToEnd = "\x00cut"

// samplesEdited copies the whole sample platform to a new directory and applies the
// edits; each edit must apply.
func samplesEdited(t *testing.T, edits ...edit) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(samplesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(samplesDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, ed := range edits {
			if ed.file != e.Name() {
				continue
			}
			if ed.old == "" {
				data = append(data, ed.new...)
				continue
			}
			if !bytes.Contains(data, []byte(ed.old)) {
				t.Fatalf("%s does not contain %q: the samples changed, update the test", e.Name(), ed.old)
			}
			if ed.new == cutToEnd {
				data = data[:bytes.Index(data, []byte(ed.old))]
				continue
			}
			data = bytes.Replace(data, []byte(ed.old), []byte(ed.new), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const whatsAppChannel = `---
apiVersion: chat.switchboard.dev/v1alpha1
kind: Channel
metadata:
  name: whatsapp
spec:
  liveChatRef:
    name: support
  queueRef:
    name: first-line
  displayName: WhatsApp +49 151 1000 0000
  active: true
  type: WhatsApp
  whatsApp:
    phoneNumberID: "106540352242922"
    accessTokenSecretRef: {name: whatsapp, key: accessToken}
    appSecretSecretRef: {name: whatsapp, key: appSecret}
    verifyTokenSecretRef: {name: whatsapp, key: verifyToken}
`

const whatsAppSecret = `---
apiVersion: v1
kind: Secret
metadata:
  name: whatsapp
stringData:
  accessToken: REPLACE
  appSecret: REPLACE
  verifyToken: REPLACE
`

// TestRenderDiffGolden reviews realistic changes to the sample platform, in both
// formats, against golden reports (go test ./internal/render -update rewrites them).
func TestRenderDiffGolden(t *testing.T) {
	tests := []struct {
		name       string
		base, head []edit
		wantCode   int
	}{
		{name: "no-change", wantCode: DiffClean},
		{name: "operator-joins-a-group", head: []edit{
			{"operatorgroups.yaml", "  - name: erin\n", "  - name: henry\n    displayName: Henry Hall\n    email: henry@example.com\n  - name: erin\n"},
			{"secrets.yaml", "  grace: sample-token-grace\n", "  grace: sample-token-grace\n  henry: sample-token-henry\n"},
		}, wantCode: DiffClean},
		{name: "operator-leaves-and-limit-changes", head: []edit{
			{"operatorgroups.yaml", "  - name: carol\n    displayName: Carol Chen\n    email: carol@example.com\n    skills: [en, zh]\n", ""},
			{"operatorgroups.yaml", "    maxChats: 3\n", "    maxChats: 5\n"},
		}, wantCode: DiffClean},
		{name: "routing-rule-and-timeouts", head: []edit{
			{"chatqueues.yaml", "rule: AvailableAgent\n    acceptTimeout: 2m", "rule: AllAgents\n    acceptTimeout: 1m"},
			{"chatqueues.yaml", "completionTimeout: 30m", "completionTimeout: 2h"},
			{"chatqueues.yaml", "  offline:\n    acceptMessages: true\n  actions:\n  - name: notify", "  offline:\n    acceptMessages: false\n  actions:\n  - name: notify"},
		}, wantCode: DiffClean},
		{name: "platform-defaults-and-supervisors", head: []edit{
			{"livechat.yaml", "simultaneousChats: 2", "simultaneousChats: 3"},
			{"livechat.yaml", "  - supervisors\n", "  - supervisors\n  - experts\n"},
			{"livechat.yaml", "desktopNotifications: true", "desktopNotifications: false"},
		}, wantCode: DiffClean},
		{name: "channel-deactivated", head: []edit{
			{"channels.yaml", "active: true", "active: false"},
		}, wantCode: DiffClean},
		{name: "new-channel-with-its-secret", head: []edit{
			{"channels.yaml", "", whatsAppChannel},
			{"secrets.yaml", "", whatsAppSecret},
			{"channels.yaml", "    - https://www.example.com\n", "    - https://www.example.com\n    - https://shop.example.com\n"},
		}, wantCode: DiffClean},
		{name: "new-channel-without-its-secret", head: []edit{
			{"channels.yaml", "", whatsAppChannel},
		}, wantCode: DiffProblems},
		{name: "notification-rules", head: []edit{
			{"notificationpolicy.yaml", "  - name: activity-feed\n    events: [ChatStarted, ChatForwarded, AcceptTimedOut, ChatFinished]\n    recipients:\n      kinds: [Supervisors]\n    send:\n    - provider: team-webhook\n",
				"  - name: ratings-to-supervisors\n    events: [ChatRated]\n    recipients:\n      kinds: [Supervisors]\n    send:\n    - provider: email\n"},
			{"notificationpolicy.yaml", "    events: [MessageReceived]\n", "    events: [MessageReceived, ChatForwarded]\n"},
			{"notificationpolicy.yaml", `subject: "New chat from {sender_name}"`, `subject: "New chat: {sender_name}"`},
			{"notificationpolicy.yaml", "window: 2m", "window: 5m"},
		}, wantCode: DiffClean},
		{name: "queue-removed", head: []edit{
			{"chatqueues.yaml", "  transferTargets:\n  - accounting\n", ""},
			{"channels.yaml", "  queueRef:\n    name: accounting", "  queueRef:\n    name: first-line"},
			{"chatqueues.yaml", "---\napiVersion: chat.switchboard.dev/v1alpha1\nkind: ChatQueue\nmetadata:\n  name: accounting\n", cutToEnd},
		}, wantCode: DiffClean},
		{name: "new-livechat", base: []edit{
			{"livechat.yaml", "apiVersion", cutToEnd},
		}, wantCode: DiffClean},
		{name: "problem-fixed", base: []edit{
			{"channels.yaml", "  queueRef:\n    name: accounting", "  queueRef:\n    name: acounting"},
		}, wantCode: DiffClean},
		{name: "refused-by-the-api-server", head: []edit{
			{"chatqueues.yaml", "rule: AllAgents", "rule: RoundRobin"},
		}, wantCode: DiffProblems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, head := samplesEdited(t, tt.base...), samplesEdited(t, tt.head...)
			for _, format := range []string{FormatText, FormatMarkdown} {
				var out, errOut bytes.Buffer
				code := RunDiff(DiffOptions{Base: []string{base}, Head: []string{head}, Format: format, Namespace: "default"}, &out, &errOut)
				if code != tt.wantCode {
					t.Errorf("%s: exit %d, want %d; stderr: %s", format, code, tt.wantCode, errOut.String())
				}
				ext := map[string]string{FormatText: ".txt", FormatMarkdown: ".md"}[format]
				golden(t, filepath.Join("diff", tt.name+ext), out.String())
				for _, secret := range []string{"sample-token", "REPLACE"} {
					if strings.Contains(out.String(), secret) {
						t.Errorf("a Secret value (%s) reached the report", secret)
					}
				}
			}
		})
	}
}

func TestRenderDiffExitCodes(t *testing.T) {
	changed := samplesEdited(t, edit{"channels.yaml", "active: true", "active: false"})
	tests := []struct {
		name     string
		opts     DiffOptions
		wantCode int
		wantErr  string
	}{
		{"no change with --exit-code", DiffOptions{Base: []string{samplesDir}, Head: []string{samplesDir}, ExitCode: true}, DiffClean, ""},
		{"a change with --exit-code", DiffOptions{Base: []string{samplesDir}, Head: []string{changed}, ExitCode: true}, DiffChanged, ""},
		{"a change without --exit-code", DiffOptions{Base: []string{samplesDir}, Head: []string{changed}}, DiffClean, ""},
		{"unreadable base", DiffOptions{Base: []string{filepath.Join(changed, "nope")}, Head: []string{samplesDir}}, DiffInput, "base: "},
		{"unknown format", DiffOptions{Base: []string{samplesDir}, Head: []string{samplesDir}, Format: "html"}, DiffInput, `unknown format "html"`},
		{"no LiveChat anywhere", DiffOptions{Base: []string{filepath.Join(samplesDir, "chatqueues.yaml")}, Head: []string{filepath.Join(samplesDir, "chatqueues.yaml")}}, DiffInput, "no LiveChat found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Format == "" {
				tt.opts.Format = FormatText
			}
			tt.opts.Namespace = "default"
			var out, errOut bytes.Buffer
			code := RunDiff(tt.opts, &out, &errOut)
			if code != tt.wantCode || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestRenderDiffShowsSettingsItHasNoWordsFor guards the fallback: a compiled change
// the review does not describe in words still shows, field by field.
func TestRenderDiffShowsSettingsItHasNoWordsFor(t *testing.T) {
	base := &config.Config{LiveChat: config.LiveChat{Name: "support", DisplayName: "Support"}, Channels: []config.Channel{{Name: "telegram", WebhookPath: "/hooks/a"}}}
	head := &config.Config{LiveChat: config.LiveChat{Name: "support", DisplayName: "Support"}, Channels: []config.Channel{{Name: "telegram", WebhookPath: "/hooks/b"}}}
	p := comparePlatform(base, head)
	want := `channels[0].webhookPath: "/hooks/a" → "/hooks/b"`
	if len(p.Sections) != 1 || p.Sections[0].Title != "Other settings" || !slices.Contains(p.Sections[0].Entries[0].Details, want) {
		t.Errorf("sections %+v, want Other settings with %q", p.Sections, want)
	}
}
