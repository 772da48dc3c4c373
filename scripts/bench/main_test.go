package main

import "testing"

func TestExtractTokenFindsTheLoginAnswersToken(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"the token of a login answer is found", `{"token":"abc-_123","expires_at":"2030-01-01T00:00:00Z","user":{"id":1}}`, "abc-_123"},
		{"a token after other fields is found", `{"new_user":false,"token":"xyz"}`, "xyz"},
		{"an answer without a token gives none", `{"error":{"code":"unauthenticated","message":"请重新登录"}}`, ""},
		{"a cut answer gives none", `{"token":"abc`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := extractToken([]byte(tc.body)); got != tc.want {
				t.Errorf("extractToken = %q, want %q", got, tc.want)
			}
		})
	}
}
