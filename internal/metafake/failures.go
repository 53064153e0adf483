package metafake

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Endpoint selects the calls a Failure applies to.
type Endpoint int

// Endpoints.
const (
	AnyEndpoint Endpoint = iota
	// EndpointMessages: POST …/messages, Messenger's and WhatsApp's sends.
	EndpointMessages
	// EndpointThreadControl: Messenger's handover calls.
	EndpointThreadControl
	// EndpointProbe: GET of the Page or the phone number.
	EndpointProbe
	// EndpointSubscribe: POST /{waba-id}/subscribed_apps.
	EndpointSubscribe
)

// Failure is a Graph API error answer.
type Failure struct {
	Endpoint Endpoint
	// Status is the HTTP status; 400 when zero.
	Status  int
	Code    int
	Subcode int
	Type    string
	Message string
	// Details is WhatsApp's error_data.details.
	Details string
	// Transient sets is_transient.
	Transient bool
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

// Failures Meta documents, to pass to FailNext (set Endpoint on a copy to narrow them).
var (
	// InvalidToken: the token is invalid or expired.
	InvalidToken = Failure{Status: http.StatusUnauthorized, Code: 190, Type: "OAuthException",
		Message: "Invalid OAuth access token - Cannot parse access token"}
	// ServerError: an outage on Meta's side.
	ServerError = Failure{Status: http.StatusInternalServerError, Code: 2, Type: "OAuthException", Transient: true,
		Message: "An unexpected error has occurred. Please retry your request later."}
	// AppRateLimited: the app made too many calls (HTTP 400 with code 4, as Graph answers).
	AppRateLimited = Failure{Status: http.StatusBadRequest, Code: 4, Type: "OAuthException", Transient: true,
		Message: "(#4) Application request limit reached"}
	// MessengerRateLimited: too many Send API calls for the Page.
	MessengerRateLimited = Failure{Status: http.StatusBadRequest, Code: 613, Type: "OAuthException",
		Message: "(#613) Calls to this api have exceeded the rate limit."}
	// WhatsAppThroughput: the phone number's messages per second were exceeded.
	WhatsAppThroughput = Failure{Status: http.StatusTooManyRequests, Code: 130429, Type: "OAuthException",
		Message: "(#130429) Rate limit hit", Details: "Cloud API message throughput has been reached."}
	// WhatsAppPairRate: too many messages to one user in a short time.
	WhatsAppPairRate = Failure{Status: http.StatusBadRequest, Code: 131056, Type: "OAuthException",
		Message: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
		Details: "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time."}
	// MessengerOutsideWindow: a reply more than 24 hours after the person's last message.
	MessengerOutsideWindow = Failure{Status: http.StatusBadRequest, Code: 10, Subcode: 2018278, Type: "OAuthException",
		Message: "(#10) This message is sent outside of allowed window."}
	// MessengerUserUnavailable: the person cannot get messages from the Page now.
	MessengerUserUnavailable = Failure{Status: http.StatusBadRequest, Code: 551, Subcode: 1545041, Type: "OAuthException",
		Message: "(#551) This person isn't available right now."}
	// MessengerNoSuchUser: no person has this page-scoped id.
	MessengerNoSuchUser = Failure{Status: http.StatusBadRequest, Code: 100, Subcode: 2018001, Type: "OAuthException",
		Message: "(#100) No matching user found"}
	// WhatsAppReEngagement: more than 24 hours since the customer's last message.
	WhatsAppReEngagement = Failure{Status: http.StatusBadRequest, Code: 131047, Subcode: 2494010, Type: "OAuthException",
		Message: "(#131047) Re-engagement message",
		Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}
	// WhatsAppUndeliverable: the number cannot get the message.
	WhatsAppUndeliverable = Failure{Status: http.StatusBadRequest, Code: 131026, Type: "OAuthException",
		Message: "(#131026) Message Undeliverable", Details: "Message failed to send because the recipient could not be reached."}
)

func writeError(w http.ResponseWriter, f Failure) {
	if f.Status == 0 {
		f.Status = http.StatusBadRequest
	}
	e := map[string]any{"message": f.Message, "type": f.Type, "code": f.Code, "fbtrace_id": "AfakeTRACEid"}
	if f.Subcode != 0 {
		e["error_subcode"] = f.Subcode
	}
	if f.Details != "" {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": f.Details}
	}
	if f.Transient {
		e["is_transient"] = true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	if f.Code == 190 {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token"`)
	}
	w.WriteHeader(f.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func invalidParam(msg string) Failure {
	return Failure{Status: http.StatusBadRequest, Code: 100, Type: "OAuthException", Message: "(#100) " + msg}
}

func noSuchNode(node string) Failure {
	return Failure{Status: http.StatusBadRequest, Code: 100, Subcode: 33, Type: "GraphMethodException",
		Message: "Unsupported request - object with ID " + strconv.Quote(node) + " does not exist, cannot be loaded due to missing permissions, or does not support this operation"}
}

func unsupported(method, node, edge string) Failure {
	f := noSuchNode(node)
	f.Message = "Unsupported " + method + " request on " + strconv.Quote(node+"/"+edge)
	return f
}
