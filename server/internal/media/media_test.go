package media_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"xianfeng/config"
	"xianfeng/server/internal/contract"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/testenv"
)

// mediaJSON is a media item as answers show it.
type mediaJSON = media.View

// world is the small tree (testenv.Tree) with a clock the test moves.
type world struct {
	*testenv.World
	clock *testenv.Clock
	// get fetches without following redirects, through the contract check.
	get *http.Client
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newWorld(t *testing.T, configure func(*config.Config)) *world {
	t.Helper()
	clock := testenv.NewClock(start)
	w := testenv.NewWorld(t, testenv.Options{Now: clock.Now, Configure: configure})
	return &world{World: w, clock: clock, get: &http.Client{
		Transport:     contract.NewTransport(t, nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

// In returns a copy of the world whose helpers fail t, for a subtest.
func (w *world) In(t *testing.T) *world {
	c := *w
	c.World = w.World.In(t)
	return &c
}

// s3World is a world whose media live in a bucket of an in-process S3
// server (gofakes3), reached over HTTP by the real minio client.
func s3World(t *testing.T) *world {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("xf-media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	return newWorld(t, func(c *config.Config) {
		c.Media.URL = "s3://xf-media?endpoint=" + host + "&region=us-east-1&secure=false"
		c.Media.AccessKey, c.Media.SecretKey = "test-access", "test-secret-key"
	})
}

func (w *world) upload(p testenv.Person, data []byte) testenv.Response {
	w.T().Helper()
	body, ct := multipartBody(w.T().(*testing.T), "file", data, "")
	return w.DoWith("POST", "/api/v1/media", p.Token, body, map[string]string{"Content-Type": ct})
}

func (w *world) uploaded(p testenv.Person, data []byte) mediaJSON {
	w.T().Helper()
	var m mediaJSON
	w.Expect(w.upload(p, data), http.StatusCreated).JSON(w.T(), &m)
	return m
}

// fetch GETs path (an answer's url, or /api/v1/media/{id}) with an optional
// bearer token; a redirect to a presigned URL is followed with a plain
// client, as a phone's image loader would.
func (w *world) fetch(path, token string) (status int, header http.Header, body []byte) {
	w.T().Helper()
	req, _ := http.NewRequest("GET", w.Server.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := w.get.Do(req)
	if err != nil {
		w.T().Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusFound {
		if !strings.Contains(resp.Header.Get("Location"), "X-Amz-Signature=") {
			w.T().Fatalf("redirect to %q, not a presigned URL", resp.Header.Get("Location"))
		}
		obj, err := http.Get(resp.Header.Get("Location"))
		if err != nil {
			w.T().Fatal(err)
		}
		defer obj.Body.Close()
		data, _ := io.ReadAll(obj.Body)
		if obj.StatusCode != http.StatusOK {
			w.T().Fatalf("presigned URL answered %d: %s", obj.StatusCode, data)
		}
		return http.StatusOK, resp.Header, data
	}
	return resp.StatusCode, resp.Header, body
}

func decode(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("stored image does not decode: %v", err)
	}
	return img
}

func TestUploadsAreRecognisedByContent(t *testing.T) {
	w := newWorld(t, func(c *config.Config) { c.Media.MaxBytes = 64 << 10 })
	noise := make([]byte, 100<<10)
	for i := range noise {
		noise[i] = byte(i * 7)
	}
	tests := []struct {
		name   string
		data   []byte
		status int
		code   string
		stored string
	}{
		{"a JPEG named .txt is a JPEG", jpegOf(t, halves(64, 32)), http.StatusCreated, "", "image/jpeg"},
		{"a PNG stays a PNG", pngOf(t, halves(64, 32)), http.StatusCreated, "", "image/png"},
		{"a WebP is stored as JPEG", webp1x1(t), http.StatusCreated, "", "image/jpeg"},
		{"a GIF is refused", gifOf(t, halves(16, 16)), http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"text is refused whatever its name", []byte("<html>not a photo</html>"), http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"a cut-off JPEG does not decode", jpegOf(t, halves(64, 32))[:300], http.StatusBadRequest, "image_undecodable", ""},
		{"a pixel bomb is refused before decoding", pixelBomb(t, 8000, 6000), http.StatusBadRequest, "image_too_many_pixels", ""},
		{"a file over the limit is 413", append(jpegOf(t, halves(64, 32)), noise...), http.StatusRequestEntityTooLarge, "payload_too_large", ""},
		{"a body far over the limit is 413", append(jpegOf(t, halves(64, 32)), bytes.Repeat(noise, 3)...), http.StatusRequestEntityTooLarge, "payload_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := w.In(t)
			r := w.upload(w.MemberA, tt.data)
			if r.Status != tt.status || r.ErrorCode() != tt.code {
				t.Fatalf("upload: %d %s, want %d %q", r.Status, r.Body, tt.status, tt.code)
			}
			if tt.status != http.StatusCreated {
				return
			}
			var m mediaJSON
			r.JSON(t, &m)
			if m.ContentType != tt.stored || m.CheckState != media.CheckPass || len(m.SHA256) != 64 || m.ExpiresAt.IsZero() {
				t.Errorf("answer %+v, want content_type %s", m, tt.stored)
			}
		})
	}
	t.Run("a body without the file field is 400", func(t *testing.T) {
		w := w.In(t)
		body, ct := multipartBody(t, "photo", jpegOf(t, halves(8, 8)), "")
		r := w.DoWith("POST", "/api/v1/media", w.MemberA.Token, body, map[string]string{"Content-Type": ct})
		if r.Status != http.StatusBadRequest {
			t.Errorf("upload without file: %d %s", r.Status, r.Body)
		}
	})
	t.Run("formData fields beside the file are ignored", func(t *testing.T) {
		w := w.In(t)
		// The contract check cannot decode a multipart field it has no
		// schema for (openapi.yaml allows any), so this one goes unchecked.
		body, ct := multipartBody(t, "file", jpegOf(t, halves(8, 8)), "现场照片")
		r := w.Unchecked().DoWith("POST", "/api/v1/media", w.MemberA.Token, body, map[string]string{"Content-Type": ct})
		if r.Status != http.StatusCreated {
			t.Errorf("upload with a formData field: %d %s", r.Status, r.Body)
		}
	})
}

func TestUploadsAreLimitedPerUser(t *testing.T) {
	w := newWorld(t, func(c *config.Config) { c.Media.UploadsPerMinute = 2 })
	img := jpegOf(t, halves(8, 8))
	w.uploaded(w.MemberA, img)
	w.uploaded(w.MemberA, img)
	if r := w.upload(w.MemberA, img); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("third upload in a minute: %d %s", r.Status, r.Body)
	}
	w.uploaded(w.MemberB, img) // another member is not held back
}

func TestStoredPhotosLoseTheirMetadataAndStandUpright(t *testing.T) {
	w := newWorld(t, nil)
	// 40×20, left half red, taken with the phone turned: orientation 6 says
	// "turn 90° clockwise to show", so the stored photo is 20×40, red on top.
	raw := withEXIF(t, jpegOf(t, halves(40, 20)), 6)
	if !bytes.Contains(raw, []byte(gpsMark)) {
		t.Fatal("the test photo lacks its GPS block")
	}
	m := w.uploaded(w.MemberA, raw)
	if m.Width != 20 || m.Height != 40 {
		t.Errorf("stored %d×%d, want 20×40 (upright)", m.Width, m.Height)
	}
	status, header, data := w.fetch(m.URL, "")
	if status != http.StatusOK {
		t.Fatalf("signed url: %d %s", status, data)
	}
	for _, leak := range []string{gpsMark, "Exif", "\xFF\xE1"} {
		if bytes.Contains(data, []byte(leak)) {
			t.Errorf("the stored photo still contains %q", leak)
		}
	}
	if header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("Content-Type %q", header.Get("Content-Type"))
	}
	img := decode(t, data)
	if b := img.Bounds(); b.Dx() != 20 || b.Dy() != 40 {
		t.Fatalf("stored image is %v", b)
	}
	if r, _, bl, _ := img.At(10, 5).RGBA(); r < bl {
		t.Errorf("top of the stored photo is not red: the orientation was not applied")
	}
	if r, _, bl, _ := img.At(10, 35).RGBA(); bl < r {
		t.Errorf("bottom of the stored photo is not blue")
	}

	t.Run("the thumbnail is 320 px on its long side", func(t *testing.T) {
		w := w.In(t)
		m := w.uploaded(w.MemberA, jpegOf(t, halves(1000, 500)))
		status, _, data := w.fetch(m.ThumbURL, "")
		if status != http.StatusOK {
			t.Fatalf("thumb: %d", status)
		}
		if b := decode(t, data).Bounds(); b.Dx() != 320 || b.Dy() != 160 {
			t.Errorf("thumbnail is %v, want 320×160", b)
		}
	})
}

// report files a report by p with the media ids.
func (w *world) report(p testenv.Person, mediaIDs []int64) testenv.Response {
	w.T().Helper()
	return w.DoAs("POST", "/api/v1/reports", p, map[string]any{"category": "help_needed", "urgency": "normal",
		"content": "独居老人需要送药", "request_id": fmt.Sprintf("r-%d-%d", p.ID, time.Now().UnixNano()), "media_ids": mediaIDs})
}

func TestMediaAreAttachedOnceByTheirUploader(t *testing.T) {
	w := newWorld(t, nil)
	img := jpegOf(t, halves(16, 16))
	ids := func(n int, p testenv.Person) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = w.uploaded(p, img).ID
		}
		return out
	}
	mine := ids(10, w.MemberA)

	t.Run("ten photos are too many", func(t *testing.T) {
		w := w.In(t)
		if r := w.report(w.MemberA, mine); r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "too_many_media" {
			t.Errorf("10 photos: %d %s", r.Status, r.Body)
		}
	})
	t.Run("another member's photo is refused", func(t *testing.T) {
		w := w.In(t)
		theirs := ids(1, w.MemberB)
		if r := w.report(w.MemberA, append(mine[:1:1], theirs...)); r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "media_not_found" {
			t.Errorf("another's photo: %d %s", r.Status, r.Body)
		}
		if r := w.report(w.MemberA, []int64{999999}); r.ErrorCode() != "media_not_found" {
			t.Errorf("a missing photo: %d %s", r.Status, r.Body)
		}
	})
	var first struct {
		ID    int64       `json:"id"`
		Media []mediaJSON `json:"media"`
	}
	t.Run("nine photos go with a report, in order", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.report(w.MemberA, mine[:9]), http.StatusCreated).JSON(t, &first)
		if len(first.Media) != 9 || first.Media[0].ID != mine[0] || first.Media[8].ID != mine[8] || first.Media[0].URL == "" {
			t.Fatalf("report media: %+v", first.Media)
		}
	})
	t.Run("a photo attached once cannot be attached again, and nothing of the refused report stays", func(t *testing.T) {
		w := w.In(t)
		r := w.report(w.MemberA, []int64{mine[9], mine[0]})
		if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "media_already_attached" {
			t.Fatalf("attach again: %d %s", r.Status, r.Body)
		}
		var page struct {
			Items []struct{ ID int64 } `json:"items"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/reports", w.MemberA, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 1 {
			t.Errorf("reports after the refusal: %d, want 1", len(page.Items))
		}
		// mine[9] was not taken by the refused report: a deed can have it.
		var d struct {
			Media []mediaJSON `json:"media"`
		}
		w.Expect(w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "连续值守", "content": "在卡口连续值守七天",
			"media_ids": []int64{mine[9]}}), http.StatusCreated).JSON(t, &d)
		if len(d.Media) != 1 || d.Media[0].ID != mine[9] {
			t.Errorf("deed media: %+v", d.Media)
		}
	})
	t.Run("a report shows its photos to its secretary", func(t *testing.T) {
		w := w.In(t)
		photos := w.reportMedia(w.SecA, first.ID)
		if len(photos) != 9 {
			t.Fatalf("secretary sees %d photos", len(photos))
		}
		if status, _, _ := w.fetch(photos[0].ThumbURL, ""); status != http.StatusOK {
			t.Errorf("the secretary's signed thumb_url: %d", status)
		}
	})
}

func TestTaskCheckinAndCompletionCarryPhotos(t *testing.T) {
	w := newWorld(t, nil)
	var tk struct{ ID int64 }
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, map[string]any{"request_id": "t1", "title": "卡口值守",
		"kind": "duty", "target": map[string]any{"user_ids": []int64{w.MemberA.ID}}}), http.StatusCreated).JSON(t, &tk)
	w.Must(w.App.Task.FanOut(context.Background(), tk.ID))
	at := w.uploaded(w.MemberA, jpegOf(t, halves(16, 16)))
	done := w.uploaded(w.MemberA, jpegOf(t, halves(16, 16)))
	var step struct {
		Assignment struct {
			CheckinMedia  []mediaJSON `json:"checkin_media"`
			CompleteMedia []mediaJSON `json:"complete_media"`
		} `json:"assignment"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/tasks/%d/checkin", tk.ID), w.MemberA, map[string]any{"request_id": "c1",
		"media_ids": []int64{at.ID}}), http.StatusOK).JSON(t, &step)
	if len(step.Assignment.CheckinMedia) != 1 || step.Assignment.CheckinMedia[0].ID != at.ID {
		t.Errorf("check-in media: %+v", step.Assignment.CheckinMedia)
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/tasks/%d/complete", tk.ID), w.MemberA, map[string]any{"request_id": "d1",
		"media_ids": []int64{done.ID}}), http.StatusOK).JSON(t, &step)
	if len(step.Assignment.CompleteMedia) != 1 || len(step.Assignment.CheckinMedia) != 1 {
		t.Errorf("completion answer: %+v", step.Assignment)
	}
	for who, want := range map[string]int{"SecA": http.StatusOK, "RootSec": http.StatusOK, "SecB": http.StatusNotFound, "MemberB": http.StatusNotFound} {
		p := map[string]testenv.Person{"SecA": w.SecA, "RootSec": w.RootSec, "SecB": w.SecB, "MemberB": w.MemberB}[who]
		if status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d", done.ID), p.Token); status != want {
			t.Errorf("%s fetching a completion photo: %d, want %d", who, status, want)
		}
	}
}

// readAccess checks who may fetch a report's photo, with a bearer token
// and with signed URLs, on the world's store.
func readAccess(t *testing.T, w *world) {
	m := w.uploaded(w.MemberA, jpegOf(t, halves(32, 16)))
	loose := w.uploaded(w.MemberA, jpegOf(t, halves(32, 16)))
	var rep struct {
		Media []mediaJSON `json:"media"`
	}
	w.Expect(w.report(w.MemberA, []int64{m.ID}), http.StatusCreated).JSON(t, &rep)
	_, _, want := w.fetch(m.URL, "")
	if len(want) == 0 {
		t.Fatal("the uploader's signed url gave nothing")
	}
	for _, tc := range []struct {
		who    string
		p      testenv.Person
		status int
	}{
		{"the uploader", w.MemberA, http.StatusOK},
		{"the branch secretary", w.SecA, http.StatusOK},
		{"the root secretary", w.RootSec, http.StatusOK},
		{"another branch's secretary", w.SecB, http.StatusNotFound},
		{"another member", w.MemberB, http.StatusNotFound},
	} {
		t.Run(tc.who+" gets "+http.StatusText(tc.status), func(t *testing.T) {
			w := w.In(t)
			for _, path := range []string{"/api/v1/media/%d", "/api/v1/media/%d/thumb"} {
				status, header, body := w.fetch(fmt.Sprintf(path, m.ID), tc.p.Token)
				if status != tc.status {
					t.Fatalf("GET %s: %d, want %d", path, status, tc.status)
				}
				if status == http.StatusOK && !strings.HasPrefix(header.Get("Cache-Control"), "private, max-age=") {
					t.Errorf("Cache-Control %q", header.Get("Cache-Control"))
				}
				if status == http.StatusOK && strings.HasSuffix(path, "%d") && !bytes.Equal(body, want) {
					t.Errorf("the image differs from the uploader's")
				}
			}
		})
	}
	t.Run("an unattached photo is the uploader's alone", func(t *testing.T) {
		w := w.In(t)
		for _, p := range []testenv.Person{w.SecA, w.RootSec} {
			if status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d", loose.ID), p.Token); status != http.StatusNotFound {
				t.Errorf("a secretary fetching an unattached photo: %d", status)
			}
		}
		if status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d", loose.ID), w.MemberA.Token); status != http.StatusOK {
			t.Errorf("the uploader: %d", status)
		}
	})
	t.Run("no token and no signature is 401, a bad signature 404", func(t *testing.T) {
		w := w.In(t)
		if status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d", m.ID), ""); status != http.StatusUnauthorized {
			t.Errorf("no credentials: %d", status)
		}
		u, _ := url.Parse(m.URL)
		tok := u.Query().Get("t")
		bad := tok[:len(tok)-2] + "AA"
		if status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d?t=%s", m.ID, bad), ""); status != http.StatusNotFound {
			t.Errorf("altered signature: %d", status)
		}
		if status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d/thumb?t=%s", m.ID, tok), ""); status != http.StatusNotFound {
			t.Errorf("the image's signature used for the thumbnail: %d", status)
		}
	})
	t.Run("a photo found risky shows to its uploader only", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", "/api/v1/me/reports", w.MemberA, nil), http.StatusOK)
		secURL := w.reportMedia(w.SecA, reportOf(t, w))[0].URL
		w.Must(w.App.Media.SetCheckState(context.Background(), m.ID, media.CheckRisky))
		if status, _, _ := w.fetch(secURL, ""); status != http.StatusNotFound {
			t.Errorf("the secretary's signed url after the verdict: %d", status)
		}
		if status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d", m.ID), w.SecA.Token); status != http.StatusNotFound {
			t.Errorf("the secretary with a token: %d", status)
		}
		if n := len(w.reportMedia(w.SecA, reportOf(t, w))); n != 0 {
			t.Errorf("the secretary still sees %d photos", n)
		}
		if status, _, _ := w.fetch(m.URL, ""); status != http.StatusOK {
			t.Errorf("the uploader's signed url: %d", status)
		}
	})
}

// reportMedia is the photos of report id as p sees them.
func (w *world) reportMedia(p testenv.Person, id int64) []mediaJSON {
	w.T().Helper()
	var got struct {
		Report struct {
			Media []mediaJSON `json:"media"`
		} `json:"report"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/reports/%d", id), p, nil), http.StatusOK).JSON(w.T(), &got)
	return got.Report.Media
}

// reportOf is the id of MemberA's newest report.
func reportOf(t *testing.T, w *world) int64 {
	var page struct {
		Items []struct{ ID int64 } `json:"items"`
	}
	w.Expect(w.DoAs("GET", "/api/v1/me/reports", w.MemberA, nil), http.StatusOK).JSON(t, &page)
	return page.Items[0].ID
}

func TestReadAccessOnDisk(t *testing.T) { readAccess(t, newWorld(t, nil)) }

func TestReadAccessOnS3(t *testing.T) {
	w := s3World(t)
	readAccess(t, w)
	t.Run("the API redirects to a short-lived presigned URL", func(t *testing.T) {
		w := w.In(t)
		m := w.uploaded(w.MemberA, jpegOf(t, halves(16, 16)))
		req, _ := http.NewRequest("GET", w.Server.URL+m.URL, nil)
		resp, err := w.get.Do(req)
		w.Must(err)
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("X-Amz-Expires") != "600" {
			t.Errorf("answer %d, Location %q: want 302 to a URL presigned for 600 s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestSignedURLsExpire(t *testing.T) {
	for name, w := range map[string]*world{"disk": newWorld(t, nil), "s3": s3World(t)} {
		t.Run("on "+name, func(t *testing.T) {
			w := w.In(t)
			m := w.uploaded(w.MemberA, jpegOf(t, halves(16, 16)))
			if want := start.Add(10 * time.Minute); !m.ExpiresAt.Equal(want) {
				t.Errorf("expires_at %s, want %s", m.ExpiresAt, want)
			}
			w.clock.Add(4 * time.Minute)
			status, header, _ := w.fetch(m.URL, "")
			if status != http.StatusOK || header.Get("Cache-Control") != "private, max-age=360" {
				t.Errorf("after 4 minutes: %d, Cache-Control %q (want max-age=360)", status, header.Get("Cache-Control"))
			}
			w.clock.Add(6 * time.Minute)
			if status, _, _ := w.fetch(m.URL, ""); status != http.StatusNotFound {
				t.Errorf("after 10 minutes: %d, want 404", status)
			}
			if status, _, _ := w.fetch(m.ThumbURL, ""); status != http.StatusNotFound {
				t.Errorf("thumb after 10 minutes: %d, want 404", status)
			}
			w.clock.Set(start)
		})
	}
}

func TestUnattachedUploadsAreDeletedAfterADay(t *testing.T) {
	w := newWorld(t, nil)
	img := jpegOf(t, halves(16, 16))
	kept := w.uploaded(w.MemberA, img)
	loose := w.uploaded(w.MemberA, img)
	w.Expect(w.report(w.MemberA, []int64{kept.ID}), http.StatusCreated)
	fetch := func(id int64) int {
		status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d", id), w.MemberA.Token)
		return status
	}
	ctx := context.Background()
	row, err := w.App.Media.Get(ctx, loose.ID)
	w.Must(err)
	disk := media.NewDisk(strings.TrimPrefix(w.App.Config.Media.URL, "file:"))
	if _, _, err := disk.Open(ctx, row.ThumbKey); err != nil {
		t.Fatalf("the upload's thumbnail is not on disk: %v", err)
	}
	w.clock.Add(23 * time.Hour)
	w.Must(w.App.Media.Sweep(ctx))
	if fetch(loose.ID) != http.StatusOK {
		t.Fatal("an upload of 23 hours ago was deleted")
	}
	w.clock.Add(2 * time.Hour)
	w.Must(w.App.Media.Sweep(ctx))
	if s := fetch(loose.ID); s != http.StatusNotFound {
		t.Errorf("an unattached upload of 25 hours ago: %d, want 404", s)
	}
	if s := fetch(kept.ID); s != http.StatusOK {
		t.Errorf("an attached upload of 25 hours ago: %d, want 200", s)
	}
	// Its bytes are gone too, not only its row.
	for _, key := range []string{row.Key, row.ThumbKey} {
		if _, _, err := disk.Open(ctx, key); err == nil {
			t.Errorf("the deleted upload's object %s is still on disk", key)
		}
	}
	if w.report(w.MemberA, []int64{loose.ID}).ErrorCode() != "media_not_found" {
		t.Error("a deleted upload could still be attached")
	}
}

func TestAContentCheckGetsAURLOfItsOwn(t *testing.T) {
	w := newWorld(t, nil)
	m := w.uploaded(w.MemberA, jpegOf(t, halves(16, 16)))
	row, err := w.App.Media.Get(context.Background(), m.ID)
	w.Must(err)
	u := w.App.Media.SignedURL(row, false, time.Hour)
	w.clock.Add(30 * time.Minute) // longer than an answer's URLs live
	if status, _, _ := w.fetch(u, ""); status != http.StatusOK {
		t.Errorf("the check's URL after 30 minutes: %d", status)
	}
	w.clock.Add(31 * time.Minute)
	if status, _, _ := w.fetch(u, ""); status != http.StatusNotFound {
		t.Errorf("the check's URL after its hour: %d", status)
	}
}

func TestAFormEntryCarriesPhotos(t *testing.T) {
	w := newWorld(t, nil)
	var f struct{ ID int64 }
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/forms", w.A), w.SecA, map[string]any{"title": "排查登记", "mode": "entries",
		"fields": []map[string]any{{"key": "note", "label": "情况", "type": "text", "required": true}}}), http.StatusCreated).JSON(t, &f)
	m := w.uploaded(w.MemberA, jpegOf(t, halves(16, 16)))
	entry := func(id string, media []int64) testenv.Response {
		return w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), w.MemberA, map[string]any{"request_id": id,
			"answers": map[string]any{"note": "3号楼门口张贴告示"}, "media_ids": media})
	}
	var e struct {
		ID    int64       `json:"id"`
		Media []mediaJSON `json:"media"`
	}
	w.Expect(entry("e1", []int64{m.ID}), http.StatusCreated).JSON(t, &e)
	if len(e.Media) != 1 || e.Media[0].ID != m.ID {
		t.Fatalf("entry media: %+v", e.Media)
	}
	// A retry answers the first entry with its photo, whatever it sends.
	var again struct {
		Media []mediaJSON `json:"media"`
	}
	w.Expect(entry("e1", nil), http.StatusOK).JSON(t, &again)
	if len(again.Media) != 1 || again.Media[0].ID != m.ID {
		t.Errorf("the retry's media: %+v", again.Media)
	}
	if r := entry("e2", []int64{m.ID}); r.ErrorCode() != "media_already_attached" {
		t.Errorf("the same photo on a second entry: %d %s", r.Status, r.Body)
	}
	var rows struct {
		Items []struct {
			ID    int64       `json:"id"`
			Media []mediaJSON `json:"media"`
		} `json:"items"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), w.SecA, nil), http.StatusOK).JSON(t, &rows)
	if len(rows.Items) != 1 || len(rows.Items[0].Media) != 1 {
		t.Errorf("the secretary's list: %+v", rows.Items)
	}
	for who, want := range map[string]int{"SecA": http.StatusOK, "SecB": http.StatusNotFound} {
		p := map[string]testenv.Person{"SecA": w.SecA, "SecB": w.SecB}[who]
		if status, _, _ := w.fetch(fmt.Sprintf("/api/v1/media/%d", m.ID), p.Token); status != want {
			t.Errorf("%s fetching an entry's photo: %d, want %d", who, status, want)
		}
	}
}
