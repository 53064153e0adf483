package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/api"
)

// TestReadyzFollowsTheStore: /readyz fails while the store cannot commit, saying
// whether the disk is full but nothing of paths; the log says why, once per change.
func TestReadyzFollowsTheStore(t *testing.T) {
	var failure atomic.Pointer[error]
	rg := startRig(t, api.Options{Ready: func(context.Context) error {
		if err := failure.Load(); err != nil {
			return *err
		}
		return nil
	}})
	full := fmt.Errorf("the disk holding /var/lib/switchboard is full: %w", syscall.ENOSPC)
	readOnly := errors.New("the data directory /var/lib/switchboard is not writable: attempt to write a readonly database")
	steps := []struct {
		name     string
		err      error
		wantCode int
		wantBody string
	}{
		{"committing", nil, 200, `"ready"`},
		{"a full disk", full, 503, "its disk is full"},
		{"still full", full, 503, "its disk is full"},
		{"read-only", readOnly, 503, "cannot commit"},
		{"committing again", nil, 200, `"ready"`},
	}
	for _, st := range steps {
		if st.err != nil {
			failure.Store(&st.err)
		} else {
			failure.Store(nil)
		}
		res, body := do(t, "GET", rg.srv.URL+"/readyz", "", "")
		if res.StatusCode != st.wantCode || !strings.Contains(body, st.wantBody) {
			t.Errorf("%s: %d %s, want %d with %s", st.name, res.StatusCode, body, st.wantCode, st.wantBody)
		}
		if strings.Contains(body, "/var/lib") {
			t.Errorf("%s: /readyz shows a path: %s", st.name, body)
		}
	}
	log := rg.log.String()
	if n := strings.Count(log, "level=ERROR msg=\"not ready"); n != 1 {
		t.Errorf("logged not ready %d times, want once (per change):\n%s", n, log)
	}
	if !strings.Contains(log, "is full") || !strings.Contains(log, "level=INFO msg=\"ready again") {
		t.Errorf("the log does not say why and when:\n%s", log)
	}
}
