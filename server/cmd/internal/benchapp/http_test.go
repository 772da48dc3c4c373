package benchapp

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRepeatWarmsOnceIntoTheBodyThenTimesN(t *testing.T) {
	var calls, discarded int
	get := func(path string, w io.Writer) (int64, error) {
		calls++
		if w == io.Discard {
			discarded++
		}
		n, err := io.WriteString(w, path)
		return int64(n), err
	}
	var body strings.Builder
	_, lat, err := Repeat(get, "/p", &body, 3)
	if err != nil {
		t.Fatal(err)
	}
	if body.String() != "/p" || calls != 4 || discarded != 3 || len(lat) != 3 {
		t.Errorf("body %q, %d calls (%d discarded), %d latencies; want /p, 4 (3), 3", body.String(), calls, discarded, len(lat))
	}
	boom := errors.New("boom")
	if _, _, err := Repeat(func(string, io.Writer) (int64, error) { return 0, boom }, "/p", io.Discard, 3); !errors.Is(err, boom) {
		t.Errorf("Repeat of a failing GET = %v, want %v", err, boom)
	}
}
