// Package server wires the runtime together: configuration source, store, engine, API
// and metrics, and runs them until the context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/auth/oidclogin"
	"github.com/switchboard-chat/switchboard/runtime/channelevents"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/kubestatus"
	"github.com/switchboard-chat/switchboard/runtime/notify/dispatch"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/presence"
	"github.com/switchboard-chat/switchboard/runtime/processmsg"
	"github.com/switchboard-chat/switchboard/runtime/source"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
	"github.com/switchboard-chat/switchboard/runtime/web"
)

// Options of a runtime.
type Options struct {
	HTTPAddress    string
	MetricsAddress string
	// PProf serves net/http/pprof's profiles on the metrics address (--pprof).
	PProf bool
	// DataDir holds the embedded SQLite database.
	DataDir string
	Source  source.Source
	Log     *slog.Logger
	// Ready, when set, receives the HTTP listener's address once the runtime serves.
	Ready func(httpAddr, metricsAddr string)
	// Now is the clock, for tests.
	Now func() time.Time
	// Limits of the API; zero fields take the defaults.
	Limits api.Limits
	// Providers are the messengers the runtime connects, by channel type;
	// DefaultProviders when nil.
	Providers map[config.ChannelType]channels.Provider
	// OnChannelStatus, when set, hears of every change of a messenger channel's
	// connection (the cluster source writes it on the Channel's status).
	OnChannelStatus func(channels.Status)
	// OIDCClient reaches the LiveChat's OIDC provider; a client with a 10 s timeout
	// when nil (tests pass one that trusts their provider's certificate).
	OIDCClient *http.Client
}

// Runtime is a running runtime's state, for /status.
type Runtime struct {
	mu        sync.Mutex
	revision  string
	appliedAt time.Time
	liveChat  string
	driver    string
	problems  int
	restart   string
	// storage is the storage the store was opened with.
	storage  config.Storage
	channels func() []channels.Status
	// reloads reports the standalone source's reloads; nil in a cluster, where the
	// operator reports on the objects themselves.
	reloads func() source.ReloadReport
}

// Status is the body of GET /status.
type Status struct {
	LiveChat       string    `json:"liveChat"`
	ConfigRevision string    `json:"configRevision"`
	AppliedAt      time.Time `json:"appliedAt"`
	Storage        string    `json:"storage"`
	Problems       int       `json:"problems"`
	RestartNeeded  string    `json:"restartNeeded,omitempty"`
	// Channels are the messenger channels' connections.
	Channels []channels.Status `json:"channels"`
	// HeldBack and LastRefusedReload: standalone, the objects served in their last
	// good version and the last reload that refused anything.
	source.ReloadReport
}

func (rt *Runtime) status() any {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	st := Status{LiveChat: rt.liveChat, ConfigRevision: rt.revision, AppliedAt: rt.appliedAt, Storage: rt.driver,
		Problems: rt.problems, RestartNeeded: rt.restart, Channels: []channels.Status{}}
	if rt.channels != nil {
		st.Channels = rt.channels()
		slices.SortFunc(st.Channels, func(a, b channels.Status) int { return strings.Compare(a.Channel, b.Channel) })
	}
	if rt.reloads != nil {
		st.ReloadReport = rt.reloads()
	}
	return st
}

// Run runs the runtime until ctx ends.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	snapshots := make(chan source.Snapshot, 1)
	srcErr := make(chan error, 1)
	go func() {
		srcErr <- o.Source.Run(ctx, func(s source.Snapshot) {
			select {
			case <-snapshots: // only the newest matters
			default:
			}
			snapshots <- s
		})
	}()
	var first source.Snapshot
	select {
	case first = <-snapshots:
	case err := <-srcErr:
		return fmt.Errorf("reading the configuration: %w", err)
	case <-ctx.Done():
		return nil
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := openStore(ctx, first, o.DataDir, reg, log)
	if err != nil {
		return err
	}
	reg.MustRegister(chat.ConversationsCollector{Store: st})
	// Serve anyway (/healthz, /status), but not as ready: /readyz keeps asking.
	if err := st.CanCommit(ctx); err != nil {
		log.Error("the store cannot commit: the runtime reports not ready until it can", "error", err)
	}

	providers := o.Providers
	if providers == nil {
		providers = DefaultProviders
	}
	// In a cluster the runtime writes each messenger Channel's Connected condition.
	statusWriter, err := kubestatus.ForSource(o.Source, log.With("component", "kubestatus"))
	if err != nil {
		_ = st.Close()
		return fmt.Errorf("writing channel status to the cluster: %w", err)
	}
	go statusWriter.Run(ctx) // nil outside a cluster: returns at once
	// A channel switched on or off, or connected or not, is a ChannelChanged event.
	channelChanges := channelevents.New(st, log.With("component", "channelevents"))
	go channelChanges.Run(ctx)
	onStatus := func(s channels.Status) { statusWriter.Set(s); channelChanges.Status(s) }
	if o.OnChannelStatus != nil {
		onStatus = func(s channels.Status) { statusWriter.Set(s); channelChanges.Status(s); o.OnChannelStatus(s) }
	}
	var messengers *channels.Manager
	engine := chat.New(st, hub.New(), first.Config, chat.Options{Now: o.Now, Metrics: chat.NewMetrics(reg), Log: log,
		Outbound: func(ch *config.Channel, conv store.Conversation, m *store.Message) { messengers.Outbound(ch, conv, m) }})
	messengers = channels.NewManager(channels.Options{Store: st, Engine: engine, Providers: providers,
		OnStatus: onStatus, Metrics: reg, Log: log.With("component", "channels"), Now: o.Now})
	var secrets atomic.Pointer[func(name, key string) []byte]
	var apiServer *api.Server
	// Whether a visitor is online: their connections here, and with several replicas
	// (PostgreSQL) anywhere.
	var visitors *presence.Tracker
	visitorOnline := func(contact string) bool {
		if visitors != nil {
			return visitors.Online(contact)
		}
		return apiServer != nil && apiServer.ContactOnline(contact)
	}
	notices := newNotifications(st, engine, func(name, key string) []byte { return (*secrets.Load())(name, key) },
		visitorOnline, log.With("component", "notify"))
	notices.deliverer.Instrument(reg)
	reg.MustRegister(dispatch.BacklogCollector{Store: st})
	// In a cluster the runtime writes each NotificationPolicy's delivery counts.
	policyWriter, err := kubestatus.PolicyWriterForSource(o.Source, func(ctx context.Context) (map[string]store.Tally, error) {
		return dispatch.Tallies(ctx, st)
	}, func() []string { return policyNames(engine) }, log.With("component", "kubestatus"))
	if err != nil {
		engine.Close()
		_ = st.Close()
		return fmt.Errorf("writing notification policy status to the cluster: %w", err)
	}
	go policyWriter.Run(ctx) // nil outside a cluster: returns at once
	processes := processmsg.New(processmsg.Options{Store: st, Engine: engine, Channels: messengers,
		Secret: func(name, key string) []byte { return (*secrets.Load())(name, key) }, Log: log.With("component", "processmsg")})
	sends := outbox.New(st, outbox.Options{Metrics: reg, Log: log.With("component", "outbox"),
		OnFailed: func(j store.Job) { messengers.Failed(j); notices.deliverer.Failed(j); processes.Failed(j) }})
	err = messengers.Register(sends)
	if err == nil {
		err = notices.register(sends)
	}
	if err == nil {
		err = processes.Register(sends)
	}
	if err != nil {
		messengers.Close()
		engine.Close()
		_ = st.Close()
		return err
	}
	// Until the servers run, stopping needs only these, in this order.
	stopEarly := func() { _ = sends.Close(context.Background()); messengers.Close(); engine.Close(); _ = st.Close() }
	reg.MustRegister(chat.OperatorsCollector{Engine: engine})
	tokens := auth.NewTokens(nil)
	oidcRP := oidclogin.New(oidclogin.Options{HTTPClient: o.OIDCClient, Log: log.With("component", "oidc")})
	defer oidcRP.Close()
	rt := &Runtime{driver: first.Config.LiveChat.Storage.Driver, storage: first.Config.LiveChat.Storage, channels: messengers.Statuses}
	if r, ok := o.Source.(source.Reporter); ok {
		rt.reloads = r.Reloads
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_runtime_config_info",
		Help: "The configuration revision the runtime applies (value 1)."}, []string{"revision"})
	reg.MustRegister(info)
	applySnapshot := func(s source.Snapshot) {
		rev := s.Config.Revision()
		// /status waits while a snapshot applies, so it never reports a revision
		// other than the one the API already serves.
		rt.mu.Lock()
		engine.Apply(s.Config)
		engine.SetSecrets(s.Secret)
		secret := s.Secret
		secrets.Store(&secret)
		messengers.Apply(ctx, s.Config, s.Secret)
		channelChanges.Configured(s.Config)
		oidcRP.Configure(oidclogin.SettingsFrom(s.Config, s.Secret))
		for _, problem := range tokens.Set(s.Secrets[s.Config.LiveChat.AgentAuth.TokensSecret]) {
			log.Warn("an operator token is refused", "secret", s.Config.LiveChat.AgentAuth.TokensSecret, "problem", problem)
		}
		info.Reset()
		info.WithLabelValues(rev).Set(1)
		rt.revision, rt.appliedAt, rt.liveChat, rt.problems = rev, time.Now().UTC(), s.Config.LiveChat.Name, len(s.Problems)
		switch st := s.Config.LiveChat.Storage; {
		case st.Driver != rt.driver:
			rt.restart = fmt.Sprintf("storage changed from %s to %s: restart the runtime to switch", rt.driver, st.Driver)
			log.Warn(rt.restart)
		case st.Driver == config.StorageSQLite && fullDurability(st) != fullDurability(rt.storage):
			rt.restart = fmt.Sprintf("storage.embedded.durability changed to %s: restart the runtime to apply it", st.Durability)
			log.Warn(rt.restart)
		default:
			rt.restart = ""
		}
		rt.mu.Unlock()
		if apiServer != nil {
			apiServer.Reconfigured()
		}
		log.Info("configuration applied", "revision", rev)
	}
	applySnapshot(first)

	apiServer = api.New(api.Options{Engine: engine, Verifier: tokens, Log: log, Metrics: api.NewMetrics(reg), Ready: st.CanCommit,
		Status: rt.status, Web: web.Handler(web.Options{FrameAncestors: widgetOrigins(engine)}), Webhooks: messengers, ProcessMessages: processes, Limits: o.Limits,
		SignIn: api.SignIn{OIDC: oidcRP}})
	engine.OnResync(apiServer.Resync)
	httpLn, err := net.Listen("tcp", o.HTTPAddress)
	if err != nil {
		stopEarly()
		return fmt.Errorf("listening on %s: %w", o.HTTPAddress, err)
	}
	metricsLn, err := net.Listen("tcp", o.MetricsAddress)
	if err != nil {
		httpLn.Close()
		stopEarly()
		return fmt.Errorf("listening on %s: %w", o.MetricsAddress, err)
	}
	httpSrv := newAPIServer(apiServer)
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	metricsMux.HandleFunc("GET /status", rt.serveStatus)
	if o.PProf {
		servePProf(metricsMux)
	}
	metricsSrv := newMetricsServer(metricsMux)
	serveErr := make(chan error, 2)
	go func() { serveErr <- httpSrv.Serve(httpLn) }()
	go func() { serveErr <- metricsSrv.Serve(metricsLn) }()
	// Operators are online while a console is open on any replica, and for the
	// LiveChat's offlineAfter after the last one closed (the engine's sweep sets them
	// offline then), on either store.
	consoles := presence.New(st.OperatorConsoles(), apiServer.OperatorsConnected, apiServer.OperatorConnected,
		log.With("component", "presence"), presence.Linger(func() time.Duration {
			cfg, _ := engine.Config()
			return cfg.LiveChat.OperatorPresence.Resolved().OfflineAfter.Duration
		}))
	apiServer.SetConsoles(consoles)
	trackers := []*presence.Tracker{consoles}
	if first.Config.LiveChat.Storage.Driver == config.StoragePostgres {
		visitors = presence.New(st.ContactPresence(), apiServer.OnlineContacts, apiServer.ContactOnline, log.With("component", "presence"))
		trackers = append(trackers, visitors)
	}
	presenceCtx, cancelPresence := context.WithCancel(context.Background())
	var presenceDone sync.WaitGroup
	for _, t := range trackers {
		presenceDone.Add(1)
		go func() { defer presenceDone.Done(); t.Run(presenceCtx) }()
	}
	stopPresence := func() { cancelPresence(); presenceDone.Wait() }
	sends.Start()
	notices.dispatcher.Start()
	daily := analytics.New(analytics.Options{Store: st, Config: func() *config.Config { c, _ := engine.Config(); return c }, Now: o.Now,
		Log: log.With("component", "analytics")})
	daily.Start()
	log.Info("runtime serving", "http", httpLn.Addr().String(), "metrics", metricsLn.Addr().String(),
		"livechat", first.Config.LiveChat.Name, "storage", first.Config.LiveChat.Storage.Driver)
	if o.Ready != nil {
		o.Ready(httpLn.Addr().String(), metricsLn.Addr().String())
	}

	var runErr error
loop:
	for {
		select {
		case s := <-snapshots:
			applySnapshot(s)
		case err := <-srcErr:
			if err != nil {
				runErr = fmt.Errorf("configuration source: %w", err)
			}
			break loop
		case err := <-serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				runErr = err
			}
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	daily.Close()
	shutdownInOrder(log, httpSrv, apiServer, sends, notices, processes, messengers, engine, st, stopPresence)
	_ = metricsSrv.Close()
	return runErr
}

// shutdownTimeout bounds how long a stopping runtime waits for requests in flight.
const shutdownTimeout = 10 * time.Second

// shutdownInOrder stops the runtime so that nothing writes to a closed store: it stops
// accepting connections and closes WebSockets with 1001 (going away), waits for the
// requests and WebSocket messages in flight to be stored, lets the sends in progress
// finish, stops polling messengers and the engine's background work, and closes the
// store last.
func shutdownInOrder(log *slog.Logger, httpSrv *http.Server, apiServer *api.Server, sends *outbox.Outbox,
	notices *notifications, processes *processmsg.Service, messengers *channels.Manager, engine *chat.Engine, st store.Store,
	stopPresence func()) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- httpSrv.Shutdown(ctx) }() // closes the listener at once
	if err := apiServer.Shutdown(ctx); err != nil {
		log.Warn("stopping WebSockets", "error", err)
	}
	if err := <-httpDone; err != nil {
		log.Warn("stopping the HTTP server: requests still in flight", "error", err)
		_ = httpSrv.Close()
	}
	stopPresence() // withdraws this replica's visitors: they are gone with its connections
	notices.dispatcher.Close()
	if err := sends.Close(ctx); err != nil {
		log.Warn("stopping the outbox: sends still in flight were cut off; they are sent again after the restart", "error", err)
	}
	notices.deliverer.Close()
	processes.Close()
	messengers.Close()
	engine.Close()
	if err := st.Close(); err != nil {
		log.Warn("closing the store", "error", err)
	}
}

// fullDurability reports whether the embedded store syncs every commit (a
// configuration without the field is Normal).
func fullDurability(s config.Storage) bool {
	return s.Durability == string(chatv1alpha1.DurabilityFull)
}

// openStore opens the storage the configuration names.
func openStore(ctx context.Context, s source.Snapshot, dataDir string, reg prometheus.Registerer, log *slog.Logger) (*sqlstore.DB, error) {
	st := s.Config.LiveChat.Storage
	opts := sqlstore.Options{Metrics: reg, Log: log, FullDurability: fullDurability(st)}
	switch st.Driver {
	case config.StoragePostgres:
		uri := s.Secret(st.PostgresURI.Name, st.PostgresURI.Key)
		if len(uri) == 0 {
			return nil, fmt.Errorf("storage is postgres but Secret %q has no key %q", st.PostgresURI.Name, st.PostgresURI.Key)
		}
		return sqlstore.OpenPostgres(ctx, string(uri), opts)
	default:
		if dataDir == "" {
			return nil, errors.New("embedded storage needs --data-dir")
		}
		return sqlstore.OpenSQLite(ctx, dataDir, opts)
	}
}
