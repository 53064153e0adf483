package crd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// requireInvalid asserts that err is the API server's Invalid error with a cause on
// field whose message contains msg: what a user sees from kubectl apply.
func requireInvalid(t *testing.T, err error, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want refused with %s: %s", field, msg)
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
		t.Fatalf("error %v is not an Invalid status", err)
	}
	details := status.Status().Details
	var causes []string
	if details != nil {
		for _, c := range details.Causes {
			if c.Field == field && strings.Contains(c.Message, msg) {
				return
			}
			causes = append(causes, fmt.Sprintf("%s: %s", c.Field, c.Message))
		}
	}
	t.Fatalf("no cause on %q containing %q; causes:\n  %s", field, msg, strings.Join(causes, "\n  "))
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func secretKey(name, key string) chatv1alpha1.SecretKeyReference {
	return chatv1alpha1.SecretKeyReference{Name: name, Key: key}
}

// invalidCase is an object the API server must refuse, with the field and message a
// user sees.
type invalidCase struct {
	name  string
	obj   func(*testing.T) client.Object
	field string
	msg   string
}

// invalidObjects covers every kind; the API server and `switchboard render`'s offline
// check must refuse each the same way.
func invalidObjects() []invalidCase {
	liveChat := func(mut func(*chatv1alpha1.LiveChat)) func(*testing.T) client.Object {
		return func(t *testing.T) client.Object {
			o := sample[*chatv1alpha1.LiveChat](t, "support")
			mut(o)
			return o
		}
	}
	queue := func(mut func(*chatv1alpha1.ChatQueue)) func(*testing.T) client.Object {
		return func(t *testing.T) client.Object {
			o := sample[*chatv1alpha1.ChatQueue](t, "first-line")
			mut(o)
			return o
		}
	}
	channel := func(name string, mut func(*chatv1alpha1.Channel)) func(*testing.T) client.Object {
		return func(t *testing.T) client.Object {
			o := sample[*chatv1alpha1.Channel](t, name)
			mut(o)
			return o
		}
	}
	group := func(mut func(*chatv1alpha1.OperatorGroup)) func(*testing.T) client.Object {
		return func(t *testing.T) client.Object {
			o := sample[*chatv1alpha1.OperatorGroup](t, "first-line")
			mut(o)
			return o
		}
	}
	policy := func(mut func(*chatv1alpha1.NotificationPolicy)) func(*testing.T) client.Object {
		return func(t *testing.T) client.Object {
			o := sample[*chatv1alpha1.NotificationPolicy](t, "support-notifications")
			mut(o)
			return o
		}
	}

	const dnsSubdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"

	return []invalidCase{
		// Object names, as the API server checks them for every custom resource: a
		// DNS-1123 subdomain of at most 253 characters.
		{"OperatorGroup name with an underscore", group(func(o *chatv1alpha1.OperatorGroup) { o.Name = "Auditors_Team" }),
			"metadata.name", dnsSubdomain},
		{"OperatorGroup name in uppercase", group(func(o *chatv1alpha1.OperatorGroup) { o.Name = "FirstLine" }),
			"metadata.name", dnsSubdomain},
		{"ChatQueue name starting with a dash", queue(func(o *chatv1alpha1.ChatQueue) { o.Name = "-first-line" }),
			"metadata.name", dnsSubdomain},
		{"Channel name over 253 characters", channel("website", func(o *chatv1alpha1.Channel) { o.Name = strings.Repeat("website", 37) }),
			"metadata.name", "must be no more than 253 characters"},
		{"LiveChat name in uppercase (refused by the schema's rule too)", liveChat(func(o *chatv1alpha1.LiveChat) { o.Name = "Support" }),
			"metadata.name", dnsSubdomain},
		{"NotificationPolicy generateName in uppercase", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Name, o.GenerateName = "", "Support-" }),
			"metadata.generateName", dnsSubdomain},
		{"OperatorGroup with neither name nor generateName", group(func(o *chatv1alpha1.OperatorGroup) { o.Name = "" }),
			"metadata.name", "name or generateName is required"},
		{"LiveChat with neither name nor generateName (its name rule is not checked)", liveChat(func(o *chatv1alpha1.LiveChat) { o.Name = "" }),
			"<nil>", "some validation rules were not checked because the object was invalid"},
		{"label value with a space", queue(func(o *chatv1alpha1.ChatQueue) { o.Labels = map[string]string{"team": "first line"} }),
			"metadata.labels", "a valid label must be an empty string or consist of alphanumeric characters"},

		// LiveChat
		{"simultaneous chats below 1", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.Defaults.SimultaneousChats = -1 }),
			"spec.defaults.simultaneousChats", "should be greater than or equal to 1"},
		{"simultaneous chats above 100", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.Defaults.SimultaneousChats = 101 }),
			"spec.defaults.simultaneousChats", "should be less than or equal to 100"},
		{"accept timeout too short", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.Defaults.AcceptTimeout = dur(5 * time.Second) }),
			"spec.defaults.acceptTimeout", "must be between 10s and 24h"},
		{"accept timeout too long", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.Defaults.AcceptTimeout = dur(25 * time.Hour) }),
			"spec.defaults.acceptTimeout", "must be between 10s and 24h"},
		{"operator offline grace too short", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.OperatorPresence.OfflineAfter = dur(500 * time.Millisecond) }),
			"spec.operatorPresence.offlineAfter", "must be between 1s and 1h, for example 60s"},
		{"operator offline grace too long", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.OperatorPresence.OfflineAfter = dur(2 * time.Hour) }),
			"spec.operatorPresence.offlineAfter", "must be between 1s and 1h, for example 60s"},
		{"unknown open-chats policy", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.OperatorPresence.OpenChatsWhenOffline = "Keep" }),
			"spec.operatorPresence.openChatsWhenOffline", `supported values: "Forward", "Drop"`},
		{"storage both embedded and postgres", liveChat(func(o *chatv1alpha1.LiveChat) {
			o.Spec.Storage.Postgres = &chatv1alpha1.PostgresStorage{URISecretRef: secretKey("db", "uri")}
		}), "spec.storage", "set exactly one of storage.embedded (SQLite on a volume) or storage.postgres"},
		{"several replicas on embedded storage", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.Runtime.Replicas = ptr.To[int32](3) }),
			"spec.runtime.replicas", "more than one runtime replica needs shared storage: set storage.postgres"},
		{"no way for operators to sign in", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.AgentAuth = chatv1alpha1.AgentAuthSpec{} }),
			"spec.agentAuth", "set agentAuth.tokensSecretRef, agentAuth.oidc, or both"},
		{"OIDC issuer over plain http", liveChat(func(o *chatv1alpha1.LiveChat) {
			o.Spec.AgentAuth.OIDC = &chatv1alpha1.OIDCSpec{IssuerURL: "http://idp.example.com", ClientID: "switchboard"}
		}), "spec.agentAuth.oidc.issuerURL", "must be an https:// URL of the OIDC issuer"},
		{"public URL that is no URL", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.PublicURL = "chat.example.com" }),
			"spec.publicURL", "must be an absolute http:// or https:// URL"},
		{"supervisor group that is no object name", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.SupervisorGroups = []chatv1alpha1.ObjectName{"Supervisors"} }),
			"spec.supervisorGroups[0]", "must be the name of an object in this namespace: lowercase letters, digits, '-' and '.'"},
		{"LiveChat name with dots", liveChat(func(o *chatv1alpha1.LiveChat) { o.Name = "support.example" }),
			"<nil>", "LiveChat names must start with a letter and be at most 50 lowercase letters, digits or '-'"},
		{"LiveChat name starting with a digit (no valid Service name)", liveChat(func(o *chatv1alpha1.LiveChat) { o.Name = "24x7" }),
			"<nil>", "LiveChat names must start with a letter"},
		{"queue of a LiveChat whose name starts with a digit", queue(func(o *chatv1alpha1.ChatQueue) { o.Spec.LiveChatRef.Name = "24x7" }),
			"spec.liveChatRef.name", "must name a LiveChat: lowercase letters, digits or '-', starting with a letter, for example support"},
		{"tokens Secret that is no Secret name", liveChat(func(o *chatv1alpha1.LiveChat) {
			o.Spec.AgentAuth.TokensSecretRef = &chatv1alpha1.SecretReference{Name: "Operator_Tokens"}
		}), "spec.agentAuth.tokensSecretRef.name", "must be a Secret name: lowercase letters, digits, '-' and '.'"},
		{"unknown log level", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.Runtime.LogLevel = "verbose" }),
			"spec.runtime.logLevel", `Unsupported value: "verbose"`},
		{"attachments larger than 100Mi", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.Attachments.MaxSize = ptr.To(resource.MustParse("1Gi")) }),
			"spec.attachments.maxSize", "maxSize must be between 1Ki and 100Mi, for example 20Mi"},
		{"attachments limited to a few bytes", liveChat(func(o *chatv1alpha1.LiveChat) { o.Spec.Attachments.MaxSize = ptr.To(resource.MustParse("100")) }),
			"spec.attachments.maxSize", "maxSize must be between 1Ki and 100Mi"},
		{"allowed content type without a subtype", liveChat(func(o *chatv1alpha1.LiveChat) {
			o.Spec.Attachments.AllowedContentTypes = []string{"image/png", "image"}
		}), "spec.attachments.allowedContentTypes", "each entry must be a lowercase media type without parameters, such as image/png"},
		{"allowed content type with parameters", liveChat(func(o *chatv1alpha1.LiveChat) {
			o.Spec.Attachments.AllowedContentTypes = []string{"text/plain; charset=utf-8"}
		}), "spec.attachments.allowedContentTypes", "each entry must be a lowercase media type"},

		// ChatQueue
		{"unknown routing rule", queue(func(o *chatv1alpha1.ChatQueue) { o.Spec.Routing.Rule = "RoundRobin" }),
			"spec.routing.rule", `supported values: "AvailableAgent", "AllAgents"`},
		{"queue accept timeout too long", queue(func(o *chatv1alpha1.ChatQueue) { o.Spec.Routing.AcceptTimeout = dur(48 * time.Hour) }),
			"spec.routing.acceptTimeout", "must be between 10s and 24h"},
		{"completion before accept timeout", queue(func(o *chatv1alpha1.ChatQueue) {
			o.Spec.Routing.AcceptTimeout = dur(10 * time.Minute)
			o.Spec.CompletionTimeout = dur(5 * time.Minute)
		}), "spec.completionTimeout", "completionTimeout must be longer than routing.acceptTimeout"},
		{"queue transfers to itself", queue(func(o *chatv1alpha1.ChatQueue) { o.Spec.TransferTargets = append(o.Spec.TransferTargets, "first-line") }),
			"spec.transferTargets", "a queue cannot be its own transfer target"},
		{"chat action to an ftp URL", queue(func(o *chatv1alpha1.ChatQueue) { o.Spec.Actions[0].Webhook.URL = "ftp://hooks.example.com/case" }),
			"spec.actions[0].webhook.url", "must be an absolute http:// or https:// URL"},
		{"two chat actions with one name", queue(func(o *chatv1alpha1.ChatQueue) { o.Spec.Actions = append(o.Spec.Actions, o.Spec.Actions[0]) }),
			"spec.actions[1]", "Duplicate value"},
		{"LiveChat reference that is no name", queue(func(o *chatv1alpha1.ChatQueue) { o.Spec.LiveChatRef.Name = "Support_Chat" }),
			"spec.liveChatRef.name", "must name a LiveChat: lowercase letters, digits or '-', starting with a letter, for example support"},
		{"too many operator groups", queue(func(o *chatv1alpha1.ChatQueue) {
			for i := range 33 {
				o.Spec.OperatorGroups = append(o.Spec.OperatorGroups, chatv1alpha1.ObjectName(fmt.Sprintf("g%d", i)))
			}
		}), "spec.operatorGroups", "must have at most 32 items"},

		// Channel
		{"Telegram channel without telegram settings", channel("telegram", func(o *chatv1alpha1.Channel) { o.Spec.Telegram = nil }),
			"spec.telegram", "spec.telegram must be set when type is Telegram, and only then"},
		{"widget channel that also carries telegram settings", channel("website", func(o *chatv1alpha1.Channel) {
			o.Spec.Telegram = &chatv1alpha1.TelegramChannel{BotTokenSecretRef: secretKey("telegram-bot", "token")}
		}), "spec.telegram", "spec.telegram must be set when type is Telegram, and only then"},
		{"unknown channel type", channel("website", func(o *chatv1alpha1.Channel) { o.Spec.Type = "Skype" }),
			"spec.type", `Unsupported value: "Skype"`},
		{"widget with no allowed origins", channel("website", func(o *chatv1alpha1.Channel) { o.Spec.WebWidget.AllowedOrigins = []string{} }),
			"spec.webWidget.allowedOrigins", "should have at least 1 items"},
		{"widget origin with a path", channel("website", func(o *chatv1alpha1.Channel) {
			o.Spec.WebWidget.AllowedOrigins = []string{"https://www.example.com/contact"}
		}), "spec.webWidget.allowedOrigins[0]", "should match"},
		{"widget with an unknown rating scale", channel("website", func(o *chatv1alpha1.Channel) { o.Spec.WebWidget.RatingScale = "Smileys" }),
			"spec.webWidget.ratingScale", `Unsupported value: "Smileys"`},
		{"survey question named with capitals", channel("website", func(o *chatv1alpha1.Channel) {
			o.Spec.WebWidget.Survey = []chatv1alpha1.SurveyQuestion{{Name: "Solved", Text: "Solved?"}}
		}), "spec.webWidget.survey[0].name", "should match"},
		{"two survey questions of one name", channel("website", func(o *chatv1alpha1.Channel) {
			o.Spec.WebWidget.Survey = []chatv1alpha1.SurveyQuestion{{Name: "solved", Text: "Solved?"}, {Name: "solved", Text: "Really?"}}
		}), "spec.webWidget.survey[1]", "Duplicate value"},
		{"survey question without text", channel("website", func(o *chatv1alpha1.Channel) {
			o.Spec.WebWidget.Survey = []chatv1alpha1.SurveyQuestion{{Name: "solved"}}
		}), "spec.webWidget.survey[0].text", "should be at least 1 chars long"},
		{"goal with a space", channel("website", func(o *chatv1alpha1.Channel) { o.Spec.WebWidget.Goals = []string{"sign up"} }),
			"spec.webWidget.goals[0]", "should match"},
		{"SMS with a malformed account SID", channel("website", func(o *chatv1alpha1.Channel) {
			o.Spec.Type, o.Spec.WebWidget = chatv1alpha1.ChannelSMS, nil
			o.Spec.SMS = &chatv1alpha1.SMSChannel{AccountSID: "AC123", AuthTokenSecretRef: secretKey("twilio", "authToken"), From: "+15005550006"}
		}), "spec.sms.accountSID", "should match '^AC[0-9a-fA-F]{32}$'"},
		{"SMS with a malformed account SID and no sender (the schema's rules still run)", channel("website", func(o *chatv1alpha1.Channel) {
			o.Spec.Type, o.Spec.WebWidget = chatv1alpha1.ChannelSMS, nil
			o.Spec.SMS = &chatv1alpha1.SMSChannel{AccountSID: "AC123", AuthTokenSecretRef: secretKey("twilio", "authToken")}
		}), "spec.sms", "set sms.from (a phone number) or sms.messagingServiceSID"},
		{"internal channel whose client groups are left empty (null)", channel("staff-helpdesk", func(o *chatv1alpha1.Channel) { o.Spec.Internal.ClientGroups = nil }),
			"spec.internal.clientGroups", "Required value"},
		{"internal channel with a bot", channel("staff-helpdesk", func(o *chatv1alpha1.Channel) {
			o.Spec.Bot = &chatv1alpha1.BotSpec{Webhook: chatv1alpha1.WebhookEndpoint{URL: "https://bot.example.com", SecretRef: ptr.To(secretKey("bot", "key"))}}
		}), "spec.bot", "internal channels serve employees and take no bot"},
		{"bot without a signing secret", channel("telegram", func(o *chatv1alpha1.Channel) {
			o.Spec.Bot = &chatv1alpha1.BotSpec{Webhook: chatv1alpha1.WebhookEndpoint{URL: "https://bot.example.com"}}
		}), "spec.bot.webhook.secretRef", "bot.webhook.secretRef is required"},

		// OperatorGroup
		{"member max chats of zero", group(func(o *chatv1alpha1.OperatorGroup) { o.Spec.Members[0].MaxChats = ptr.To[int32](0) }),
			"spec.members[0].maxChats", "should be greater than or equal to 1"},
		{"two members with one name", group(func(o *chatv1alpha1.OperatorGroup) { o.Spec.Members[1].Name = o.Spec.Members[0].Name }),
			"spec.members[1]", "Duplicate value"},
		{"phone number not in E.164 form", group(func(o *chatv1alpha1.OperatorGroup) { o.Spec.Members[0].Phone = "0151 1000 0001" }),
			"spec.members[0].phone", "should match"},
		{"opt-out that names nothing", group(func(o *chatv1alpha1.OperatorGroup) {
			o.Spec.Members[0].Notifications = &chatv1alpha1.MemberNotifications{OptOuts: []chatv1alpha1.NotificationOptOut{{}}}
		}), "spec.members[0].notifications.optOuts[0]", "to opt out of everything set notifications.enabled to false"},
		{"unknown delivery kind in an opt-out", group(func(o *chatv1alpha1.OperatorGroup) {
			o.Spec.Members[1].Notifications.OptOuts[0].Via = []chatv1alpha1.DeliveryKind{"Fax"}
		}), "spec.members[1].notifications.optOuts[0].via[0]", `Unsupported value: "Fax"`},

		// NotificationPolicy
		{"rule sends through an unknown provider", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Spec.Rules[0].Send[0].Provider = "pager" }),
			"spec.rules", "every rules[].send[].provider must name an entry of spec.providers"},
		{"rule sends an unknown template", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Spec.Rules[0].Send[0].Template = "nope" }),
			"spec.rules", "every rules[].send[].template must name an entry of spec.templates"},
		{"onError sends through an unknown provider", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Spec.OnError.Send[0].Provider = "pager" }),
			"spec.onError.send", "every onError.send[].provider must name an entry of spec.providers"},
		{"provider with two services", policy(func(o *chatv1alpha1.NotificationPolicy) {
			o.Spec.Providers[0].Messenger = &chatv1alpha1.MessengerProvider{}
		}), "spec.providers[0]", "set exactly one of smtp, twilio, pusherBeams, oneSignal, webhook or messenger"},
		{"too many retries", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Spec.Retry.Attempts = ptr.To[int32](21) }),
			"spec.retry.attempts", "should be less than or equal to 20"},
		{"unknown backoff", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Spec.Retry.Backoff = "Linear" }),
			"spec.retry.backoff", `supported values: "Fixed", "Exponential"`},
		{"unknown event", policy(func(o *chatv1alpha1.NotificationPolicy) {
			o.Spec.Rules[0].Events = []chatv1alpha1.EventType{"ChatExploded"}
		}),
			"spec.rules[0].events[0]", `Unsupported value: "ChatExploded"`},
		{"rule with no recipients", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Spec.Rules[0].Recipients = chatv1alpha1.Recipients{} }),
			"spec.rules[0].recipients", "name at least one recipient: kinds, groups or operators"},
		{"template with no body", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Spec.Templates[0].Text = "" }),
			"spec.templates[0]", "set text, html, or both"},
		{"SMTP user without password", policy(func(o *chatv1alpha1.NotificationPolicy) { o.Spec.Providers[0].SMTP.PasswordSecretRef = nil }),
			"spec.providers[0].smtp", "set both usernameSecretRef and passwordSecretRef, or neither"},
		{"two templates with one name", policy(func(o *chatv1alpha1.NotificationPolicy) {
			o.Spec.Templates = append(o.Spec.Templates, o.Spec.Templates[0])
		}), "spec.templates[6]", "Duplicate value"},
	}
}

func TestInvalidObjectsAreRefusedWithAUsefulMessage(t *testing.T) {
	ns := env.Namespace(t)
	for _, tt := range invalidObjects() {
		t.Run(tt.name, func(t *testing.T) {
			obj := tt.obj(t)
			obj.SetNamespace(ns)
			err := env.Client.Create(context.Background(), obj)
			requireInvalid(t, err, tt.field, tt.msg)
		})
	}
}
