package config

import (
	"net/url"

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
// like one, leaving the rest readable.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return raw
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), mask)
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		switch k {
		case "password", "pass", "sslpassword", "secret":
			q.Set(k, mask)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
