package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Device login (RFC 8628): one DeviceLogin workflow per device code. The
// code itself never reaches Temporal: the workflow ID is derived from its
// SHA-256, and the access token is minted by the API after the workflow
// answers a poll with approved, so neither appears in history.

// DeviceSlowDownStep is what a too-early poll adds to the interval (RFC 8628
// §3.5: "the interval MUST be increased by 5 seconds for this and all
// subsequent requests").
const DeviceSlowDownStep = 5 * time.Second

// DeviceLoginInput describes one device authorization request. It holds no
// secret.
type DeviceLoginInput struct {
	ClientID    string
	DeviceName  string
	IP          string
	RequestedAt time.Time
	// ExpiresIn is the device code's lifetime from RequestedAt; the
	// workflow's timer enforces it.
	ExpiresIn time.Duration
	// Interval is the minimum time between polls the client was told.
	Interval time.Duration
}

// DeviceLoginStatus is where a device login stands.
type DeviceLoginStatus string

const (
	DeviceLoginPending  DeviceLoginStatus = "pending"
	DeviceLoginApproved DeviceLoginStatus = "approved"
	DeviceLoginDenied   DeviceLoginStatus = "denied"
	// DeviceLoginExpired: the code's lifetime ran out before a decision, or
	// before an approved device collected its token.
	DeviceLoginExpired DeviceLoginStatus = "expired"
)

// DeviceDecision is the SignalDeviceDecision payload: the signed-in user who
// approved or denied the device.
type DeviceDecision struct {
	Approve bool
	UserID  int64
}

// DevicePoll is the UpdateDevicePoll argument: one token request.
type DevicePoll struct {
	ClientID string
}

// DevicePollAnswer is the workflow's answer to one poll. The error answers
// are RFC 8628 §3.5's error codes, so the API passes them through.
type DevicePollAnswer string

const (
	PollPending  DevicePollAnswer = "authorization_pending"
	PollSlowDown DevicePollAnswer = "slow_down"
	PollDenied   DevicePollAnswer = "access_denied"
	// PollExpired answers an expired code, and also a code whose token was
	// already issued: RFC 8628's remedy for both is to start a new login.
	PollExpired DevicePollAnswer = "expired_token"
	// PollApproved is given to exactly one poll; the API then mints the
	// token.
	PollApproved DevicePollAnswer = "approved"
)

// DevicePollResult is what UpdateDevicePoll returns.
type DevicePollResult struct {
	Answer DevicePollAnswer
	// UserID is who approved, set only with PollApproved.
	UserID int64
	// Interval is the poll interval now in force.
	Interval time.Duration
}

// DeviceLoginState is what QueryState returns.
type DeviceLoginState struct {
	Status      DeviceLoginStatus
	ClientID    string
	DeviceName  string
	IP          string
	RequestedAt time.Time
	ExpiresAt   time.Time
	Interval    time.Duration
	Polls       int
	LastPollAt  time.Time
	DecidedBy   int64
	DecidedAt   time.Time
	// TokenIssued: an approved poll was answered, so the API minted the
	// device's token; the code is used up.
	TokenIssued bool
}

// DeviceLoginResult is how a device login ended.
type DeviceLoginResult struct {
	Status      DeviceLoginStatus // approved, denied or expired
	DecidedBy   int64
	DecidedAt   time.Time
	TokenIssued bool
	Polls       int
}

// LateAnswer is the answer for a poll that arrives after the workflow has
// closed: the code is used, refused or expired, never pending.
func (r DeviceLoginResult) LateAnswer() DevicePollAnswer {
	if r.Status == DeviceLoginDenied {
		return PollDenied
	}
	return PollExpired
}

// DeviceLogin waits for a person to approve or deny a device, or for the
// code to expire, and answers the device's polls meanwhile. After an
// approval it waits, until the code would have expired, for the device to
// collect its answer. Expiry is a result, not an error.
func DeviceLogin(ctx workflow.Context, in DeviceLoginInput) (DeviceLoginResult, error) {
	s := newDeviceLogin(in)
	if err := s.registerHandlers(ctx); err != nil {
		return DeviceLoginResult{}, err
	}
	log := workflow.GetLogger(ctx)

	timerCtx, stopTimer := workflow.WithCancel(ctx)
	expiry := workflow.NewTimer(timerCtx, max(s.ExpiresAt.Sub(workflow.Now(ctx)), 0))
	decisions := workflow.GetSignalChannel(ctx, SignalDeviceDecision)
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(decisions, func(c workflow.ReceiveChannel, _ bool) {
		var d DeviceDecision
		c.Receive(ctx, &d)
		if !s.decide(d, workflow.Now(ctx)) {
			log.Warn("device decision ignored", "user_id", d.UserID, "status", s.Status)
		}
	})
	sel.AddFuture(expiry, func(workflow.Future) { s.Status = DeviceLoginExpired })
	for s.Status == DeviceLoginPending {
		sel.Select(ctx)
	}
	stopTimer()
	log.Info("device login decided", "status", s.Status, "user_id", s.DecidedBy)

	if s.Status == DeviceLoginApproved {
		if err := s.awaitCollection(ctx); err != nil {
			return DeviceLoginResult{}, err
		}
	}
	// Polls are answered at once, but let any in flight finish cleanly.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return DeviceLoginResult{}, err
	}
	return s.result(), nil
}

// deviceLogin is the workflow's state; every handler runs on the workflow's
// single thread, so a poll and a decision never interleave.
type deviceLogin struct {
	DeviceLoginState
}

func newDeviceLogin(in DeviceLoginInput) *deviceLogin {
	return &deviceLogin{DeviceLoginState{
		Status:      DeviceLoginPending,
		ClientID:    in.ClientID,
		DeviceName:  in.DeviceName,
		IP:          in.IP,
		RequestedAt: in.RequestedAt,
		ExpiresAt:   in.RequestedAt.Add(in.ExpiresIn),
		Interval:    in.Interval,
	}}
}

func (s *deviceLogin) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (DeviceLoginState, error) {
		return s.DeviceLoginState, nil
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateDevicePoll,
		func(ctx workflow.Context, p DevicePoll) (DevicePollResult, error) {
			return s.poll(workflow.Now(ctx)), nil
		},
		workflow.UpdateHandlerOptions{Validator: s.validatePoll})
}

// validatePoll refuses a poll from another client before it is written to
// history.
func (s *deviceLogin) validatePoll(_ workflow.Context, p DevicePoll) error {
	if p.ClientID != s.ClientID {
		return temporal.NewApplicationError("the device code was issued to another client", ErrTypeInvalidGrant)
	}
	return nil
}

// pollTolerance is how much sooner than the interval a poll may come and
// still count as on time: network and scheduling jitter must not turn a
// well-behaved client's poll into slow_down.
func pollTolerance(interval time.Duration) time.Duration { return interval / 5 }

// poll answers one token request. Only a pending code checks the pace:
// final answers (denied, expired, used) and the approval come whatever it
// is. Exactly one poll ever gets approved.
func (s *deviceLogin) poll(now time.Time) DevicePollResult {
	s.Polls++
	prev := s.LastPollAt
	s.LastPollAt = now
	switch s.Status {
	case DeviceLoginDenied:
		return s.answer(PollDenied)
	case DeviceLoginExpired:
		return s.answer(PollExpired)
	case DeviceLoginApproved:
		if s.TokenIssued {
			return s.answer(PollExpired)
		}
		s.TokenIssued = true
		return DevicePollResult{Answer: PollApproved, UserID: s.DecidedBy, Interval: s.Interval}
	}
	if !prev.IsZero() && now.Sub(prev) < s.Interval-pollTolerance(s.Interval) {
		s.Interval += DeviceSlowDownStep
		return s.answer(PollSlowDown)
	}
	return s.answer(PollPending)
}

func (s *deviceLogin) answer(a DevicePollAnswer) DevicePollResult {
	return DevicePollResult{Answer: a, Interval: s.Interval}
}

// decide applies the first valid decision; later ones are ignored.
func (s *deviceLogin) decide(d DeviceDecision, now time.Time) bool {
	if s.Status != DeviceLoginPending || d.UserID <= 0 {
		return false
	}
	s.DecidedBy, s.DecidedAt = d.UserID, now
	s.Status = DeviceLoginDenied
	if d.Approve {
		s.Status = DeviceLoginApproved
	}
	return true
}

// awaitCollection waits for the approved device's next poll, until the
// code's lifetime ends; an approval nobody collected ends as expired.
func (s *deviceLogin) awaitCollection(ctx workflow.Context) error {
	left := s.ExpiresAt.Sub(workflow.Now(ctx))
	collected := s.TokenIssued
	if !collected && left > 0 {
		var err error
		if collected, err = workflow.AwaitWithTimeout(ctx, left, func() bool { return s.TokenIssued }); err != nil {
			return err
		}
	}
	if !collected {
		s.Status = DeviceLoginExpired
		workflow.GetLogger(ctx).Info("approved device never collected its token", "user_id", s.DecidedBy)
	}
	return nil
}

func (s *deviceLogin) result() DeviceLoginResult {
	return DeviceLoginResult{Status: s.Status, DecidedBy: s.DecidedBy, DecidedAt: s.DecidedAt,
		TokenIssued: s.TokenIssued, Polls: s.Polls}
}
