# Xianfeng server image: a static Go binary on distroless (no shell, runs as
# nonroot). Build and run:
#
#   docker build -t xianfeng .
#   docker run -p 8080:8080 -e APP_DATABASE_URL=postgres://... -e APP_REDIS_URL=redis://... \
#     -e APP_WECHAT_APP_ID=... -e APP_WECHAT_APP_SECRET=... xianfeng
#
# The default command is `serve` (API + workers); pass `api`, `worker` or
# `migrate` to run one part, e.g. `docker run xianfeng migrate`.

FROM golang:1.26-bookworm AS build
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
ENV APP_ENV=production APP_HTTP_ADDR=:8080
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/healthcheck"]
ENTRYPOINT ["/server"]
CMD ["serve"]
