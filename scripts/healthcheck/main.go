// Command healthcheck is the container HEALTHCHECK of the Xianfeng image: the
// final image has no shell or curl, so this tiny static binary asks the server
// for /healthz and exits 0 when it answers 200 OK, 1 otherwise.
//
// It asks the admin listener (APP_ADMIN_ADDR, default 127.0.0.1:9090), which
// every serving command runs, so a `worker` container is checked too; with
// APP_ADMIN_ADDR=off it asks the API port (APP_HTTP_ADDR, default :8080),
// which only `serve` and `api` have. An address without a host, or on all
// interfaces, is asked on the loopback interface.
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
	url := target(os.Getenv)
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

// target returns the /healthz URL to ask, from the server's settings.
func target(getenv func(string) string) string {
	addr, fallback := getenv("APP_ADMIN_ADDR"), "127.0.0.1:9090"
	if addr == "off" {
		addr, fallback = getenv("APP_HTTP_ADDR"), ":8080"
	}
	if addr == "" {
		addr = fallback
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		host, port, _ = net.SplitHostPort(fallback)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}
