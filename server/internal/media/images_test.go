package media_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/textproto"
	"testing"
)

// red and blue are the two halves of the test photos, so that a test can
// tell which way up a stored image is.
var (
	red  = color.RGBA{R: 220, A: 255}
	blue = color.RGBA{B: 220, A: 255}
)

// halves is a w×h image, its left half red and its right half blue.
func halves(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := red
			if x >= w/2 {
				c = blue
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func jpegOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gpsMark is the position written into the test photo's GPS block; the
// stored image must not contain it.
const gpsMark = "XF-GPS-36.0671N1"

// withEXIF puts an EXIF block right after a JPEG's SOI marker: IFD0 with
// the Orientation tag and a pointer to a GPS IFD that holds a latitude
// reference and gpsMark (as GPSMapDatum), as a phone camera writes them.
func withEXIF(t *testing.T, jpg []byte, orientation uint16) []byte {
	t.Helper()
	le := binary.LittleEndian
	tiff := []byte("II*\x00")
	tiff = le.AppendUint32(tiff, 8) // IFD0 at 8
	// IFD0: 2 entries (8 + 2 + 24 + 4 = 38), GPS IFD at 38: 2 entries (38 + 2 + 24 + 4 = 68), mark at 68.
	tiff = le.AppendUint16(tiff, 2)
	tiff = append(tiff, entry(0x0112, 3, 1, uint32(orientation))...)
	tiff = append(tiff, entry(0x8825, 4, 1, 38)...)
	tiff = le.AppendUint32(tiff, 0)
	tiff = le.AppendUint16(tiff, 2)
	tiff = append(tiff, entry(0x0001, 2, 2, uint32('N'))...)
	tiff = append(tiff, entry(0x0012, 2, uint32(len(gpsMark)), 68)...)
	tiff = le.AppendUint32(tiff, 0)
	tiff = append(tiff, gpsMark...)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1}
	app1 = binary.BigEndian.AppendUint16(app1, uint16(len(seg)+2))
	app1 = append(app1, seg...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, app1...)
	return append(out, jpg[2:]...)
}

func entry(tag, typ uint16, count, value uint32) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, tag)
	b = le.AppendUint16(b, typ)
	b = le.AppendUint32(b, count)
	return le.AppendUint32(b, value)
}

// pixelBomb is a small PNG whose header claims width × height pixels.
func pixelBomb(t *testing.T, width, height uint32) []byte {
	t.Helper()
	raw := pngOf(t, halves(4, 4))
	// IHDR is the first chunk: length(4) type(4) at 8, data from 16.
	binary.BigEndian.PutUint32(raw[16:], width)
	binary.BigEndian.PutUint32(raw[20:], height)
	binary.BigEndian.PutUint32(raw[29:], crc32.ChecksumIEEE(raw[12:29]))
	return raw
}

// webp1x1 is a lossless 1×1 WebP image (Go can decode WebP, not write it).
func webp1x1(t *testing.T) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// multipartBody is a body as wx.uploadFile sends it: the file under field
// (with a file name and part type that say nothing true), after a formData
// field when note is not empty.
func multipartBody(t *testing.T, field string, data []byte, note string) (body []byte, contentType string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if note != "" {
		if err := w.WriteField("note", note); err != nil {
			t.Fatal(err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="tmp_1234.txt"`)
	h.Set("Content-Type", "application/octet-stream")
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}
