package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path"
	"reflect"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// DownloadTimeout bounds the time a download may take to build and send;
// it replaces the server's write timeout for that response.
const DownloadTimeout = 15 * time.Minute

// Attachment is a file built for one response and streamed to it (an
// Excel export): Close removes whatever it kept while it was built.
type Attachment interface {
	io.WriterTo
	io.Closer
	// Name is the suggested file name.
	Name() string
	ContentType() string
}

// Attach answers the attachment (an Excel export) that call builds from the
// request, decoded into In as for OK. The response may take
// DownloadTimeout. what names the download in the log lines, which also
// carry the decoded input.
func Attach[C, In any](a Adapter[C], what string, call func(ctx context.Context, caller C, in In) (Attachment, error)) gin.HandlerFunc {
	dec := newDecoder(reflect.TypeFor[In]())
	return func(c *gin.Context) {
		caller, in, ok := request[C, In](a, dec, c)
		if !ok {
			return
		}
		download(c, a.log, what, func(ctx context.Context) (Attachment, error) { return call(ctx, caller, in) }, "input", in)
	}
}

// download answers the attachment that build makes, or build's error as
// any endpoint's.
func download(c *gin.Context, log *slog.Logger, what string, build func(ctx context.Context) (Attachment, error), attrs ...any) {
	// A big export takes longer than an ordinary response may.
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetWriteDeadline(time.Now().Add(DownloadTimeout))
	ctx := c.Request.Context()
	start := time.Now()
	a, err := build(ctx)
	if err != nil {
		Fail(c, log, err)
		return
	}
	defer func() {
		if err := a.Close(); err != nil {
			log.WarnContext(ctx, "could not remove a download's temporary files", "what", what, "err", err)
		}
	}()
	c.Header("Content-Type", a.ContentType())
	c.Header("Content-Disposition", contentDisposition(a.Name()))
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	n, err := a.WriteTo(c.Writer)
	if err != nil {
		// The status line is gone: all we can do is cut the response short.
		log.WarnContext(ctx, "download interrupted", append(attrs, "what", what, "bytes", n, "err", err)...)
		c.Abort()
		return
	}
	log.InfoContext(ctx, "download sent", append(attrs, "what", what, "bytes", n, "duration_ms", time.Since(start).Milliseconds())...)
}

// contentDisposition names the attachment: an ASCII fallback and the real
// name in RFC 5987 encoding.
func contentDisposition(name string) string {
	fallback := "export"
	if ext := path.Ext(name); encodeRFC5987(ext) == ext {
		fallback += ext
	}
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + encodeRFC5987(name)
}

// encodeRFC5987 percent-encodes every byte outside RFC 5987's attr-char.
func encodeRFC5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("!#$&+-.^_`|~", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}
