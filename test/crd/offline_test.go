package crd

import (
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/switchboard-chat/switchboard/internal/schemacheck"
)

// TestOfflineCheckAgreesWithTheAPIServer runs the API server's table of refusals
// through the offline check `switchboard render` uses: each must be refused on the
// same field with the same message, so a pre-merge check catches what apply would.
func TestOfflineCheckAgreesWithTheAPIServer(t *testing.T) {
	checker, err := schemacheck.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range invalidObjects() {
		t.Run(tt.name, func(t *testing.T) {
			obj := tt.obj(t)
			gvk, err := apiutil.GVKForObject(obj, env.Scheme)
			if err != nil {
				t.Fatal(err)
			}
			errs, err := checker.Check(gvk, obj)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range errs {
				field := e.Field
				if field == "" {
					field = "<nil>"
				}
				if field == tt.field && strings.Contains(e.Error(), tt.msg) {
					return
				}
				got = append(got, field+": "+e.Error())
			}
			t.Errorf("not refused on %q with %q; got:\n  %s", tt.field, tt.msg, strings.Join(got, "\n  "))
		})
	}
}
