package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// TemporalServer is a real Temporal server (the Temporal CLI's dev server,
// built by `make tools`), in memory, on free ports.
type TemporalServer struct {
	HostPort  string
	Namespace string
}

var (
	temporalOnce sync.Once
	temporalSrv  *TemporalServer
	temporalErr  error
)

// TemporalBinary is the Temporal CLI that `make tools` builds.
func TemporalBinary() string {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p
	}
	return ToolBin("temporal")
}

// Temporal returns a real Temporal server shared by the package's tests; it
// stops when testenv.Main returns.
func Temporal(t testing.TB) *TemporalServer {
	t.Helper()
	temporalOnce.Do(func() { temporalSrv, temporalErr = startTemporal() })
	if temporalErr != nil {
		Unavailable(t, "Temporal server", temporalErr)
	}
	return temporalSrv
}

func startTemporal() (*TemporalServer, error) {
	bin := TemporalBinary()
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("temporal CLI not built at %s (make tools): %w", bin, err)
	}
	ports := make([]int, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	dir, err := os.MkdirTemp("", "mobayilo-temporal-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "start-dev", "--headless",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(ports[0]),
		"--http-port", strconv.Itoa(ports[1]),
		"--metrics-port", strconv.Itoa(ports[2]),
		"--log-level", "error",
		// One task-queue partition, as `mobayilo dev` and the compose stack
		// run (deploy/temporal-dynamic-config.yaml says why).
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	atExit(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		_ = os.RemoveAll(dir)
	})
	srv := &TemporalServer{HostPort: fmt.Sprintf("127.0.0.1:%d", ports[0]), Namespace: "default"}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: srv.HostPort, Namespace: srv.Namespace, Logger: quietLogger{}})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			cancel()
			c.Close()
			if err == nil {
				return srv, nil
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return nil, fmt.Errorf("temporal dev server did not become healthy: %v\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Client dials the server; the client closes when t ends.
func (s *TemporalServer) Client(t testing.TB) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.HostPort, Namespace: s.Namespace, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// quietLogger drops the SDK's logs; tests report what matters themselves.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}
