package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder with package image
)

// ThumbSide is the long side of a thumbnail, in pixels.
const ThumbSide = 320

// jpegQuality is the quality of every JPEG the server writes.
const jpegQuality = 85

// processed is an upload as it is stored: the re-encoded image without
// metadata, upright, and its thumbnail.
type processed struct {
	data        []byte
	contentType string
	width       int
	height      int
	thumb       []byte
}

// formats maps what http.DetectContentType finds in the first bytes to the
// name package image gives the decoder.
var formats = map[string]string{"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp"}

// process recognises raw by its content, decodes it (at most Decoders at a
// time in this process, and only if its header promises no more than
// MaxPixels), turns it upright by its EXIF orientation and re-encodes it:
// PNG stays PNG, JPEG and WebP (which Go cannot write) become JPEG. Nothing
// of the original's metadata survives, EXIF and GPS position included.
func (s *Service) process(ctx context.Context, raw []byte) (processed, error) {
	detected := http.DetectContentType(raw)
	format, ok := formats[detected]
	if !ok {
		return processed{}, ErrUnsupported
	}
	select {
	case s.decode <- struct{}{}:
		defer func() { <-s.decode }()
	case <-ctx.Done():
		return processed{}, ctx.Err()
	}
	cfg, name, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil || name != format || cfg.Width <= 0 || cfg.Height <= 0 {
		return processed{}, ErrUndecodable
	}
	if int64(cfg.Width)*int64(cfg.Height) > s.opts.MaxPixels {
		return processed{}, ErrTooManyPixels
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return processed{}, ErrUndecodable
	}
	keepAlpha := format == "png"
	upright := orient(flatten(img, !keepAlpha), exifOrientation(raw))
	var out processed
	var buf bytes.Buffer
	if keepAlpha {
		out.contentType = "image/png"
		err = png.Encode(&buf, upright)
	} else {
		out.contentType = "image/jpeg"
		err = jpeg.Encode(&buf, upright, &jpeg.Options{Quality: jpegQuality})
	}
	if err != nil {
		return processed{}, err
	}
	out.data = buf.Bytes()
	b := upright.Bounds()
	out.width, out.height = b.Dx(), b.Dy()
	var tb bytes.Buffer
	if err := jpeg.Encode(&tb, thumbnail(upright), &jpeg.Options{Quality: jpegQuality}); err != nil {
		return processed{}, err
	}
	out.thumb = tb.Bytes()
	return out, nil
}

// flatten copies img into an RGBA image at the origin; onWhite composes it
// over white, for a JPEG, which has no transparency.
func flatten(img image.Image, onWhite bool) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	op := draw.Src
	if onWhite {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		op = draw.Over
	}
	draw.Draw(dst, dst.Bounds(), img, b.Min, op)
	return dst
}

// thumbnail scales img down to ThumbSide on its long side (a smaller image
// keeps its size) over white.
func thumbnail(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	tw, th := w, h
	if w >= h && w > ThumbSide {
		tw, th = ThumbSide, max(1, h*ThumbSide/w)
	} else if h > w && h > ThumbSide {
		tw, th = max(1, w*ThumbSide/h), ThumbSide
	}
	src := image.Image(img)
	// A large photo is first halved cheaply to about four times the
	// thumbnail, so the good kernel works on a few hundred thousand pixels.
	if w > 4*tw {
		mid := image.NewRGBA(image.Rect(0, 0, 4*tw, max(1, 4*th)))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), img, b, draw.Src, nil)
		src = mid
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	return dst
}

// orient turns img upright according to an EXIF orientation (1-8): the
// mirrorings and quarter turns a phone camera records instead of rotating
// its pixels.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return img
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			copy(dst.Pix[dy*dst.Stride+dx*4:dy*dst.Stride+dx*4+4], row[x*4:x*4+4])
		}
	}
	return dst
}

// exifOrientation reads the Orientation tag (0x0112) of a JPEG's EXIF
// block; 1 (as shot) when there is none or it cannot be read.
func exifOrientation(raw []byte) int {
	if len(raw) < 4 || raw[0] != 0xFF || raw[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(raw); {
		if raw[i] != 0xFF {
			return 1
		}
		marker := raw[i+1]
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF {
			i += 2
			continue
		}
		if marker == 0xDA || marker == 0xD9 {
			return 1 // the image data begins: no EXIF before it
		}
		n := int(binary.BigEndian.Uint16(raw[i+2:]))
		if n < 2 || i+2+n > len(raw) {
			return 1
		}
		seg := raw[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[off:]))
	for k := range count {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}
