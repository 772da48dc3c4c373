package wechat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"xianfeng/server/internal/wechat"
	"xianfeng/server/internal/wechat/wechattest"
)

func TestMsgSecCheckThroughTheRealClient(t *testing.T) {
	e := newEnv(t, 300*time.Millisecond)
	ctx := context.Background()
	t.Run("a harmless text passes", func(t *testing.T) {
		v, err := e.api.MsgSecCheck(ctx, "o-alice", wechat.SceneForum, "社区卡口人手不足")
		if err != nil || v.Risky() || v.Suggest != wechat.SuggestPass || v.TraceID == "" {
			t.Fatalf("verdict = %+v, %v; want pass with a trace id", v, err)
		}
	})
	t.Run("a risky text is risky with its label", func(t *testing.T) {
		v, err := e.api.MsgSecCheck(ctx, "o-alice", wechat.SceneForum, "这是"+wechattest.RiskyText+"内容")
		if err != nil || !v.Risky() || v.Label != 20006 {
			t.Fatalf("verdict = %+v, %v; want risky 20006", v, err)
		}
	})
	runErrorCases(t, []errorCase{
		{"an author not active in two hours is 61010", "o-inactive", wechat.ErrUserInactive, 61010},
		// The fake answers "slow" with a busy errcode after its SlowDelay:
		// ErrUnavailable shows the client's timeout ended the call first.
		{"a timeout is unavailable", "slow", wechat.ErrUnavailable, 0},
		{"another errcode is unknown", "87014", wechat.ErrUnknown, 87014},
	}, func(t *testing.T, openid string) (*env, error) {
		_, err := e.api.MsgSecCheck(ctx, openid, wechat.SceneForum, "文本")
		return e, err
	})
	t.Run("an expired token is fetched again once", func(t *testing.T) {
		e.fake.ExpireTokens()
		if _, err := e.api.MsgSecCheck(ctx, "o-alice", wechat.SceneProfile, "张三"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMediaCheckAsyncThroughTheRealClient(t *testing.T) {
	e := newEnv(t, 300*time.Millisecond)
	ctx := context.Background()
	trace, err := e.api.MediaCheckAsync(ctx, "o-alice", wechat.SceneForum, "https://xf.example.cn/api/v1/media/7?t=abc")
	if err != nil || trace == "" {
		t.Fatalf("trace = %q, %v", trace, err)
	}
	got := e.fake.MediaChecks()
	if len(got) != 1 || got[0].TraceID != trace || got[0].MediaType != 2 || got[0].OpenID != "o-alice" ||
		got[0].MediaURL != "https://xf.example.cn/api/v1/media/7?t=abc" || got[0].Scene != wechat.SceneForum {
		t.Fatalf("WeChat was asked %+v, want one image check of the URL under trace %s", got, trace)
	}
	_, err = e.api.MediaCheckAsync(ctx, "o-inactive", wechat.SceneForum, "https://xf.example.cn/m")
	e.checkErr(t, err, wechat.ErrUserInactive, 61010)
}

func TestMessagePushSignature(t *testing.T) {
	// WeChat's documented example: token, timestamp and nonce sorted and
	// joined, then SHA-1.
	sig := wechat.Signature("token123", "1700000000", "nonce9")
	if !wechat.VerifySignature("token123", "1700000000", "nonce9", sig) {
		t.Fatal("a signature made with the token does not verify")
	}
	for name, ok := range map[string]bool{
		"another token":     wechat.VerifySignature("token124", "1700000000", "nonce9", sig),
		"another timestamp": wechat.VerifySignature("token123", "1700000001", "nonce9", sig),
		"an empty token":    wechat.VerifySignature("", "1700000000", "nonce9", wechat.Signature("", "1700000000", "nonce9")),
		"no signature":      wechat.VerifySignature("token123", "1700000000", "nonce9", ""),
	} {
		if ok {
			t.Errorf("%s verifies", name)
		}
	}
	if got := wechat.Signature("b", "a", "c"); got != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Errorf("Signature sorts and hashes: got %s, want sha1(\"abc\")", got)
	}
}

func TestParseMediaCheck(t *testing.T) {
	body := wechat.MediaCheckPush("wx1", "trace-1", wechat.Verdict{Suggest: wechat.SuggestRisky, Label: 20002}, 1700000000)
	mc, err := wechat.ParseMediaCheck(body)
	if err != nil || mc.TraceID != "trace-1" || !mc.Verdict.Risky() || mc.Verdict.Label != 20002 {
		t.Fatalf("parsed %+v, %v", mc, err)
	}
	if _, err := wechat.ParseMediaCheck([]byte(`{"MsgType":"event","Event":"user_enter_tempsession"}`)); !errors.Is(err, wechat.ErrNotMediaCheck) {
		t.Errorf("another event: %v, want ErrNotMediaCheck", err)
	}
	for _, bad := range []string{`{`, `{"Event":"wxa_media_check","result":{"suggest":"risky"}}`, `{"Event":"wxa_media_check","trace_id":"t","result":{"suggest":"maybe"}}`} {
		if _, err := wechat.ParseMediaCheck([]byte(bad)); err == nil || errors.Is(err, wechat.ErrNotMediaCheck) {
			t.Errorf("%s parsed: %v", bad, err)
		}
	}
}
