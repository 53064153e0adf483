package controllers

import (
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// Names, labels and ports of what a LiveChat renders.
const (
	FieldOwner         = "switchboard-operator"
	LabelLiveChat      = "chat.switchboard.dev/livechat"
	AnnotationRevision = "chat.switchboard.dev/config-revision"
	ConfigMapKey       = "config.json"
	RuntimeHTTPPort    = 8080
	RuntimeMetricsPort = 9090
	runtimeDataDir     = "/var/lib/switchboard"
	runtimeUID         = 65532
	// RuntimeImageRepository is where released images are published; the operator's
	// default runtime image is this repository at its own version.
	RuntimeImageRepository = "ghcr.io/switchboard-chat/switchboard"
)

// ConfigMapName is the ConfigMap holding a LiveChat's compiled configuration.
func ConfigMapName(lc string) string { return lc + "-config" }

// RuntimeName names the runtime's Deployment, Service, ServiceAccount, Role,
// RoleBinding and PodDisruptionBudget.
func RuntimeName(lc string) string { return lc + "-runtime" }

// DataName names the PersistentVolumeClaim of embedded storage.
func DataName(lc string) string { return lc + "-data" }

// RuntimeOptions are operator-wide settings of the runtimes it renders.
type RuntimeOptions struct {
	// Image of the runtime when a LiveChat names none: the operator's own.
	Image string
}

// Labels of every object a LiveChat renders. Nothing is copied from the LiveChat's own
// labels or annotations: GitOps tools track objects by them (Argo CD's tracking
// annotation, app.kubernetes.io/instance) and would claim the children as theirs.
func runtimeLabels(lc string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "switchboard",
		"app.kubernetes.io/component":  "runtime",
		"app.kubernetes.io/managed-by": FieldOwner,
		LabelLiveChat:                  lc,
	}
}

func selectorLabels(lc string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "switchboard", "app.kubernetes.io/component": "runtime", LabelLiveChat: lc}
}

func ownerRef(lc *chatv1alpha1.LiveChat) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(chatv1alpha1.GroupVersion.String()).WithKind("LiveChat").
		WithName(lc.Name).WithUID(lc.UID).WithController(true).WithBlockOwnerDeletion(true)
}

// RuntimeObjects returns the apply configurations of everything a LiveChat renders,
// in apply order. Owner references are set when the LiveChat has a UID (it came from
// an API server); an offline render leaves them out.
func RuntimeObjects(lc *chatv1alpha1.LiveChat, cfg *config.Config, opts RuntimeOptions) []runtime.ApplyConfiguration {
	name, ns := lc.Name, lc.Namespace
	withOwner := func(refs ...*metav1ac.OwnerReferenceApplyConfiguration) []*metav1ac.OwnerReferenceApplyConfiguration {
		if lc.UID == "" {
			return nil
		}
		return refs
	}
	owner := withOwner(ownerRef(lc))
	labels := runtimeLabels(name)

	cm := corev1ac.ConfigMap(ConfigMapName(name), ns).WithLabels(labels).WithOwnerReferences(owner...).
		WithAnnotations(map[string]string{AnnotationRevision: cfg.Revision()}).
		WithData(map[string]string{ConfigMapKey: string(cfg.Marshal())})
	sa := corev1ac.ServiceAccount(RuntimeName(name), ns).WithLabels(labels).WithOwnerReferences(owner...)
	role := rbacv1ac.Role(RuntimeName(name), ns).WithLabels(labels).WithOwnerReferences(owner...).WithRules(runtimeRules(name, cfg)...)
	binding := rbacv1ac.RoleBinding(RuntimeName(name), ns).WithLabels(labels).WithOwnerReferences(owner...).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Role").WithName(RuntimeName(name))).
		WithSubjects(rbacv1ac.Subject().WithKind("ServiceAccount").WithName(RuntimeName(name)).WithNamespace(ns))
	svc := corev1ac.Service(RuntimeName(name), ns).WithLabels(labels).WithOwnerReferences(owner...).
		WithSpec(corev1ac.ServiceSpec().WithSelector(selectorLabels(name)).WithPorts(
			corev1ac.ServicePort().WithName("http").WithPort(RuntimeHTTPPort).WithTargetPort(intstr.FromString("http")),
			corev1ac.ServicePort().WithName("metrics").WithPort(RuntimeMetricsPort).WithTargetPort(intstr.FromString("metrics")),
		))

	out := []runtime.ApplyConfiguration{cm, sa, role, binding}
	if st := lc.Spec.Storage; st == nil || st.Embedded != nil {
		out = append(out, dataPVC(lc, owner, labels))
	}
	out = append(out, runtimeDeployment(lc, owner, opts), svc)
	if replicas(lc) > 1 {
		out = append(out, policyv1ac.PodDisruptionBudget(RuntimeName(name), ns).WithLabels(labels).WithOwnerReferences(owner...).
			WithSpec(policyv1ac.PodDisruptionBudgetSpec().WithMaxUnavailable(intstr.FromInt32(1)).
				WithSelector(metav1ac.LabelSelector().WithMatchLabels(selectorLabels(name)))))
	}
	return out
}

func replicas(lc *chatv1alpha1.LiveChat) int32 {
	if r := lc.Spec.Runtime.Replicas; r != nil {
		return *r
	}
	return 1
}

// runtimeRules is least privilege: the runtime watches its own ConfigMap and exactly
// the Secrets its configuration names, each with an informer limited to that one name,
// which lists and watches and never gets; and it writes the Connected condition and
// webhookURL of exactly its messenger Channels, and the delivery counts of exactly its
// NotificationPolicies (runtime/kubestatus), reading each first with a list by name. An empty resourceNames would mean "all", so a rule with no names
// is left out rather than written empty. The operator holds every verb it grants here,
// as RBAC requires.
func runtimeRules(lc string, cfg *config.Config) []*rbacv1ac.PolicyRuleApplyConfiguration {
	rules := []*rbacv1ac.PolicyRuleApplyConfiguration{
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("configmaps").WithResourceNames(ConfigMapName(lc)).
			WithVerbs("list", "watch"),
	}
	var secrets []string
	for _, s := range cfg.Secrets {
		secrets = append(secrets, s.Name)
	}
	if len(secrets) > 0 {
		rules = append(rules, rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("secrets").WithResourceNames(secrets...).
			WithVerbs("list", "watch"))
	}
	if names := messengerChannels(cfg); len(names) > 0 {
		group := chatv1alpha1.GroupVersion.Group
		rules = append(rules,
			rbacv1ac.PolicyRule().WithAPIGroups(group).WithResources("channels").WithResourceNames(names...).WithVerbs("list"),
			rbacv1ac.PolicyRule().WithAPIGroups(group).WithResources("channels/status").WithResourceNames(names...).WithVerbs("patch"))
	}
	if names := policies(cfg); len(names) > 0 {
		group := chatv1alpha1.GroupVersion.Group
		rules = append(rules,
			rbacv1ac.PolicyRule().WithAPIGroups(group).WithResources("notificationpolicies").WithResourceNames(names...).WithVerbs("list"),
			rbacv1ac.PolicyRule().WithAPIGroups(group).WithResources("notificationpolicies/status").WithResourceNames(names...).WithVerbs("patch"))
	}
	return rules
}

// policies names, sorted, the LiveChat's NotificationPolicies, whose delivery counts
// the runtime writes.
func policies(cfg *config.Config) []string {
	var names []string
	for _, p := range cfg.Policies {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

// messengerChannels names, sorted, the channels whose connection to a provider the
// runtime reports: the widget and internal channels have no provider to connect to.
func messengerChannels(cfg *config.Config) []string {
	var names []string
	for _, ch := range cfg.Channels {
		switch ch.Type {
		case config.ChannelWebWidget, config.ChannelInternal:
			continue
		}
		names = append(names, ch.Name)
	}
	slices.Sort(names)
	return names
}

func dataPVC(lc *chatv1alpha1.LiveChat, owner []*metav1ac.OwnerReferenceApplyConfiguration, labels map[string]string) *corev1ac.PersistentVolumeClaimApplyConfiguration {
	size := resource.MustParse("1Gi")
	var class *string
	if st := lc.Spec.Storage; st != nil && st.Embedded != nil {
		if st.Embedded.Size != nil {
			size = *st.Embedded.Size
		}
		class = st.Embedded.StorageClassName
	}
	spec := corev1ac.PersistentVolumeClaimSpec().WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{corev1.ResourceStorage: size}))
	if class != nil {
		spec = spec.WithStorageClassName(*class)
	}
	return corev1ac.PersistentVolumeClaim(DataName(lc.Name), lc.Namespace).WithLabels(labels).WithOwnerReferences(owner...).WithSpec(spec)
}

func runtimeImage(lc *chatv1alpha1.LiveChat, opts RuntimeOptions) string {
	switch {
	case lc.Spec.Runtime.Image != "":
		return lc.Spec.Runtime.Image
	case opts.Image != "":
		return opts.Image
	}
	return RuntimeImageRepository + ":latest"
}

func runtimeDeployment(lc *chatv1alpha1.LiveChat, owner []*metav1ac.OwnerReferenceApplyConfiguration, opts RuntimeOptions) *appsv1ac.DeploymentApplyConfiguration {
	name, ns, rt := lc.Name, lc.Namespace, lc.Spec.Runtime
	embedded := lc.Spec.Storage == nil || lc.Spec.Storage.Embedded != nil

	container := corev1ac.Container().WithName("runtime").WithImage(runtimeImage(lc, opts)).
		WithArgs("runtime",
			"--namespace="+ns,
			"--config-map="+ConfigMapName(name),
			"--data-dir="+runtimeDataDir,
			fmt.Sprintf("--http-address=:%d", RuntimeHTTPPort),
			fmt.Sprintf("--metrics-address=:%d", RuntimeMetricsPort),
			"--log-level="+orDefault(rt.LogLevel, "info")).
		WithEnv(corev1ac.EnvVar().WithName("POD_NAME").WithValueFrom(
			corev1ac.EnvVarSource().WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath("metadata.name")))).
		WithPorts(
			corev1ac.ContainerPort().WithName("http").WithContainerPort(RuntimeHTTPPort),
			corev1ac.ContainerPort().WithName("metrics").WithContainerPort(RuntimeMetricsPort)).
		WithReadinessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/readyz").WithPort(intstr.FromString("http"))).
			WithPeriodSeconds(5)).
		WithLivenessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/healthz").WithPort(intstr.FromString("http"))).
			WithInitialDelaySeconds(10).WithPeriodSeconds(20)).
		WithSecurityContext(corev1ac.SecurityContext().WithAllowPrivilegeEscalation(false).WithReadOnlyRootFilesystem(true).
			WithRunAsNonRoot(true).WithCapabilities(corev1ac.Capabilities().WithDrop("ALL"))).
		WithVolumeMounts(corev1ac.VolumeMount().WithName("tmp").WithMountPath("/tmp"))

	resources := &corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	if rt.Resources != nil {
		resources = rt.Resources
	}
	container.WithResources(convert[corev1ac.ResourceRequirementsApplyConfiguration](resources))
	if rt.ImagePullPolicy != "" {
		container.WithImagePullPolicy(rt.ImagePullPolicy)
	}

	volumes := []*corev1ac.VolumeApplyConfiguration{corev1ac.Volume().WithName("tmp").WithEmptyDir(corev1ac.EmptyDirVolumeSource())}
	if embedded {
		container.WithVolumeMounts(corev1ac.VolumeMount().WithName("data").WithMountPath(runtimeDataDir))
		volumes = append(volumes, corev1ac.Volume().WithName("data").WithPersistentVolumeClaim(
			corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(DataName(name))))
	}

	pod := corev1ac.PodSpec().
		WithServiceAccountName(RuntimeName(name)).
		WithTerminationGracePeriodSeconds(30).
		WithSecurityContext(corev1ac.PodSecurityContext().WithRunAsNonRoot(true).WithRunAsUser(runtimeUID).
			WithRunAsGroup(runtimeUID).WithFSGroup(runtimeUID).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithContainers(container).
		WithVolumes(volumes...)
	if len(rt.NodeSelector) > 0 {
		pod.WithNodeSelector(rt.NodeSelector)
	}
	for i := range rt.Tolerations {
		pod.WithTolerations(convert[corev1ac.TolerationApplyConfiguration](&rt.Tolerations[i]))
	}
	if rt.Affinity != nil {
		pod.WithAffinity(convert[corev1ac.AffinityApplyConfiguration](rt.Affinity))
	}
	for i := range rt.TopologySpreadConstraints {
		pod.WithTopologySpreadConstraints(convert[corev1ac.TopologySpreadConstraintApplyConfiguration](&rt.TopologySpreadConstraints[i]))
	}
	if rt.PriorityClassName != "" {
		pod.WithPriorityClassName(rt.PriorityClassName)
	}
	for _, s := range rt.ImagePullSecrets {
		pod.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(s.Name))
	}

	template := corev1ac.PodTemplateSpec().WithLabels(selectorLabels(name)).WithSpec(pod)
	if len(rt.PodAnnotations) > 0 {
		template.WithAnnotations(rt.PodAnnotations)
	}
	// SQLite on a ReadWriteOnce volume allows one writer: stop the old pod first.
	strategy := appsv1ac.DeploymentStrategy().WithType("RollingUpdate")
	if embedded {
		strategy = appsv1ac.DeploymentStrategy().WithType("Recreate")
	}
	return appsv1ac.Deployment(RuntimeName(name), ns).WithLabels(runtimeLabels(name)).WithOwnerReferences(owner...).
		WithSpec(appsv1ac.DeploymentSpec().WithReplicas(replicas(lc)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selectorLabels(name))).
			WithStrategy(strategy).
			WithRevisionHistoryLimit(5).
			WithTemplate(template))
}

// convert turns a core API value into its apply configuration: the two share a JSON form.
func convert[T any](in any) *T {
	data, err := json.Marshal(in)
	if err != nil {
		panic(err) // API types always marshal
	}
	out := new(T)
	if err := json.Unmarshal(data, out); err != nil {
		panic(err)
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
