package crd

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/switchboard-chat/switchboard/internal/schemacheck"
)

// TestOfflineCheckAgreesWithTheAPIServer creates every object of the refusal table and
// of the valid variants on the API server and runs it through the offline check
// `switchboard render` uses: both must give the same causes, field and message, all of
// them, so a pre-merge check refuses what apply would, and only that.
func TestOfflineCheckAgreesWithTheAPIServer(t *testing.T) {
	checker, err := schemacheck.New()
	if err != nil {
		t.Fatal(err)
	}
	type agreementCase struct {
		name  string
		obj   func(*testing.T) client.Object
		valid bool
	}
	var cases []agreementCase
	for _, tt := range invalidObjects() {
		cases = append(cases, agreementCase{"refused/" + tt.name, tt.obj, false})
	}
	for _, tt := range validVariants() {
		cases = append(cases, agreementCase{"accepted/" + tt.name, tt.obj, true})
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			obj := tt.obj(t)
			obj.SetNamespace(env.Namespace(t))
			gvk, err := apiutil.GVKForObject(obj, env.Scheme)
			if err != nil {
				t.Fatal(err)
			}
			generateName := ""
			if obj.GetName() == "" {
				generateName = obj.GetGenerateName()
			}
			errs, err := checker.Check(gvk, obj.DeepCopyObject())
			if err != nil {
				t.Fatal(err)
			}
			offline := offlineCauses(errs, generateName)

			createErr := env.Client.Create(context.Background(), obj)
			server := serverCauses(t, createErr, generateName)
			switch {
			case tt.valid && createErr != nil:
				t.Errorf("the API server refused a valid variant: %v", createErr)
			case !tt.valid && createErr == nil:
				t.Error("the API server accepted an object of the refusal table")
			}
			if !slices.Equal(server, offline) {
				t.Errorf("the offline check disagrees with the API server\nonly the API server:\n%s\nonly the offline check:\n%s",
					listed(missingFrom(offline, server)), listed(missingFrom(server, offline)))
			}
		})
	}
}

// serverCauses are the causes of the API server's answer to a create, sorted; nil
// when it accepted.
func serverCauses(t *testing.T, err error, generateName string) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
		t.Fatalf("error %v is not an Invalid status", err)
	}
	var causes []string
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			causes = append(causes, cause(c.Field, string(c.Type), c.Message))
		}
	}
	return normalized(causes, generateName)
}

// offlineCauses are the offline check's errors as the API server would send them as
// causes, sorted.
func offlineCauses(errs field.ErrorList, generateName string) []string {
	var causes []string
	for _, e := range errs {
		causes = append(causes, cause(e.Field, string(e.Type), e.ErrorBody()))
	}
	return normalized(causes, generateName)
}

func cause(field, typ, message string) string { return field + " (" + typ + "): " + message }

// normalized sorts causes and, for an object named from generateName, replaces the
// random suffix each side generates.
func normalized(causes []string, generateName string) []string {
	if generateName != "" {
		base := generateName[:min(len(generateName), names.MaxGeneratedNameLength)]
		generated := regexp.MustCompile(regexp.QuoteMeta(base) + "[bcdfghjklmnpqrstvwxz2456789]{5}")
		for i, c := range causes {
			causes[i] = generated.ReplaceAllLiteralString(c, base+"<random>")
		}
	}
	slices.Sort(causes)
	return causes
}

// missingFrom lists the causes of want that got lacks, each as often as it lacks it.
func missingFrom(got, want []string) []string {
	left := slices.Clone(got)
	var missing []string
	for _, w := range want {
		if i := slices.Index(left, w); i >= 0 {
			left = slices.Delete(left, i, i+1)
			continue
		}
		missing = append(missing, w)
	}
	return missing
}

func listed(causes []string) string {
	if len(causes) == 0 {
		return "  (none)"
	}
	return "  " + strings.Join(causes, "\n  ")
}
