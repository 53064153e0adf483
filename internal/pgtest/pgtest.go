// Package pgtest runs a throwaway PostgreSQL server from the installed server binaries,
// in a temporary directory on a free loopback port, for tests.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Server is a running PostgreSQL.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	n    atomic.Int64
}

// binDir finds the directory of initdb and postgres.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := string(out[:len(out)-1])
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries (initdb) found: install the postgresql package")
	}
	sort.Strings(matches)
	return filepath.Dir(matches[len(matches)-1]), nil
}

// credential runs the server as the postgres user when the tests run as root, since
// PostgreSQL refuses to run as root.
func credential(dir string) (*syscall.SysProcAttr, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		u, err = user.Lookup("nobody")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres or nobody user to run PostgreSQL as")
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	}); err != nil {
		return nil, err
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start initialises and starts a server. Stop it with Stop.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "switchboard-pg-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	attr, err := credential(dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = attr
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.SysProcAttr = attr
	logFile, _ := os.Create(filepath.Join(dir, "postgres.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{dir: dir, port: port, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, _ := sql.Open("pgx", s.uri("postgres"))
		err := db.PingContext(context.Background())
		db.Close()
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, fmt.Errorf("PostgreSQL did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) uri(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates an empty database and returns its connection URI.
func (s *Server) NewDatabase() (string, error) {
	name := fmt.Sprintf("test_%d", s.n.Add(1))
	db, err := sql.Open("pgx", s.uri("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return "", err
	}
	return s.uri(name), nil
}

// StartWithDatabase starts a server with one empty database and returns its URI.
func StartWithDatabase() (*Server, string, error) {
	s, err := Start()
	if err != nil {
		return nil, "", err
	}
	uri, err := s.NewDatabase()
	if err != nil {
		s.Stop()
		return nil, "", err
	}
	return s, uri, nil
}

// Stop shuts the server down and removes its files.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
	os.RemoveAll(s.dir)
}

// StartOrSkip starts a server for a test package's TestMain. Without PostgreSQL
// installed it returns nil after saying so loudly, and tests needing it skip; under
// CI (CI=true), where it is always installed, it is an error instead.
func StartOrSkip() (*Server, error) {
	s, err := Start()
	if err == nil {
		return s, nil
	}
	if os.Getenv("CI") != "" {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIPPING PostgreSQL tests: %v ***\n\n", err)
	return nil, nil
}

// Database returns the URI of a fresh database on s, or skips t when s is nil.
func Database(t testing.TB, s *Server) string {
	t.Helper()
	if s == nil {
		t.Skip("PostgreSQL is not installed; see the warning above (CI installs it and never skips)")
	}
	uri, err := s.NewDatabase()
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

// Main is a TestMain for packages with PostgreSQL tests: it starts a server into *s
// (nil when none is installed, outside CI), runs the tests and stops it.
func Main(m *testing.M, s **Server) {
	var err error
	if *s, err = StartOrSkip(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if *s != nil {
		(*s).Stop()
	}
	os.Exit(code)
}
