package config

import (
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

const mask = "******"

// Redacted returns the configuration as YAML with every secret masked: the
// WeChat app secret, the Redis password and any password inside a URL. It is
// the only form in which the configuration is printed or logged.
func (c Config) Redacted() string {
	r := c
	if r.WeChat.AppSecret != "" {
		r.WeChat.AppSecret = mask
	}
	if r.Data.Key != "" {
		r.Data.Key = mask
	}
	for i := range r.Data.OldKeys {
		r.Data.OldKeys[i] = mask
	}
	if r.Badge.Key != "" {
		r.Badge.Key = mask
	}
	if r.WeChat.CallbackToken != "" {
		r.WeChat.CallbackToken = mask
	}
	if r.Media.SecretKey != "" {
		r.Media.SecretKey = mask
	}
	if r.Redis.Password != "" {
		r.Redis.Password = mask
	}
	r.Redis.URL = redactURL(r.Redis.URL)
	r.Database.URL = redactURL(r.Database.URL)
	mock, migrate := r.WeChatMock(), r.AutoMigrate()
	r.WeChat.Mock, r.Database.AutoMigrate = &mock, &migrate
	out, err := yaml.Marshal(r)
	if err != nil {
		return "unprintable configuration: " + err.Error()
	}
	return string(out)
}

// redactURL masks the password of a URL and any query parameter that looks
// like one, leaving the rest readable. The user-info part is found by hand:
// url.Parse misreads a password holding '#' or '?' as the start of a fragment
// or query, which would leave the secret in the clear.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		userinfo := rest[:at]
		if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
			rest = user + ":" + mask + rest[at:]
		}
	}
	base, query, hasQuery := strings.Cut(rest, "?")
	if !hasQuery {
		return scheme + "://" + rest
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return scheme + "://" + base + "?" + mask
	}
	for k := range q {
		switch strings.ToLower(k) {
		case "password", "pass", "sslpassword", "secret":
			q.Set(k, mask)
		}
	}
	return scheme + "://" + base + "?" + q.Encode()
}
