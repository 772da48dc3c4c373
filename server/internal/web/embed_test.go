package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/web"
)

// Place is a part of a body that endpoints share, embedded in their inputs.
type Place struct {
	Lat     *float64 `json:"lat"`
	Address string   `json:"address"`
}

type placeInput struct {
	ID int64 `path:"id"`
	Place
	Note string `json:"note"`
}

func TestEndpointReadsAnEmbeddedBodyPart(t *testing.T) {
	var got placeInput
	h := web.OK(adapter(), func(_ context.Context, _ int64, in placeInput) (gin.H, error) {
		got = in
		return gin.H{"ok": true}, nil
	})
	w := serve(t, "/x/:id", h, http.MethodPost, "/x/4", `{"lat":1.5,"address":"a\r\nb","note":"n"}`)
	if w.Code != http.StatusOK || got.ID != 4 || got.Lat == nil || *got.Lat != 1.5 || got.Address != "a\nb" || got.Note != "n" {
		t.Fatalf("answer = %d %s, input %+v", w.Code, w.Body, got)
	}
	// Its fields are named as the client wrote them, as a flat body's are.
	for body, want := range map[string]string{
		`{"lat":"north"}`:       `"lat":"类型错误，应为数字"`,
		`{"address":"a\u0000"}`: `"address":`,
	} {
		if w := serve(t, "/x/:id", h, http.MethodPost, "/x/4", body); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: answer = %d %s, want 400 naming %s", body, w.Code, w.Body, want)
		}
	}
}

func TestEndpointRefusesAnEmbeddedStructWithParameters(t *testing.T) {
	// Exported, so that the refusal is the embedded-struct rule's and not
	// the one of an unexported field.
	type PathPart struct {
		ID int64 `path:"id"`
	}
	call := func(context.Context, int64, struct{ PathPart }) (int, error) { return 0, nil }
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "is not a struct of body fields") {
			t.Errorf("registration panicked with %v, want the refusal of an embedded struct that is not all body fields", r)
		}
	}()
	web.OK(adapter(), call)
}
