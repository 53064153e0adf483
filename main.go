// Command switchboard is the live-chat platform's single binary: the operator
// (`switchboard manager`, the default), and the subcommands added beside it.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/internal/render"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/server"
	"github.com/switchboard-chat/switchboard/runtime/source"
)

type command struct {
	name    string
	summary string
	run     func(args []string) error
}

func commands() []command {
	return []command{
		{"manager", "run the operator that reconciles switchboard resources (default)", runManager},
		{"runtime", "run the chat engine: in a cluster from its ConfigMap, or standalone from --manifests", runRuntime},
		{"render", "compile manifests offline and print the runtime configuration or objects, or review a change (--diff); exit 1 on problems", runRender},
		{"version", "print the version, commit and Go version", func([]string) error { printVersion(os.Stdout); return nil }},
	}
}

func main() {
	args := os.Args[1:]
	name := "manager"
	if len(args) > 0 && len(args[0]) > 0 && (args[0][0] != '-' || isHelp(args[0])) {
		name, args = args[0], args[1:]
	}
	switch name {
	case "help", "-h", "-help", "--help":
		usage(os.Stdout)
		return
	}
	for _, c := range commands() {
		if c.name == name {
			if err := c.run(args); err != nil && !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(os.Stderr, "switchboard %s: %v\n", name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "switchboard: unknown command %q\n\n", name)
	usage(os.Stderr)
	os.Exit(2)
}

// isHelp reports whether a first argument asks for the list of subcommands rather
// than the manager's flags.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: switchboard <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrun 'switchboard <command> -h' for a command's flags")
}

// newScheme registers the Kubernetes built-in kinds and the switchboard API.
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(chatv1alpha1.AddToScheme(s))
	return s
}

func runManager(args []string) error {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	metricsAddr := fs.String("metrics-bind-address", ":8443", "address the metrics endpoint binds to; \"0\" disables it")
	metricsSecure := fs.Bool("metrics-secure", true, "serve metrics over HTTPS to callers whose token the API server authenticates and allows to get /metrics; false serves plain HTTP to anyone, for local runs")
	metricsCertPath := fs.String("metrics-cert-path", "", "directory holding tls.crt and tls.key for the metrics endpoint, reloaded when they change; a self-signed certificate when empty")
	probeAddr := fs.String("health-probe-bind-address", ":8081", "address the health and readiness probes bind to")
	leaderElect := fs.Bool("leader-elect", true, "elect a leader so only one operator replica reconciles at a time")
	leaderNamespace := fs.String("leader-election-namespace", "", "namespace of the leader election lease; the operator's own namespace when empty")
	runtimeImage := fs.String("runtime-image", defaultRuntimeImage(), "image of the runtimes the operator deploys when a LiveChat names none ($SWITCHBOARD_IMAGE when set, else the operator's own release)")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the cluster: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  newScheme(),
		Cache:                   controllers.CacheOptions(),
		Metrics:                 metricsOptions(*metricsAddr, *metricsSecure, *metricsCertPath),
		HealthProbeBindAddress:  *probeAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        "switchboard-manager.chat.switchboard.dev",
		LeaderElectionNamespace: *leaderNamespace,
		// The manager exits right after the lease is released, so a successor can
		// take over without waiting for the lease to expire.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controllers.Setup(ctx, mgr, controllers.RuntimeOptions{Image: *runtimeImage}); err != nil {
		return fmt.Errorf("setting up controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "version", version)
	return mgr.Start(ctx)
}

// metricsOptions serve the operator's metrics as the kubebuilder scaffold does: over
// HTTPS, each request's bearer token checked with a TokenReview and its right to get
// /metrics with a SubjectAccessReview. HTTP/2 is off, since the endpoint gains nothing
// from it and it has had denial-of-service flaws (HTTP/2 Rapid Reset).
func metricsOptions(addr string, secure bool, certPath string) metricsserver.Options {
	if !secure {
		return metricsserver.Options{BindAddress: addr}
	}
	return metricsserver.Options{
		BindAddress:    addr,
		SecureServing:  true,
		FilterProvider: filters.WithAuthenticationAndAuthorization,
		CertDir:        certPath,
		TLSOpts:        []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	}
}

// pathList is a repeatable -f flag.
type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, ",") }
func (p *pathList) Set(v string) error { *p = append(*p, v); return nil }

// defaultRuntimeImage is $SWITCHBOARD_IMAGE (an operator installed from a mirror sets
// it), else the released image of this very version, so operator and runtime always
// run the same code.
func defaultRuntimeImage() string {
	if img := os.Getenv("SWITCHBOARD_IMAGE"); img != "" {
		return img
	}
	return controllers.RuntimeImageRepository + ":" + version
}

func runRender(args []string) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	var paths pathList
	fs.Var(&paths, "f", "a YAML or JSON file, or a directory of them (repeatable)")
	output := fs.String("o", render.OutputConfig, "output: config (the compiled runtime configuration) or yaml (the Kubernetes objects the operator applies)")
	namespace := fs.String("namespace", "default", "namespace of objects that name none")
	image := fs.String("runtime-image", defaultRuntimeImage(), "runtime image in rendered Deployments ($SWITCHBOARD_IMAGE when set, else this release's)")
	var base pathList
	fs.Var(&base, "diff", "review a change: compile these manifests (the base branch) too and print what -f changes for people, not YAML (repeatable)")
	format := fs.String("format", render.FormatText, "with --diff: text, or markdown for a pull request comment")
	exitCode := fs.Bool("exit-code", false, "with --diff: exit 3 when the configuration changes and compiles cleanly (0 when nothing changes, 1 on problems)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	paths = append(paths, fs.Args()...)
	if len(paths) == 0 {
		return errors.New("name the manifests to render: switchboard render -f DIR (and --diff BASE_DIR to review a change)")
	}
	if len(base) > 0 {
		if *output != render.OutputConfig {
			return errors.New("-o does not apply with --diff, which prints a review: use --format text or markdown")
		}
		opts := render.DiffOptions{Base: base, Head: paths, Format: *format, Namespace: *namespace, ExitCode: *exitCode}
		if code := render.RunDiff(opts, os.Stdout, os.Stderr); code != 0 {
			os.Exit(code)
		}
		return nil
	}
	if code := render.Run(render.Options{Paths: paths, Output: *output, Namespace: *namespace, Image: *image}, os.Stdout, os.Stderr); code != 0 {
		os.Exit(code)
	}
	return nil
}

func runRuntime(args []string) error {
	fs := flag.NewFlagSet("runtime", flag.ContinueOnError)
	manifestsDir := fs.String("manifests", "", "standalone: compile the five kinds from the YAML files in this directory (and reload them on change)")
	liveChat := fs.String("livechat", "", "standalone: the LiveChat to serve when the manifests hold several")
	namespace := fs.String("namespace", os.Getenv("POD_NAMESPACE"), "in a cluster: the namespace of the ConfigMap; standalone: of objects that name none")
	configMap := fs.String("config-map", "", "in a cluster: the ConfigMap holding the compiled configuration")
	dataDir := fs.String("data-dir", "data", "directory of the embedded SQLite database")
	httpAddr := fs.String("http-address", ":8080", "address of the chat API, widget and console")
	metricsAddr := fs.String("metrics-address", ":9090", "address of /metrics")
	pprof := fs.Bool("pprof", false, "serve Go's profiles (net/http/pprof) under /debug/pprof/ on --metrics-address, never on the public address")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var limits api.Limits
	fs.Float64Var(&limits.MessagesPerSecond, "message-rate", 5, "messages per second one contact or operator may send (bursts of --message-burst)")
	fs.IntVar(&limits.MessageBurst, "message-burst", 20, "burst of messages above --message-rate")
	fs.IntVar(&limits.SendQueue, "websocket-send-queue", 256, "events queued for one WebSocket before a client too slow to read them is disconnected")
	fs.Float64Var(&limits.ConversationsPerSecond, "conversation-rate", 1, "conversations per second new widget visitors may start from one client address (bursts of --conversation-burst); negative: no limit")
	fs.IntVar(&limits.ConversationBurst, "conversation-burst", 20, "burst of new conversations above --conversation-rate")
	fs.Float64Var(&limits.WebSocketsPerSecond, "websocket-rate", 2, "WebSockets per second widget visitors may open from one client address (bursts of --websocket-burst); negative: no limit")
	fs.IntVar(&limits.WebSocketBurst, "websocket-burst", 50, "burst of WebSockets above --websocket-rate")
	fs.IntVar(&limits.WebSocketsPerAddress, "websockets-per-address", 100, "WebSockets widget visitors may hold open from one client address; negative: no cap")
	fs.IntVar(&limits.WebSocketsPerToken, "websockets-per-token", 16, "WebSockets one visitor, employee or operator may hold open with their token; negative: no cap")
	fs.Func("trusted-proxies", "comma-separated CIDRs of the reverse proxies in front of the runtime: from them, X-Forwarded-For names the client's address (for the limits per address); empty trusts none", func(v string) error {
		p, err := api.ParseTrustedProxies(v)
		limits.TrustedProxies = p
		return err
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var src source.Source
	switch {
	case *manifestsDir != "":
		src = &source.Files{Dir: *manifestsDir, LiveChat: *liveChat, Namespace: *namespace, Log: log}
	case *configMap != "":
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return fmt.Errorf("finding the cluster: %w", err)
		}
		if *namespace == "" {
			return errors.New("--namespace is required with --config-map")
		}
		src = &source.Kube{Config: cfg, Namespace: *namespace, ConfigMap: *configMap, Key: controllers.ConfigMapKey, Log: log}
	default:
		return errors.New("say where the configuration comes from: --manifests DIR (standalone) or --config-map NAME (in a cluster)")
	}
	ctx := ctrl.SetupSignalHandler()
	return server.Run(ctx, server.Options{HTTPAddress: *httpAddr, MetricsAddress: *metricsAddr, PProf: *pprof, DataDir: *dataDir,
		Source: src, Log: log, Limits: limits})
}
