# Xianfeng server image: a static Go binary on distroless (no shell, runs as
# nonroot). The entrypoint is the server; the argument is its command:
# `serve` (API + workers, the default), `api`, `worker`, `migrate`, `config`
# (a leading `server` word is skipped, so `IMAGE server api` works too).
#
#   docker build -t xianfeng .          # podman: podman build --format docker -t xianfeng .
#                                        # (the OCI format drops HEALTHCHECK)
#   cat > xianfeng.env <<'END'
#   APP_DATABASE_URL=postgres://xf:PASSWORD@db:5432/xianfeng?sslmode=require
#   APP_REDIS_URL=redis://:PASSWORD@redis:6379/0
#   APP_WECHAT_APP_ID=wx...
#   APP_WECHAT_APP_SECRET=...
#   APP_BADGE_KEY=<at least 32 random characters, e.g. from: openssl rand -base64 32>
#   APP_BADGE_VERIFY_URL=https://xf.example.cn/api/v1/badges/verify
#   APP_WECHAT_CALLBACK_TOKEN=<the message push token set in the mini-program console>
#   APP_MEDIA_PUBLIC_URL=https://xf.example.cn
#   END
#   docker run --rm --env-file xianfeng.env xianfeng migrate     # before each rollout
#   docker run -d -p 8080:8080 --env-file xianfeng.env xianfeng  # or: xianfeng api
#   docker run -d --env-file xianfeng.env xianfeng worker
#
# The HEALTHCHECK asks /healthz on the admin listener (APP_ADMIN_ADDR,
# 127.0.0.1:9090 inside the container), which `worker` runs as well as
# `serve` and `api`. /metrics and pprof are served there too, never on the
# API port: to scrape them from outside, set APP_ADMIN_ADDR=:9090 and publish
# the port on a private interface only (e.g. -p 10.0.0.5:9090:9090).

FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/server ./server && \
    go build -trimpath -ldflags="-s -w" -o /out/healthcheck ./scripts/healthcheck

# distroless/static carries CA certificates (for api.weixin.qq.com) and
# /etc/passwd with the nonroot user; the binary embeds tzdata for Asia/Shanghai.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
COPY --from=build /out/healthcheck /healthcheck
ENV APP_ENV=production APP_HTTP_ADDR=:8080 APP_ADMIN_ADDR=127.0.0.1:9090
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/healthcheck"]
ENTRYPOINT ["/server"]
CMD ["serve"]
