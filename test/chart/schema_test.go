package chart

import (
	"strings"
	"testing"
)

// values.schema.json refuses values that would render a broken or unsafe release, and
// says which value is wrong.
func TestValuesSchemaRejectsBadValues(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   string // in the error
	}{
		{"misspelt key", "replica: 2", "'replica' not allowed"},
		{"replicas not a number", "replicas: two", "/replicas"},
		{"negative replicas", "replicas: -1", "/replicas"},
		{"two replicas without leader election", "leaderElection: false\nreplicas: 2", "/replicas"},
		{"unknown log level", "logLevel: verbose", "/logLevel"},
		{"unknown pull policy", "image: {pullPolicy: Sometimes}", "/image/pullPolicy"},
		{"empty repository", "image: {repository: \"\"}", "/image/repository"},
		{"pull secret as a string", "imagePullSecrets: [regcred]", "/imagePullSecrets/0"},
		{"port out of range", "metrics: {port: 70000}", "/metrics/port"},
		{"reader without namespace", "metrics: {readerServiceAccount: {name: prometheus}}", "/metrics/readerServiceAccount"},
		{"interval without unit", "monitoring: {serviceMonitor: {interval: \"30\"}}", "/monitoring/serviceMonitor/interval"},
		{"enabled as a string", "monitoring: {prometheusRule: {enabled: \"yes\"}}", "/monitoring/prometheusRule/enabled"},
		{"crds.keep as a string", "crds: {keep: \"true\"}", "/crds/keep"},
		{"minAvailable not a number or percentage", "podDisruptionBudget: {minAvailable: half}", "/podDisruptionBudget/minAvailable"},
		{"fullnameOverride not a DNS label", "fullnameOverride: Chat_Operator", "/fullnameOverride"},
		{"extra object a number", "extraObjects: [3]", "/extraObjects/0"},
		{"node selector value a number", "nodeSelector: {zone: 1}", "/nodeSelector/zone"},
	}
	c := loadChart(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderValues(c, values(t, tt.values), "switchboard-system")
			if err == nil {
				t.Fatalf("values %q accepted", tt.values)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("values %q: error %q does not name %q", tt.values, err, tt.want)
			}
		})
	}
	// The everything value set of the apply test is valid.
	if _, err := renderValues(c, values(t, everything), "switchboard-system"); err != nil {
		t.Errorf("valid values refused: %v", err)
	}
}
