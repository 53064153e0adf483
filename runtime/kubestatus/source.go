package kubestatus

import (
	"log/slog"

	"github.com/switchboard-chat/switchboard/runtime/source"
)

// ForSource returns the writer of the Channels a runtime serves when its
// configuration comes from the cluster (a *source.Kube: its rest config and namespace
// are the runtime's, and the Channels live in that namespace), and nil otherwise: a
// standalone runtime has no Channel objects to write to, and a nil writer does nothing.
func ForSource(src source.Source, log *slog.Logger) (*ChannelWriter, error) {
	k, ok := src.(*source.Kube)
	if !ok || k.Config == nil {
		return nil, nil
	}
	return NewChannelWriter(k.Config, k.Namespace, log)
}

// PolicyWriterForSource returns the writer of the NotificationPolicies a runtime
// serves when its configuration comes from the cluster, and nil otherwise.
func PolicyWriterForSource(src source.Source, tallies Tallies, policies func() []string, log *slog.Logger) (*PolicyWriter, error) {
	k, ok := src.(*source.Kube)
	if !ok || k.Config == nil {
		return nil, nil
	}
	return NewPolicyWriter(k.Config, k.Namespace, tallies, policies, log)
}
