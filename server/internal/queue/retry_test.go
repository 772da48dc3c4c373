package queue

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

func TestRetryAfterSetsTheDelay(t *testing.T) {
	held := errors.New("held by another worker")
	if got := retryDelay(1, fmt.Errorf("job: %w", RetryAfter(held, 10*time.Second)), nil); got != 10*time.Second {
		t.Errorf("a RetryAfter(10s) error is retried after %v, want 10s", got)
	}
	if !errors.Is(RetryAfter(held, time.Second), held) {
		t.Error("RetryAfter hides its cause from errors.Is")
	}
	if got := retryDelay(3, asynq.ErrLeaseExpired, nil); got != 0 {
		t.Errorf("a job whose worker died waits %v, want 0", got)
	}
	if got := retryDelay(1, held, nil); got < 15*time.Second {
		t.Errorf("a plain failure is retried after %v, want asynq's back-off (at least 15 s)", got)
	}
}
