package providers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The sandbox carrier: `make run` has no Twilio, so the dialer's sandbox
// mode places calls through this simulated network instead of the Voice
// SDK. It behaves as Twilio does at our edges: it asks our real voice
// webhook what to do (signed with X-Twilio-Signature), dials the <Number>
// the TwiML names, and sends the status callbacks and the <Dial action> to
// the URLs the TwiML gave, signed too. Its record of each call answers
// FetchCall, as Twilio's REST API would for reconciliation. It also plays
// the REST Calls create and update of a bridge call (CreateCall, EndCall):
// it rings the owner's phone, asks our bridge webhook once it answers, and
// dials the destination that answer names. The record is
// this process's: a sandbox deployment with separate api and worker
// processes cannot reconcile through it.

// VoiceWebhookPath is where Twilio asks what a browser call should do.
const VoiceWebhookPath = "/api/webhooks/twilio/voice"

// Sandbox test destinations: how the simulated phone at each behaves. Any
// other valid number answers and talks until the caller hangs up.
const (
	SandboxNumberTalks        = "+14155550100"
	SandboxNumberHangsUp61    = "+14155550101"
	SandboxNumberBusy         = "+14155550102"
	SandboxNumberNoAnswer     = "+14155550103"
	SandboxNumberFails        = "+14155550104"
	SandboxNumberNoCallbacks  = "+14155550105"
	SandboxNumberHangsUpAfter = "+14155550106"
)

// CarrierOptions tune the simulated network.
type CarrierOptions struct {
	// RingFor is how long a phone rings before it answers (or is busy).
	RingFor time.Duration
	// NoAnswerAfter is how long an unanswered phone rings (Twilio's <Dial
	// timeout>, 30 s by default).
	NoAnswerAfter time.Duration
	// Chaos delivers callbacks twice and some out of order, as Twilio
	// promises neither order nor single delivery (SANDBOX_CHAOS=1).
	Chaos bool
}

// SandboxCarrier is the simulated network.
type SandboxCarrier struct {
	hooks *SandboxWebhooks
	o     CarrierOptions
	mu    sync.Mutex
	// calls by our call id; legs by either leg's SID.
	calls map[string]*carrierCall
	legs  map[string]*carrierCall
}

type carrierCall struct {
	callID, parent, child, to string
	status                    string
	answeredAt, endedAt       time.Time
	duration                  int64
	hangup                    chan struct{}
	once                      sync.Once
}

// NewSandboxCarrier is a simulated network delivering through hooks.
func NewSandboxCarrier(hooks *SandboxWebhooks, o CarrierOptions) *SandboxCarrier {
	if o.RingFor <= 0 {
		o.RingFor = 2 * time.Second
	}
	if o.NoAnswerAfter <= 0 {
		o.NoAnswerAfter = 30 * time.Second
	}
	return &SandboxCarrier{hooks: hooks, o: o, calls: map[string]*carrierCall{}, legs: map[string]*carrierCall{}}
}

// ConnectResult is how the network took a browser's call.
type ConnectResult struct {
	// CallSID is the browser leg's SID.
	CallSID string
	// Refused is what the voice webhook said instead of dialing (its <Say>).
	Refused string
}

// twiml is the part of our voice webhook's answer the carrier reads.
type twiml struct {
	Say  []string `xml:"Say"`
	Dial *struct {
		CallerID  string `xml:"callerId,attr"`
		TimeLimit int64  `xml:"timeLimit,attr"`
		Action    string `xml:"action,attr"`
		Number    struct {
			Value          string `xml:",chardata"`
			StatusCallback string `xml:"statusCallback,attr"`
		} `xml:"Number"`
	} `xml:"Dial"`
}

func newSID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "CA" + hex.EncodeToString(b)
}

// Connect places callID as the Voice SDK would (identity is the token's,
// to the number typed): the network asks our voice webhook, then dials
// what it answers in the background.
func (c *SandboxCarrier) Connect(ctx context.Context, callID, identity, to string) (ConnectResult, error) {
	parent := newSID()
	form := url.Values{"AccountSid": {SandboxAccountSID}, "ApplicationSid": {SandboxTwiMLApp}, "ApiVersion": {"2010-04-01"},
		"CallSid": {parent}, "CallStatus": {"ringing"}, "Direction": {"inbound"}, "Caller": {"client:" + identity},
		"From": {"client:" + identity}, "To": {to}, "CallId": {callID}}
	status, body, err := c.hooks.CallTwilio(ctx, VoiceWebhookPath, form)
	if err != nil {
		return ConnectResult{}, err
	}
	if status != 200 {
		return ConnectResult{}, fmt.Errorf("sandbox carrier: the voice webhook answered %d: %s", status, body)
	}
	var r twiml
	if err := xml.Unmarshal(body, &r); err != nil {
		return ConnectResult{}, fmt.Errorf("sandbox carrier: unreadable TwiML: %w", err)
	}
	if r.Dial == nil {
		return ConnectResult{CallSID: parent, Refused: strings.TrimSpace(strings.Join(r.Say, " "))}, nil
	}
	cc := &carrierCall{callID: callID, parent: parent, child: newSID(), to: strings.TrimSpace(r.Dial.Number.Value), status: "queued",
		hangup: make(chan struct{})}
	c.mu.Lock()
	c.calls[callID], c.legs[cc.parent], c.legs[cc.child] = cc, cc, cc
	c.mu.Unlock()
	go c.dial(cc, r.Dial.Number.StatusCallback, r.Dial.Action, time.Duration(r.Dial.TimeLimit)*time.Second)
	return ConnectResult{CallSID: parent}, nil
}

// Hangup is the caller hanging up (the browser's Hang up).
func (c *SandboxCarrier) Hangup(callID string) error {
	c.mu.Lock()
	cc := c.calls[callID]
	c.mu.Unlock()
	if cc == nil {
		return fmt.Errorf("%w: %s", ErrCallUnknown, callID)
	}
	cc.once.Do(func() { close(cc.hangup) })
	return nil
}

// CreateCall is Twilio's REST Calls create: the network rings oc.To (its
// test-number behaviour applies), and once answered asks oc.URL, signed,
// what to do; a <Dial> there dials the destination as a child leg. Hanging
// up either leg (EndCall), or the time limit, ends both, as on Twilio.
func (c *SandboxCarrier) CreateCall(_ context.Context, oc OutboundCall) (string, error) {
	if oc.To == "" || oc.From == "" || oc.URL == "" {
		return "", fmt.Errorf("sandbox carrier: a call needs To, From and Url")
	}
	sid := newSID()
	cc := &carrierCall{parent: sid, child: sid, to: oc.To, status: "queued", hangup: make(chan struct{})}
	c.mu.Lock()
	c.legs[sid] = cc
	c.mu.Unlock()
	go c.ring(cc, oc)
	return sid, nil
}

// EndCall is Twilio's REST Calls update to canceled or completed: the
// leg's whole call hangs up.
func (c *SandboxCarrier) EndCall(sid string) error {
	c.mu.Lock()
	cc := c.legs[sid]
	if cc != nil && c.legs[cc.parent] != nil {
		cc = c.legs[cc.parent] // a dialed leg hangs up with its parent
	}
	c.mu.Unlock()
	if cc == nil {
		return fmt.Errorf("%w: %s", ErrCallUnknown, sid)
	}
	cc.once.Do(func() { close(cc.hangup) })
	return nil
}

// ownerRingFor is how long the owner's phone rings before answering: a
// person picking up their own phone to place a call is quick.
const ownerRingFor = time.Second

// ring runs a call placed through the REST API: initiated, ringing, then
// answered (or busy / no-answer / failed); answered, it asks our webhook
// and dials what it answers; then it completes.
func (c *SandboxCarrier) ring(cc *carrierCall, oc OutboundCall) {
	b := behaviourOf(cc.to)
	callback := c.callbacks(cc, oc.StatusCallback, b)
	c.set(cc, "initiated")
	callback("initiated", -1)
	c.set(cc, "ringing")
	callback("ringing", -1)
	ring := min(c.o.RingFor, ownerRingFor)
	if b.final == "no-answer" {
		ring = c.o.NoAnswerAfter
	}
	select {
	case <-cc.hangup:
		c.end(cc, "canceled", callback, "", b)
		return
	case <-time.After(ring):
	}
	if b.final != "" {
		c.end(cc, b.final, callback, "", b)
		return
	}
	c.set(cc, "in-progress")
	callback("in-progress", -1)
	if oc.TimeLimit > 0 {
		limit := time.AfterFunc(oc.TimeLimit, func() { cc.once.Do(func() { close(cc.hangup) }) })
		defer limit.Stop()
	}
	if child, statusURL, action, timeLimit := c.answered(cc, oc); child != nil {
		c.dial(child, statusURL, action, timeLimit)
		cc.once.Do(func() { close(cc.hangup) }) // the callee hung up: so does the call
	}
	<-cc.hangup
	c.end(cc, "completed", callback, "", b)
}

// answered asks oc.URL what the answered call should do, as Twilio does,
// and returns the child leg its <Dial> names (nil when it says and hangs
// up: the call then ends).
func (c *SandboxCarrier) answered(cc *carrierCall, oc OutboundCall) (*carrierCall, string, string, time.Duration) {
	hangUp := func() { cc.once.Do(func() { close(cc.hangup) }) }
	u, err := url.Parse(oc.URL)
	if err != nil {
		hangUp()
		return nil, "", "", 0
	}
	form := url.Values{"AccountSid": {SandboxAccountSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {cc.parent},
		"CallStatus": {"in-progress"}, "Direction": {"outbound-api"}, "From": {oc.From}, "To": {oc.To}, "Called": {oc.To}}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	status, body, err := c.hooks.CallTwilio(ctx, u.RequestURI(), form)
	var r twiml
	if err != nil || status != 200 || xml.Unmarshal(body, &r) != nil || r.Dial == nil {
		hangUp()
		return nil, "", "", 0
	}
	child := &carrierCall{parent: cc.parent, child: newSID(), to: strings.TrimSpace(r.Dial.Number.Value), status: "queued", hangup: cc.hangup}
	c.mu.Lock()
	c.legs[child.child] = child
	c.mu.Unlock()
	// The <Dial> ending hangs the call up (our dial-action answers
	// <Hangup/>).
	return child, r.Dial.Number.StatusCallback, r.Dial.Action, time.Duration(r.Dial.TimeLimit) * time.Second
}

// Record is the network's record of a leg: what FetchCall answers.
func (c *SandboxCarrier) Record(sid string) (CallInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.legs[sid]
	if cc == nil {
		return CallInfo{}, fmt.Errorf("%w: %s", ErrCallUnknown, sid)
	}
	info := CallInfo{SID: sid, Status: cc.status, DurationSeconds: -1}
	if !cc.endedAt.IsZero() {
		info.DurationSeconds = cc.duration
	}
	return info, nil
}

// ChildSID is the phone leg's SID of a call the carrier connected.
func (c *SandboxCarrier) ChildSID(callID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.calls[callID]; cc != nil {
		return cc.child
	}
	return ""
}

func (c *SandboxCarrier) set(cc *carrierCall, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc.status = status
	switch status {
	case "in-progress":
		cc.answeredAt = time.Now()
	case "completed", "busy", "no-answer", "failed", "canceled":
		cc.endedAt = time.Now()
		if !cc.answeredAt.IsZero() && status == "completed" {
			cc.duration = int64(cc.endedAt.Sub(cc.answeredAt).Round(time.Second) / time.Second)
		}
	}
}

// behaviour is how the simulated phone at a number answers.
type behaviour struct {
	final       string        // busy, no-answer or failed when it never talks
	talkFor     time.Duration // the callee hangs up after this; 0: talks until the caller hangs up
	noCallbacks bool
}

func behaviourOf(to string) behaviour {
	switch to {
	case SandboxNumberHangsUp61:
		return behaviour{talkFor: 61 * time.Second}
	case SandboxNumberBusy:
		return behaviour{final: "busy"}
	case SandboxNumberNoAnswer:
		return behaviour{final: "no-answer"}
	case SandboxNumberFails:
		return behaviour{final: "failed"}
	case SandboxNumberNoCallbacks:
		return behaviour{talkFor: 5 * time.Second, noCallbacks: true}
	case SandboxNumberHangsUpAfter:
		return behaviour{talkFor: 5 * time.Second}
	}
	return behaviour{}
}

// dial runs the phone leg: initiated, ringing, then answered and talking
// until someone hangs up (or timeLimit), or busy / no-answer / failed; then
// the <Dial action>.
func (c *SandboxCarrier) dial(cc *carrierCall, statusURL, actionURL string, timeLimit time.Duration) {
	b := behaviourOf(cc.to)
	callback := c.callbacks(cc, statusURL, b)
	c.set(cc, "initiated")
	callback("initiated", -1)
	c.set(cc, "ringing")
	callback("ringing", -1)
	ring := c.o.RingFor
	if b.final == "no-answer" {
		ring = c.o.NoAnswerAfter
	}
	select {
	case <-cc.hangup:
		c.end(cc, "canceled", callback, actionURL, b)
		return
	case <-time.After(ring):
	}
	if b.final != "" {
		c.end(cc, b.final, callback, actionURL, b)
		return
	}
	c.set(cc, "in-progress")
	callback("in-progress", -1)
	talk := timeLimit
	if b.talkFor > 0 && (talk <= 0 || b.talkFor < talk) {
		talk = b.talkFor
	}
	var limit <-chan time.Time
	if talk > 0 {
		limit = time.After(talk)
	}
	select {
	case <-cc.hangup:
	case <-limit:
	}
	c.end(cc, "completed", callback, actionURL, b)
}

// callbacks sends a leg's status callbacks to statusURL, numbered as
// Twilio numbers them.
func (c *SandboxCarrier) callbacks(cc *carrierCall, statusURL string, b behaviour) func(status string, duration int64) {
	seq := 0
	return func(status string, duration int64) {
		form := url.Values{"AccountSid": {SandboxAccountSID}, "CallSid": {cc.child}, "CallStatus": {status}, "To": {cc.to},
			"SequenceNumber": {strconv.Itoa(seq)}, "Timestamp": {time.Now().UTC().Format(time.RFC1123Z)}}
		if cc.child == cc.parent {
			form.Set("Direction", "outbound-api") // a call placed through the REST API
		} else {
			form.Set("Direction", "outbound-dial")
			form.Set("ParentCallSid", cc.parent)
		}
		if duration >= 0 {
			form.Set("CallDuration", strconv.FormatInt(duration, 10))
		}
		seq++
		if b.noCallbacks || statusURL == "" {
			return
		}
		c.send(statusURL, form)
	}
}

// end records the leg's final status and sends its callback and the
// <Dial action>; with Chaos, twice each and the last ones shuffled.
func (c *SandboxCarrier) end(cc *carrierCall, status string, callback func(string, int64), actionURL string, b behaviour) {
	c.set(cc, status)
	c.mu.Lock()
	duration := cc.duration
	c.mu.Unlock()
	final := func() { callback(status, duration) }
	action := func() {
		if actionURL == "" || b.noCallbacks {
			return
		}
		c.send(actionURL, url.Values{"AccountSid": {SandboxAccountSID}, "CallSid": {cc.parent}, "DialCallSid": {cc.child},
			"DialCallStatus": {status}, "DialCallDuration": {strconv.FormatInt(duration, 10)}})
	}
	steps := []func(){final, action}
	if c.o.Chaos {
		steps = append(steps, final, func() { callback("ringing", -1) }, action)
		mrand.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
	}
	for _, f := range steps {
		f()
	}
}

// send delivers one signed callback to an absolute URL of ours.
func (c *SandboxCarrier) send(target string, form url.Values) {
	u, err := url.Parse(target)
	if err != nil {
		return
	}
	path := u.Path
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := c.hooks.DeliverTwilio(ctx, path, form); err != nil && !errors.Is(err, context.Canceled) {
		// The network keeps going, as Twilio's would; the workflow
		// reconciles what it missed.
		_ = err
	}
}
