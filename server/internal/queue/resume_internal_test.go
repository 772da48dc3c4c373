package queue

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hibiken/asynq"
)

func TestRetryDelay(t *testing.T) {
	task := asynq.NewTask("test", nil)
	t.Run("a job whose worker died runs again at once", func(t *testing.T) {
		if d := retryDelay(0, fmt.Errorf("recovered: %w", asynq.ErrLeaseExpired), task); d != 0 {
			t.Errorf("delay %v, want 0", d)
		}
	})
	t.Run("a job that failed keeps asynq's back-off", func(t *testing.T) {
		if d := retryDelay(0, errors.New("database unavailable"), task); d <= 0 {
			t.Errorf("delay %v, want a back-off", d)
		}
	})
}
