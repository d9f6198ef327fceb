package workflows

import (
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// SaveCard: one workflow per card setup, an owner saving a card through
// Stripe Checkout in setup mode without paying. It opens the checkout,
// waits for the webhook's signal or the session's expiry, and on completion
// saves the card as the account's auto top-up card once, then tells the
// account's AutoTopUp workflow (a failed auto top-up retries with it).

// Card setup states: SaveCardResult.State, and the status the activities
// store on the card_setups row (models.CardSetup*, the same strings).
const (
	CardSetupPending = "pending"
	CardSetupSaved   = "saved"
	CardSetupExpired = "expired"
	CardSetupFailed  = "failed"
)

// SaveCardInput describes a card setup the API has stored.
type SaveCardInput struct {
	SetupID   string
	AccountID int64
	// BaseURL is PUBLIC_BASE_URL, where checkout returns the owner.
	BaseURL string
}

// SaveCardResult is the setup's final state.
type SaveCardResult struct {
	// State is saved, expired or failed (CardSetup*).
	State     string
	CardBrand string
	CardLast4 string
	Reason    string
}

// SetupEvent is the SignalSaveCardCheckoutEvent payload: what the webhook
// read from one verified checkout.session.* event of a setup.
type SetupEvent struct {
	EventID       string
	Type          string
	SessionID     string
	SetupIntentID string
}

// SaveCardState is what the `state` query returns.
type SaveCardState struct {
	SetupID           string
	AccountID         int64
	State             string
	CheckoutSessionID string
	CheckoutURL       string
	ExpiresAt         time.Time
	SetupIntentID     string
	CardBrand         string
	CardLast4         string
	EventsSeen        int
	LastEvent         string
	LastError         string
	// NextAction says what the workflow waits for, in words.
	NextAction string
}

// saveCard is the workflow's state with its small decisions.
type saveCard struct {
	st SaveCardState
	// outcome is set once: saved (a completed checkout), expired or failed.
	outcome string
	reason  string
	// lateSaved: a completed checkout was reported after the setup expired;
	// its card is saved before closing.
	lateSaved bool
	// wake nudges the wait when the deliver update applied an event.
	wake workflow.Channel
}

// SaveCard runs one card setup to a final state.
func SaveCard(ctx workflow.Context, in SaveCardInput) (SaveCardResult, error) {
	s := &saveCard{st: SaveCardState{SetupID: in.SetupID, AccountID: in.AccountID, State: CardSetupPending,
		NextAction: "open the setup checkout session"}, wake: workflow.NewBufferedChannel(ctx, 1)}
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrAccountID.ValueSet(strconv.FormatInt(in.AccountID, 10))); err != nil {
		return SaveCardResult{}, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (SaveCardState, error) { return s.st, nil }); err != nil {
		return SaveCardResult{}, err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateSaveCardCheckoutURL, s.checkoutLink); err != nil {
		return SaveCardResult{}, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSaveCardCheckoutEvent, s.deliverEvent,
		workflow.UpdateHandlerOptions{Validator: s.validateEvent}); err != nil {
		return SaveCardResult{}, err
	}
	closeLate := workflow.GetVersion(ctx, versionHandleLateEvents, workflow.DefaultVersion, 1) == 1

	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 5},
	})
	var a *activities.Activities
	var co activities.CreateCardSetupCheckoutResult
	err := workflow.ExecuteActivity(actx, a.CreateCardSetupCheckout, activities.CreateCardSetupCheckoutInput{SetupID: in.SetupID, BaseURL: in.BaseURL}).Get(ctx, &co)
	if err != nil {
		s.st.LastError = err.Error()
		s.decide(CardSetupFailed, "checkout could not be opened")
	} else {
		s.st.CheckoutSessionID, s.st.CheckoutURL, s.st.ExpiresAt = co.SessionID, co.URL, co.ExpiresAt
		s.st.NextAction = "wait for the owner to save a card at checkout (webhook signal) or for the session to expire"
		s.await(ctx, co.ExpiresAt.Add(TopUpExpiryGrace))
	}

	// Stripe holds the card once the checkout completed: keep trying to
	// read it back for a while before giving up on the setup.
	settle := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 20},
	})
	if s.outcome == CardSetupSaved {
		s.save(ctx, settle, in.SetupID)
	}
	if s.outcome != CardSetupSaved {
		if err := workflow.ExecuteActivity(settle, a.FinishCardSetup, activities.FinishCardSetupInput{SetupID: in.SetupID,
			Status: s.outcome}).Get(ctx, nil); err != nil {
			return SaveCardResult{}, err
		}
	}
	// Never close with an event pending: a checkout completed as the timer
	// expired the setup still saves its card.
	if closeLate {
		for {
			s.drainEvents(ctx)
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return SaveCardResult{}, err
			}
			if s.drainEvents(ctx) == 0 && (!s.lateSaved || s.outcome == CardSetupSaved) {
				break
			}
			if s.lateSaved && s.outcome != CardSetupSaved {
				s.outcome, s.reason = CardSetupSaved, ""
				s.save(ctx, settle, in.SetupID)
			}
		}
	}
	s.st.State, s.st.NextAction = s.outcome, "none"
	if !closeLate {
		// A checkout-url update still in flight must get its answer.
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return SaveCardResult{}, err
		}
	}
	return SaveCardResult{State: s.outcome, CardBrand: s.st.CardBrand, CardLast4: s.st.CardLast4, Reason: s.reason}, nil
}

// save reads the completed setup's card back and saves it as the auto
// top-up card, then tells auto top-up; a card that cannot be read fails the
// setup.
func (s *saveCard) save(ctx workflow.Context, settle workflow.Context, setupID string) {
	var a *activities.Activities
	s.st.NextAction = "save the card"
	var card activities.SaveSetupCardResult
	err := workflow.ExecuteActivity(settle, a.SaveSetupCard, activities.SaveSetupCardInput{SetupID: setupID, SetupIntentID: s.st.SetupIntentID}).Get(ctx, &card)
	if err != nil {
		s.st.LastError = err.Error()
		s.outcome, s.reason = CardSetupFailed, "the saved card could not be read from the payment provider"
		return
	}
	s.st.CardBrand, s.st.CardLast4 = card.Brand, card.Last4
	s.st.NextAction = "tell auto top-up about the new card"
	s.cardUpdated(ctx)
}

// drainEvents applies every event already signalled.
func (s *saveCard) drainEvents(ctx workflow.Context) int {
	return drainSignal(ctx, SignalSaveCardCheckoutEvent, s.onEvent)
}

// validateEvent admits a setup event to the deliver update only when it
// can be applied.
func (s *saveCard) validateEvent(_ workflow.Context, ev SetupEvent) error {
	return requireEvent(ev.EventID, ev.Type)
}

// deliverEvent is the webhook's way in (UpdateSaveCardCheckoutEvent): the
// event is applied before the answer.
func (s *saveCard) deliverEvent(_ workflow.Context, ev SetupEvent) (EventReceipt, error) {
	s.onEvent(ev)
	s.wake.SendAsync(true)
	return EventReceipt{State: s.st.State, Decided: s.outcome}, nil
}

// checkoutLink answers UpdateSaveCardCheckoutURL once the session exists.
func (s *saveCard) checkoutLink(ctx workflow.Context) (CheckoutLink, error) {
	if err := workflow.Await(ctx, func() bool { return s.st.CheckoutURL != "" || s.outcome != "" }); err != nil {
		return CheckoutLink{}, err
	}
	if s.st.CheckoutURL == "" {
		return CheckoutLink{}, temporal.NewApplicationError(checkoutFailedMessage, errTypeCheckoutFailed)
	}
	return CheckoutLink{URL: s.st.CheckoutURL, SessionID: s.st.CheckoutSessionID, ExpiresAt: s.st.ExpiresAt}, nil
}

// await waits for a completed or expired checkout event, or until
// deadline: then the setup has expired.
func (s *saveCard) await(ctx workflow.Context, deadline time.Time) {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	wait := max(deadline.Sub(workflow.Now(ctx)), time.Second)
	timer := workflow.NewTimer(timerCtx, wait)
	events := workflow.GetSignalChannel(ctx, SignalSaveCardCheckoutEvent)
	for s.outcome == "" {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) {
			var ev SetupEvent
			c.Receive(ctx, &ev)
			s.onEvent(ev)
		})
		sel.AddReceive(s.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddFuture(timer, func(workflow.Future) {
			s.decide(CardSetupExpired, "setup checkout expired without a card")
		})
		sel.Select(ctx)
	}
}

// onEvent applies one webhook event. Events may repeat; the first that
// decides wins.
func (s *saveCard) onEvent(ev SetupEvent) {
	s.st.EventsSeen++
	s.st.LastEvent = ev.Type
	if ev.SessionID != "" && s.st.CheckoutSessionID != "" && ev.SessionID != s.st.CheckoutSessionID {
		s.st.LastError = "ignored an event for another checkout session: " + ev.SessionID
		return
	}
	switch ev.Type {
	case EventCheckoutCompleted:
		if ev.SetupIntentID == "" {
			s.st.LastError = ev.Type + " carried no setup intent"
			return
		}
		if s.outcome == "" || (s.outcome == CardSetupExpired && !s.lateSaved) {
			s.st.SetupIntentID = ev.SetupIntentID
			s.lateSaved = s.outcome == CardSetupExpired
		}
		s.decide(CardSetupSaved, "")
	case EventCheckoutExpired:
		s.decide(CardSetupExpired, "setup checkout expired without a card")
	}
}

func (s *saveCard) decide(outcome, reason string) {
	if s.outcome == "" {
		s.outcome, s.reason = outcome, reason
	}
}

// cardUpdated sends the account's AutoTopUp workflow card-updated, as
// autotopup.CardUpdated does from the API. No AutoTopUp running is normal:
// the card is saved either way, so a failed signal is only noted.
func (s *saveCard) cardUpdated(ctx workflow.Context) {
	err := workflow.SignalExternalWorkflow(ctx, AutoTopUpWorkflowID(s.st.AccountID), "", SignalAutoTopUpCardUpdated, nil).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Info("no auto top-up to tell about the new card", "account_id", s.st.AccountID, "error", err)
	}
}
