package crd

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// validCase is an object the API server must accept.
type validCase struct {
	name string
	obj  func(*testing.T) client.Object
}

// validVariants are realistic manifests beyond the samples: optional fields left out
// for their defaults or all set, every Channel type, every storage kind, every
// notification provider, names at their limits. The API server and `switchboard
// render`'s offline check must accept each.
func validVariants() []validCase {
	fixed := func(o client.Object) func(*testing.T) client.Object {
		return func(*testing.T) client.Object { return o.DeepCopyObject().(client.Object) }
	}
	liveChat := func(name string, mut func(*chatv1alpha1.LiveChatSpec)) func(*testing.T) client.Object {
		o := minimalLiveChat()
		o.Name = name
		mut(&o.Spec)
		return fixed(o)
	}
	channel := func(name string, typ chatv1alpha1.ChannelType, mut func(*chatv1alpha1.ChannelSpec)) func(*testing.T) client.Object {
		o := &chatv1alpha1.Channel{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: chatv1alpha1.ChannelSpec{
			LiveChatRef: chatv1alpha1.LiveChatReference{Name: "support"},
			QueueRef:    chatv1alpha1.LocalObjectReference{Name: "first-line"},
			Type:        typ,
		}}
		mut(&o.Spec)
		return fixed(o)
	}
	group := func(name string, spec chatv1alpha1.OperatorGroupSpec) func(*testing.T) client.Object {
		return fixed(&chatv1alpha1.OperatorGroup{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec})
	}
	policy := func(mut func(*chatv1alpha1.NotificationPolicySpec)) func(*testing.T) client.Object {
		o := &chatv1alpha1.NotificationPolicy{ObjectMeta: metav1.ObjectMeta{Name: "notifications"},
			Spec: chatv1alpha1.NotificationPolicySpec{LiveChatRef: chatv1alpha1.LiveChatReference{Name: "support"}}}
		mut(&o.Spec)
		return fixed(o)
	}
	uuid := "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	sid := strings.Repeat("0123456789abcdef", 2)

	return []validCase{
		// LiveChat: names, storage kinds, sign-in, the runtime knobs.
		{"LiveChat with only a tokens Secret (the rest defaulted)", fixed(minimalLiveChat())},
		{"LiveChat with a 50-character name", liveChat("support-"+strings.Repeat("x", 42), func(*chatv1alpha1.LiveChatSpec) {})},
		{"LiveChat signing in with OIDC alone", liveChat("support", func(s *chatv1alpha1.LiveChatSpec) {
			s.AgentAuth = chatv1alpha1.AgentAuthSpec{OIDC: &chatv1alpha1.OIDCSpec{
				IssuerURL: "https://idp.example.com/realms/support", ClientID: "switchboard", UsernameClaim: "email"}}
		})},
		{"LiveChat on PostgreSQL with three replicas", liveChat("support", func(s *chatv1alpha1.LiveChatSpec) {
			s.Storage = &chatv1alpha1.StorageSpec{Postgres: &chatv1alpha1.PostgresStorage{URISecretRef: secretKey("support-db", "uri")}}
			s.Runtime.Replicas = ptr.To[int32](3)
		})},
		{"LiveChat on embedded storage with a class and a size", liveChat("support", func(s *chatv1alpha1.LiveChatSpec) {
			s.Storage = &chatv1alpha1.StorageSpec{Embedded: &chatv1alpha1.EmbeddedStorage{
				Size: ptr.To(resource.MustParse("20Gi")), StorageClassName: ptr.To("fast-ssd")}}
		})},
		{"LiveChat with every setting", liveChat("support-eu", func(s *chatv1alpha1.LiveChatSpec) {
			s.DisplayName = "Support (EU)"
			s.PublicURL = "https://chat.example.com/eu"
			s.Defaults = chatv1alpha1.ChatDefaults{SimultaneousChats: 100, AcceptTimeout: dur(24 * time.Hour)}
			s.SupervisorGroups = []chatv1alpha1.ObjectName{"supervisors", "night-shift.eu"}
			s.Runtime = chatv1alpha1.RuntimeSpec{
				Replicas: ptr.To[int32](0), Image: "registry.example.com/switchboard:v1.2.3", ImagePullPolicy: corev1.PullIfNotPresent,
				Resources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				},
				NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
				Tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "chat", Effect: corev1.TaintEffectNoSchedule}},
				Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
						{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"eu-west-1a", "eu-west-1b"}}}}},
				}}},
				TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
					WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "switchboard"}}}},
				PriorityClassName: "chat-critical",
				PodAnnotations:    map[string]string{"sidecar.istio.io/inject": "true"},
				LogLevel:          "debug",
			}
			s.Console = chatv1alpha1.ConsoleSpec{
				Sound:                chatv1alpha1.ConsoleSound{Enabled: ptr.To(true), URL: "https://cdn.example.com/ding.mp3", Loop: true},
				DesktopNotifications: ptr.To(false),
			}
			s.Suspend = true
		})},
		{"LiveChat with labels, annotations and a finalizer", func(t *testing.T) client.Object {
			o := sample[*chatv1alpha1.LiveChat](t, "support")
			o.Labels = map[string]string{"app.kubernetes.io/part-of": "switchboard", "team": "support-eu"}
			o.Annotations = map[string]string{"example.com/owner": "Support team <support@example.com>"}
			o.Finalizers = []string{"example.com/archive"}
			return o
		}},
		{"LiveChat exported with a status the schema would refuse (create drops it)", func(t *testing.T) client.Object {
			o := sample[*chatv1alpha1.LiveChat](t, "support")
			o.Status = chatv1alpha1.LiveChatStatus{ObservedGeneration: -1, Conditions: []metav1.Condition{{Type: "Ready", Status: "Maybe"}}}
			return o
		}},

		// ChatQueue
		{"ChatQueue with only its LiveChat", fixed(minimalQueue())},
		{"ChatQueue with a dotted name and every setting", fixed(&chatv1alpha1.ChatQueue{
			ObjectMeta: metav1.ObjectMeta{Name: "billing.eu"},
			Spec: chatv1alpha1.ChatQueueSpec{
				LiveChatRef: chatv1alpha1.LiveChatReference{Name: "support"}, DisplayName: "Billing (EU)",
				OperatorGroups:    []chatv1alpha1.ObjectName{"experts", "night-shift.eu"},
				Routing:           chatv1alpha1.RoutingSpec{Rule: chatv1alpha1.RoutingAllAgents, AcceptTimeout: dur(10 * time.Second)},
				CompletionTimeout: dur(720 * time.Hour),
				TransferTargets:   []chatv1alpha1.ObjectName{"first-line", "billing"},
				Offline:           chatv1alpha1.OfflineSpec{AcceptMessages: ptr.To(false), Message: "Billing is closed; we open at 9:00 CET."},
				Actions: []chatv1alpha1.ChatAction{
					{Name: "refund", Caption: "Issue refund", Webhook: chatv1alpha1.WebhookEndpoint{URL: "https://billing.example.com/refund", Timeout: dur(2 * time.Minute)}},
					{Name: "invoice", Caption: "Resend invoice", Webhook: chatv1alpha1.WebhookEndpoint{URL: "http://billing.internal:8080/invoice",
						SecretRef: ptr.To(secretKey("webhook-signing", "actions")), Timeout: dur(time.Second)}},
				},
			},
		})},
		{"ChatQueue named by generateName", func(*testing.T) client.Object {
			o := minimalQueue()
			o.Name, o.GenerateName = "", "overflow-"
			return o
		}},

		// Channel: every type.
		{"Telegram channel with the default API and a bot", channel("telegram", chatv1alpha1.ChannelTelegram, func(s *chatv1alpha1.ChannelSpec) {
			s.Telegram = &chatv1alpha1.TelegramChannel{BotTokenSecretRef: secretKey("telegram-bot", "token")}
			s.Bot = &chatv1alpha1.BotSpec{Webhook: chatv1alpha1.WebhookEndpoint{URL: "https://bot.example.com/hook", SecretRef: ptr.To(secretKey("bot", "key"))},
				HandoverKeywords: []string{"human", "Mensch"}}
		})},
		{"Facebook Messenger channel", channel("facebook", chatv1alpha1.ChannelFacebookMessenger, func(s *chatv1alpha1.ChannelSpec) {
			s.FacebookMessenger = &chatv1alpha1.FacebookMessengerChannel{PageID: "104857600123456",
				PageAccessTokenSecretRef: secretKey("meta", "pageToken"), AppSecretSecretRef: secretKey("meta", "appSecret"),
				VerifyTokenSecretRef: secretKey("meta", "verifyToken"), GraphAPIVersion: "v22.0"}
		})},
		{"WhatsApp channel with its business account", channel("whatsapp", chatv1alpha1.ChannelWhatsApp, func(s *chatv1alpha1.ChannelSpec) {
			s.WhatsApp = &chatv1alpha1.WhatsAppChannel{PhoneNumberID: "109876543210987", BusinessAccountID: "102938475610293",
				AccessTokenSecretRef: secretKey("meta", "accessToken"), AppSecretSecretRef: secretKey("meta", "appSecret"),
				VerifyTokenSecretRef: secretKey("meta", "verifyToken"), APIBaseURL: "https://graph.facebook.com"}
		})},
		{"SMS channel through a Messaging Service", channel("sms", chatv1alpha1.ChannelSMS, func(s *chatv1alpha1.ChannelSpec) {
			s.SMS = &chatv1alpha1.SMSChannel{AccountSID: "AC" + sid, AuthTokenSecretRef: secretKey("twilio", "authToken"), MessagingServiceSID: "MG" + sid}
		})},
		{"SMS channel from a number through a proxy", channel("sms-de", chatv1alpha1.ChannelSMS, func(s *chatv1alpha1.ChannelSpec) {
			s.SMS = &chatv1alpha1.SMSChannel{AccountSID: "AC" + strings.ToUpper(sid), AuthTokenSecretRef: secretKey("twilio", "authToken"),
				From: "+4915110000009", APIBaseURL: "http://twilio-proxy.internal:8080"}
		})},
		{"web widget with one origin (the rest defaulted)", channel("website", chatv1alpha1.ChannelWebWidget, func(s *chatv1alpha1.ChannelSpec) {
			s.WebWidget = &chatv1alpha1.WebWidgetChannel{AllowedOrigins: []string{"http://localhost:3000"}}
		})},
		{"web widget rated with thumbs, with a survey and goals", channel("shop", chatv1alpha1.ChannelWebWidget, func(s *chatv1alpha1.ChannelSpec) {
			s.WebWidget = &chatv1alpha1.WebWidgetChannel{AllowedOrigins: []string{"https://shop.example.com"}, RatingScale: chatv1alpha1.RatingThumbs,
				Survey: []chatv1alpha1.SurveyQuestion{{Name: "solved", Text: "Was your question answered?", Options: []string{"yes", "no"}},
					{Name: "comments", Text: "Anything else?"}},
				Goals: []string{"signup", "purchase-2"}}
		})},
		{"inactive internal channel", channel("staff", chatv1alpha1.ChannelInternal, func(s *chatv1alpha1.ChannelSpec) {
			s.Active = ptr.To(false)
			s.Internal = &chatv1alpha1.InternalChannel{ClientGroups: []chatv1alpha1.ObjectName{"employees", "contractors.eu"}}
		})},

		// OperatorGroup
		{"OperatorGroup with a dotted name and no members", group("night-shift.eu", chatv1alpha1.OperatorGroupSpec{})},
		{"OperatorGroup with a 253-character name", group(strings.Repeat("a", 253), chatv1alpha1.OperatorGroupSpec{})},
		{"OperatorGroup member with every setting", group("first-line", chatv1alpha1.OperatorGroupSpec{
			DisplayName: "First line", NotificationsEnabled: ptr.To(false),
			Members: []chatv1alpha1.Member{{
				Name: "j.doe_2", DisplayName: "Jane Doe", Email: "jane.doe@example.co.uk", Phone: "+12025550123",
				AvatarURL: "https://cdn.example.com/avatars/jane.png", MaxChats: ptr.To[int32](100), Skills: []string{"billing", "de"},
				PushUserID: "user-7f3a",
				Notifications: &chatv1alpha1.MemberNotifications{Enabled: ptr.To(true), OptOuts: []chatv1alpha1.NotificationOptOut{
					{Events: []chatv1alpha1.EventType{"DailyAnalytics"}}, {Via: []chatv1alpha1.DeliveryKind{"Sound", "Browser"}}}},
			}},
		})},

		// NotificationPolicy: every provider.
		{"NotificationPolicy with no rules", policy(func(*chatv1alpha1.NotificationPolicySpec) {})},
		{"NotificationPolicy with every provider", policy(func(s *chatv1alpha1.NotificationPolicySpec) {
			s.Suspend = true
			s.Providers = []chatv1alpha1.NotificationProvider{
				{Name: "mail-tls", SMTP: &chatv1alpha1.SMTPProvider{Host: "smtp.example.com", Port: 465, TLS: "TLS", From: "chat@example.com"}},
				{Name: "relay", SMTP: &chatv1alpha1.SMTPProvider{Host: "mailrelay", Port: 25, TLS: "None", From: "chat@example.com"}},
				{Name: "sms", Twilio: &chatv1alpha1.TwilioProvider{AccountSID: "AC" + sid, AuthTokenSecretRef: secretKey("twilio", "authToken"), From: "Example"}},
				{Name: "beams", PusherBeams: &chatv1alpha1.PusherBeamsProvider{InstanceID: uuid, SecretKeySecretRef: secretKey("beams", "key")}},
				{Name: "onesignal", OneSignal: &chatv1alpha1.OneSignalProvider{AppID: uuid, APIKeySecretRef: secretKey("onesignal", "key")}},
				{Name: "slack", Webhook: &chatv1alpha1.WebhookProvider{Format: "Slack",
					WebhookEndpoint: chatv1alpha1.WebhookEndpoint{URL: "https://hooks.slack.com/services/T0/B0/x", Timeout: dur(5 * time.Second)}}},
				{Name: "visitor", Messenger: &chatv1alpha1.MessengerProvider{Channels: []chatv1alpha1.ObjectName{"website", "telegram"}}},
			}
			s.Templates = []chatv1alpha1.NotificationTemplate{{Name: "digest", Subject: "Digest", HTML: "<p>{message}</p>"}}
			s.Rules = []chatv1alpha1.NotificationRule{{
				Name: "escalate", Events: []chatv1alpha1.EventType{"AcceptTimedOut", "BotHandedOver"},
				Recipients: chatv1alpha1.Recipients{Groups: []chatv1alpha1.ObjectName{"supervisors"}, Operators: []chatv1alpha1.OperatorName{"sam"}},
				When: chatv1alpha1.RuleConditions{SkipIfBotAnswered: ptr.To(false), Queues: []chatv1alpha1.ObjectName{"billing.eu"},
					Channels: []chatv1alpha1.ObjectName{"website"}},
				Send: []chatv1alpha1.SendSpec{{Provider: "beams"}, {Provider: "onesignal"}, {Provider: "slack", Template: "digest"}},
			}}
			s.Batching = &chatv1alpha1.BatchingSpec{Window: metav1.Duration{Duration: 24 * time.Hour}}
			s.Retry = chatv1alpha1.RetrySpec{Attempts: ptr.To[int32](0), Delay: dur(time.Second), Backoff: chatv1alpha1.BackoffFixed}
			s.OnError = &chatv1alpha1.OnErrorSpec{Recipients: chatv1alpha1.Recipients{Kinds: []chatv1alpha1.RecipientKind{"Supervisors"}},
				Send: []chatv1alpha1.SendSpec{{Provider: "mail-tls"}}}
		})},
	}
}
