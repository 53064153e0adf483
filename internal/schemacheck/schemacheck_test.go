package schemacheck

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// The agreement with a real API server is tested in test/crd; these cases cover the
// steps of a create around validation that test cannot show: the namespace the
// request supplies, and generated names.
func TestCheckPreparesTheObjectAsACreateWould(t *testing.T) {
	checker, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	group := func(meta metav1.ObjectMeta) runtime.Object {
		return &chatv1alpha1.OperatorGroup{ObjectMeta: meta}
	}
	tests := []struct {
		name string
		obj  runtime.Object
		// want are the causes as "field: message", each message a prefix.
		want []string
	}{
		{"no namespace: the request's", group(metav1.ObjectMeta{Name: "first-line"}), nil},
		{"a namespace that is no DNS-1123 label", group(metav1.ObjectMeta{Name: "first-line", Namespace: "Support_Team"}),
			[]string{`metadata.namespace: Invalid value: "Support_Team": a lowercase RFC 1123 label must consist of`}},
		{"a name generated from generateName", group(metav1.ObjectMeta{GenerateName: "auditors-"}), nil},
		{"a generateName that makes no valid name", group(metav1.ObjectMeta{GenerateName: "Auditors."}), []string{
			`metadata.generateName: Invalid value: "Auditors.": a lowercase RFC 1123 subdomain`,
			`metadata.name: Invalid value: "Auditors.`,
		}},
		{"a long generateName, cut as the API server cuts it", group(metav1.ObjectMeta{GenerateName: strings.Repeat("a", 300) + "-"}),
			[]string{`metadata.generateName: Invalid value: "` + strings.Repeat("a", 300) + `-": must be no more than 253 characters`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gvk := chatv1alpha1.GroupVersion.WithKind("OperatorGroup")
			errs, err := checker.Check(gvk, tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Field+": "+e.ErrorBody())
			}
			slices.Sort(got)
			if len(got) != len(tt.want) {
				t.Fatalf("causes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("cause %q, want one starting %q", got[i], tt.want[i])
				}
			}
		})
	}
}
