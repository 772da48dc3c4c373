// Command healthcheck is the container HEALTHCHECK of the Xianfeng image: the
// final image has no shell or curl, so this tiny static binary asks the server
// on the loopback interface for /healthz and exits 0 when it answers 200 OK,
// 1 otherwise. The port is the one in APP_HTTP_ADDR (":8080" or "host:port"),
// 8080 when that is unset.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	url := "http://" + net.JoinHostPort("127.0.0.1", port(os.Getenv("APP_HTTP_ADDR"))) + "/healthz"
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "healthcheck:", url, "answered", resp.Status)
		os.Exit(1)
	}
}

// port returns the port of an APP_HTTP_ADDR value, or 8080.
func port(addr string) string {
	if addr == "" {
		return "8080"
	}
	if _, p, err := net.SplitHostPort(addr); err == nil && p != "" && p != "0" {
		return p
	}
	return "8080"
}
