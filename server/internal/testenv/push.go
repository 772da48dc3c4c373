package testenv

import (
	"context"

	"xianfeng/server/internal/notify"
)

// DeliverQueued sends every queued push, oldest first, as the push workers
// would.
func (e *Env) DeliverQueued(ctx context.Context) {
	e.t.Helper()
	var ids []int64
	if err := e.App.DB.WithContext(ctx).Table("notifications").Where("delivery = ?", notify.DeliveryQueued).
		Order("id").Pluck("id", &ids).Error; err != nil {
		e.t.Fatal(err)
	}
	for _, id := range ids {
		if err := e.App.Pusher.Deliver(ctx, id, false); err != nil {
			e.t.Fatalf("deliver %d: %v", id, err)
		}
	}
}

// Pushed counts the messages the fake WeChat received for p.
func (e *Env) Pushed(p Person) int {
	n := 0
	for _, m := range e.WeChat.Sent() {
		if m.ToOpenID == "o-"+p.Login {
			n++
		}
	}
	return n
}
