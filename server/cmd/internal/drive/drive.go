// Package drive is how the bench commands drive and time their calls:
// a pool of workers and the timing of GETs, with nothing of the server in
// it. It stands apart from benchapp and loadgen, which build the app, so
// that its tests do not link the whole server (about 3.7 s of CPU for each
// test binary that does, in go test ./...).
package drive

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Get fetches path and copies the body to w; a status other than 200 is an
// error.
type Get func(path string, w io.Writer) (int64, error)

// Time GETs path with get, discarding the body, and returns how long it took.
func Time(get Get, path string) (time.Duration, error) {
	return timed(get, path, io.Discard)
}

// Repeat GETs path once into body, the call that warms the caches, and then
// n times more with Time; it returns how long the first call took and the n
// others, in the order made.
func Repeat(get Get, path string, body io.Writer, n int) (first time.Duration, lat []time.Duration, err error) {
	if first, err = timed(get, path, body); err != nil {
		return 0, nil, err
	}
	for range n {
		d, err := Time(get, path)
		if err != nil {
			return 0, nil, err
		}
		lat = append(lat, d)
	}
	return first, lat, nil
}

func timed(get Get, path string, body io.Writer) (time.Duration, error) {
	t0 := time.Now()
	_, err := get(path, body)
	return time.Since(t0), err
}

// Each calls f(i) for every i in [0, n) from c goroutines at once, each
// taking the next i as it finishes the last, and returns when all have
// returned: the worker pool of the benchmarks' concurrent calls.
func Each(n, c int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}
