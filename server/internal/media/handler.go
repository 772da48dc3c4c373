package media

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/web"
)

// Handler serves the media endpoints.
type Handler struct {
	svc         *Service
	access      *Access
	log         *slog.Logger
	caller      func(*gin.Context) int64
	readTimeout time.Duration
}

// NewHandler returns the media HTTP handler; caller reads the signed-in
// user of a request, readTimeout is how long an upload may take to arrive
// (a phone on a slow network).
func NewHandler(svc *Service, access *Access, log *slog.Logger, caller func(*gin.Context) int64, readTimeout time.Duration) *Handler {
	return &Handler{svc: svc, access: access, log: log, caller: caller, readTimeout: readTimeout}
}

// BodyLimit is the request body limit of the upload route: the file's
// limit and room for the multipart framing and a few form fields.
func (h *Handler) BodyLimit() int64 { return h.svc.opts.MaxBytes + 64<<10 }

// Upload takes multipart/form-data with the image in the field "file", as
// wx.uploadFile sends it, and answers 201 with the stored item.
func (h *Handler) Upload(c *gin.Context) {
	// The listener's read timeout is for JSON bodies; an image from a
	// phone on a slow network takes longer (10 MB at 100 KB/s is 100 s).
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(time.Now().Add(h.readTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(h.readTimeout + 30*time.Second))
	raw, err := h.readFile(c.Request)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	v, err := h.svc.Upload(c.Request.Context(), h.caller(c), raw)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}

// readFile reads the part named file of a multipart body, up to MaxBytes.
func (h *Handler) readFile(r *http.Request) ([]byte, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, ErrNoFile
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, ErrNoFile
		}
		if err != nil {
			return nil, bodyError(err)
		}
		if part.FormName() != "file" {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, bodyError(err)
			}
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(part, h.svc.opts.MaxBytes+1))
		if err != nil {
			return nil, bodyError(err)
		}
		if int64(len(raw)) > h.svc.opts.MaxBytes {
			return nil, ErrTooLarge
		}
		return raw, nil
	}
}

func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return ErrTooLarge
	}
	return apperr.Wrap(err, apperr.KindInvalid, "invalid_argument", "上传内容不完整，请重试")
}

// Signed serves a request that carries a signed URL's token (?t=) and ends
// it; a request without one goes on to the bearer-token check.
func (h *Handler) Signed(thumb bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := c.GetQuery("t")
		if !ok {
			c.Next()
			return
		}
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id < 1 || strconv.FormatInt(id, 10) != c.Param("id") {
			web.Fail(c, h.log, ErrNotFound)
			return
		}
		obj, err := h.access.OpenSigned(c.Request.Context(), id, thumb, token)
		if err != nil {
			web.Fail(c, h.log, err)
			return
		}
		c.Abort()
		c.Render(http.StatusOK, answer{obj})
	}
}

// Get serves the image to a signed-in user who may see it.
func (h *Handler) Get(ctx context.Context, userID int64, in web.ID) (answer, error) {
	obj, err := h.access.Open(ctx, userID, in.ID, false)
	return answer{obj}, err
}

// Thumb serves the thumbnail to a signed-in user who may see the image.
func (h *Handler) Thumb(ctx context.Context, userID int64, in web.ID) (answer, error) {
	obj, err := h.access.Open(ctx, userID, in.ID, true)
	return answer{obj}, err
}

// answer renders an Object: a redirect or the bytes, privately cacheable
// for no longer than the URL works.
type answer struct{ obj Object }

func (a answer) Render(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(a.obj.MaxAge.Seconds())))
	if a.obj.Redirect != "" {
		h.Set("Location", a.obj.Redirect)
		w.WriteHeader(http.StatusFound)
		return nil
	}
	defer a.obj.Body.Close()
	h.Set("Content-Type", a.obj.ContentType)
	h.Set("Content-Length", strconv.FormatInt(a.obj.Size, 10))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, err := io.Copy(w, a.obj.Body)
	return err
}

func (a answer) WriteContentType(http.ResponseWriter) {}
