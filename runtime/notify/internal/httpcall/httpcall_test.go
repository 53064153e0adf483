package httpcall_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/notify/internal/httpcall"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

const secret = "xoxb-secret-token-value"

func TestDoClassifies(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		permanent  bool
		wantAfter  time.Duration
	}{
		{status: 400, permanent: true},
		{status: 401, permanent: true},
		{status: 404, permanent: true},
		{status: 408},
		{status: 410, permanent: true},
		{status: 425},
		{status: 429},
		{status: 429, retryAfter: "30", wantAfter: 30 * time.Second},
		{status: 500},
		{status: 502},
		{status: 503, retryAfter: "5", wantAfter: 5 * time.Second},
	} {
		t.Run(strconv.Itoa(tc.status)+tc.retryAfter, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"message":"refused: ` + secret + `\n` + strings.Repeat("x", 400) + `"}`))
			}))
			defer srv.Close()
			req, _ := httpcall.NewJSON(context.Background(), srv.URL+"/hooks/"+secret, []byte(`{}`))
			_, _, err := httpcall.Do(srv.Client(), req, httpcall.Call{What: "test call", Secrets: []string{secret},
				Detail: func(_ int, body []byte) string { return string(body) }})
			if err == nil {
				t.Fatal("no error")
			}
			if outbox.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v: %v", outbox.IsPermanent(err), tc.permanent, err)
			}
			after, ok := outbox.RetryAfterOf(err)
			if ok != (tc.wantAfter > 0) || after != tc.wantAfter {
				t.Errorf("RetryAfter %v %v, want %v", after, ok, tc.wantAfter)
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || !strings.Contains(msg, "[redacted]") {
				t.Errorf("error %q does not hide the secret", msg)
			}
			if !strings.HasPrefix(msg, "test call: "+strconv.Itoa(tc.status)) || !strings.HasSuffix(msg, "…") || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not the call, the status and the clipped detail on one line", msg)
			}
		})
	}
}

func TestDoReturnsTheBodyOfASuccess(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(415)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"id":"1"}`))
	}))
	defer srv.Close()
	req, _ := httpcall.NewJSON(context.Background(), srv.URL, []byte(`{}`))
	_, body, err := httpcall.Do(srv.Client(), req, httpcall.Call{What: "test call"})
	if err != nil || string(body) != `{"id":"1"}` {
		t.Fatalf("Do: %q, %v", body, err)
	}
}

func TestTransportErrorsHideTheURL(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a client gone only after the body
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer slow.Close()
	for _, tc := range []struct {
		name      string
		url       string
		timeout   time.Duration
		permanent bool
		want      string
	}{
		{name: "nothing listens", url: closed.URL, want: "reaching http://127.0.0.1"},
		{name: "an untrusted certificate", url: tlsSrv.URL, permanent: true, want: "does not verify"},
		{name: "no answer in time", url: slow.URL, timeout: 50 * time.Millisecond, want: "did not answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			req, _ := httpcall.NewJSON(ctx, tc.url+"/services/T0/B0/"+secret+"?token="+secret, []byte(`{}`))
			_, _, err := httpcall.Do(&http.Client{}, req, httpcall.Call{What: "test call"})
			if err == nil {
				t.Fatal("no error")
			}
			if outbox.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (permanent %v), want %q (permanent %v)", err, outbox.IsPermanent(err), tc.want, tc.permanent)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "/services/") {
				t.Errorf("error %q holds the URL's path", err)
			}
		})
	}
}
