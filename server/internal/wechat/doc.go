// Package wechat is the server's edge to the WeChat mini-program APIs: login
// (code2session), phone-number binding and subscribe messages (订阅消息).
//
// The rest of the server depends only on the [Client] interface and the error
// kinds declared here. [API] is the real client, built on the mini-program
// parts of github.com/silenceper/wechat/v2 with its access token kept in our
// Redis so that every server instance shares one token; [Mock] is the
// development stand-in that needs no AppID and no network. Tests of other
// packages can run the real client against the fake WeChat in the
// wechattest subpackage.
package wechat
