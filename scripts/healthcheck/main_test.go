package main

import "testing"

func TestTheHealthcheckAsksTheAdminListenerUnlessItIsOff(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"with nothing set it asks the default admin listener", nil, "http://127.0.0.1:9090/healthz"},
		{"it asks the admin port that is set", map[string]string{"APP_ADMIN_ADDR": "127.0.0.1:9191", "APP_HTTP_ADDR": ":8081"}, "http://127.0.0.1:9191/healthz"},
		{"an admin listener on all interfaces is asked on the loopback", map[string]string{"APP_ADMIN_ADDR": ":9091"}, "http://127.0.0.1:9091/healthz"},
		{"an admin listener on one address is asked there", map[string]string{"APP_ADMIN_ADDR": "10.1.2.3:9090"}, "http://10.1.2.3:9090/healthz"},
		{"with the admin listener off it asks the API port", map[string]string{"APP_ADMIN_ADDR": "off", "APP_HTTP_ADDR": ":8081"}, "http://127.0.0.1:8081/healthz"},
		{"with the admin listener off and no API address it asks port 8080", map[string]string{"APP_ADMIN_ADDR": "off"}, "http://127.0.0.1:8080/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := target(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("target = %q, want %q", got, tt.want)
			}
		})
	}
}
