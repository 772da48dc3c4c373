package api_test

import "xianfeng/server/internal/wechat"

func mockMessage() wechat.SubscribeMessage {
	return wechat.SubscribeMessage{ToOpenID: "mock-ivy", TemplateID: "tmpl-task", Page: "pages/task/index", Data: map[string]string{"thing1": "值守"}}
}
