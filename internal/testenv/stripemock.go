package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var stripeMock struct {
	once sync.Once
	url  string
	err  error
}

// StripeMock returns the base URL (http://127.0.0.1:PORT) of a stripe-mock
// shared by every test in the package; it stops when testenv.Main returns, so
// the package's TestMain must use Main. The binary comes from STRIPE_MOCK_BIN
// or from `make tools`.
func StripeMock(t testing.TB) string {
	t.Helper()
	stripeMock.once.Do(func() { stripeMock.url, stripeMock.err = startStripeMock() })
	if stripeMock.err != nil {
		Unavailable(t, "stripe-mock", stripeMock.err)
	}
	return stripeMock.url
}

func startStripeMock() (string, error) {
	bin := os.Getenv("STRIPE_MOCK_BIN")
	if bin == "" {
		bin = ToolBin("stripe-mock")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("binary: %w", err)
	}
	// -http-addr rather than -http-port: the latter binds every interface.
	args := func(port int) []string { return []string{bin, "-http-addr", fmt.Sprintf("127.0.0.1:%d", port)} }
	// Any HTTP answer, even the 401 for a missing key, means it is serving.
	ready := func(base string) bool {
		resp, err := peerProbeClient.Get(base + "/v1/customers")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}
	return launchPeer("stripe-mock", args, ready, 20*time.Second)
}

// peerProbeClient polls peers while they start; a short timeout keeps one
// stuck probe from eating the whole start-up budget.
var peerProbeClient = &http.Client{Timeout: 2 * time.Second}

// launchPeer starts a helper server on a free port and waits until ready
// says it serves. A port taken between freePort and the server's bind makes
// the server exit at once, so that case is retried on a fresh port. The
// server stops when Main returns.
func launchPeer(name string, args func(port int) []string, ready func(base string) bool, timeout time.Duration) (string, error) {
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		p, err := startPeerProcess(args(port))
		if err != nil {
			return "", fmt.Errorf("start %s: %w", name, err)
		}
		err = p.waitReady(base, ready, timeout)
		if err == nil {
			atExit(p.stop)
			return base, nil
		}
		p.stop()
		lastErr = fmt.Errorf("%s: %w", name, err)
		if !errors.Is(err, errPeerExited) {
			break
		}
	}
	return "", lastErr
}

var errPeerExited = errors.New("exited before it was ready")

// peerProcess is a helper server run in its own process group, so that
// stopping it also stops any children it spawned (node does).
type peerProcess struct {
	cmd     *exec.Cmd
	out     *tailBuffer
	exited  chan struct{}
	waitErr error
	stopped sync.Once
}

func startPeerProcess(argv []string) (*peerProcess, error) {
	p := &peerProcess{out: &tailBuffer{max: 8 << 10}, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild that outlives the group kill must not hang Wait on the
	// output pipe.
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *peerProcess) waitReady(base string, ready func(string) bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("%w (%v); output:\n%s", errPeerExited, p.waitErr, p.out)
		default:
		}
		if ready(base) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready at %s after %s; output:\n%s", base, timeout, p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM to the whole process group, then SIGKILL if it lingers.
func (p *peerProcess) stop() {
	p.stopped.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
		// Children may survive their parent's exit; the group kill reaches them.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	})
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
