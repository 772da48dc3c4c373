package apperr_test

import (
	"errors"
	"io"
	"testing"

	"xianfeng/server/internal/apperr"
)

func TestAnnotate(t *testing.T) {
	t.Run("names the operation and keeps the cause", func(t *testing.T) {
		err := error(io.ErrUnexpectedEOF)
		apperr.Annotate(&err, "task.Cancel(%d)", 7)
		if got, want := err.Error(), "task.Cancel(7): unexpected EOF"; got != want {
			t.Fatalf("err = %q, want %q", got, want)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("errors.Is lost the cause: %v", err)
		}
	})
	t.Run("leaves nil alone", func(t *testing.T) {
		var err error
		apperr.Annotate(&err, "op")
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
	})
	t.Run("leaves a domain error as it is", func(t *testing.T) {
		err := error(apperr.ErrNotFound)
		apperr.Annotate(&err, "op")
		if err != error(apperr.ErrNotFound) {
			t.Fatalf("err = %v, want the *Error itself", err)
		}
	})
}
