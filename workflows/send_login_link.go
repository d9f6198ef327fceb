package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// LoginLinkDeliveryWindow is how long SendLoginLink keeps retrying a mail
// that does not go through. Each attempt mints a fresh link, so the one
// that finally arrives is valid for its full lifetime.
const LoginLinkDeliveryWindow = time.Hour

// SendLoginLinkInput names who gets which link. It holds no secret: the
// link's secret is made inside the activity, so it never enters history.
type SendLoginLinkInput struct {
	Kind   activities.LinkKind
	UserID int64
	Email  string
	// BaseURL is PUBLIC_BASE_URL, where the link points.
	BaseURL string
	// Next is the same-site path to land on after signing in.
	Next string
}

// SendLoginLinkResult reports whether a mail went out, or why not.
type SendLoginLinkResult struct {
	Sent    bool
	Skipped string
	At      time.Time
}

// SendLoginLink mails a magic sign-in, sign-up confirmation or password
// reset link. Delivery retries with backoff for LoginLinkDeliveryWindow;
// after that the workflow fails, visibly, for ops. A user who is gone or
// disabled by the time the mail would go is a result (Skipped), not a
// failure.
func SendLoginLink(ctx workflow.Context, in SendLoginLinkInput) (SendLoginLinkResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: LoginLinkDeliveryWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			// The window above is what ends retries (about 17 attempts);
			// the cap only makes that bound explicit, and testable.
			MaximumAttempts:        100,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadLinkRequest},
		},
	})
	var a *activities.Activities
	var got activities.SendLoginLinkResult
	err := workflow.ExecuteActivity(ctx, a.SendLoginLink, activities.SendLoginLinkInput{
		Kind: in.Kind, UserID: in.UserID, Email: in.Email, BaseURL: in.BaseURL, Next: in.Next,
	}).Get(ctx, &got)
	if err != nil {
		return SendLoginLinkResult{}, err
	}
	if got.Skipped != "" {
		workflow.GetLogger(ctx).Warn("login link not sent", "kind", in.Kind, "user_id", in.UserID, "reason", got.Skipped)
	}
	return SendLoginLinkResult{Sent: got.Sent, Skipped: got.Skipped, At: workflow.Now(ctx)}, nil
}
