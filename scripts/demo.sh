#!/usr/bin/env bash
# Walks a running Xianfeng server through what a newcomer should see, using the
# development WeChat mock (no AppID needed).
#
#   go run ./server &          # in another terminal: embedded defaults
#   scripts/demo.sh            # or: XF_URL=http://host:port scripts/demo.sh
#
# Needs only bash and curl (and Go, for the bootstrap step: it runs
# `go run ./server bootstrap` from the repository root, against the same
# database as the server; set XF_BOOTSTRAP to another command, e.g. the built
# binary with its -config, when the server does not run on the defaults).
# Stops with a non-zero status at the first answer that is not what it should be.
set -euo pipefail

URL=${XF_URL:-http://127.0.0.1:8080}
API=$URL/api/v1
RUN=$(date +%s)
STATUS=""
BODY=""

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# call METHOD PATH [TOKEN] [JSON] — sets STATUS and BODY and prints both.
call() {
  local method=$1 path=$2 token=${3:-} data=${4:-}
  local args=(-sS -o /tmp/xf-demo.$$ -w '%{http_code}' -X "$method" "$API$path")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data "$data")
  STATUS=$(curl "${args[@]}")
  BODY=$(cat /tmp/xf-demo.$$; rm -f /tmp/xf-demo.$$)
  printf '%s %s -> %s %s\n' "$method" "$path" "$STATUS" "$BODY"
}

expect() {
  if [ "$STATUS" != "$1" ]; then
    echo "!! expected HTTP $1, got $STATUS" >&2
    exit 1
  fi
}

json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$BODY"; }
json_num() { sed -n "s/^[^{]*{\"$1\":\\([0-9]*\\).*/\\1/p" <<<"$BODY"; }
user_id() { sed -n 's/.*"user":{"id":\([0-9]*\).*/\1/p' <<<"$BODY"; }
BOOTSTRAP=${XF_BOOTSTRAP:-go run ./server bootstrap}

step "Is the server up?"
curl -fsS "$URL/healthz"; echo
curl -fsS "$URL/readyz"; echo

step "A member logs in with WeChat (mock code mock:<name>)"
call POST /auth/login "" "{\"code\":\"mock:demo-$RUN\"}"
expect 200
TOKEN=$(json_field token)
[ -n "$TOKEN" ] || { echo "!! no token in the login answer" >&2; exit 1; }
echo "token: ${TOKEN:0:6}… (opaque, 256 random bits; keep it secret)"

step "Who am I? (memberships stay empty until the member joins a branch)"
call GET /me "$TOKEN"
expect 200

step "Bind a phone number (mock code mock:<digits>); only the masked number comes back"
call POST /me/phone "$TOKEN" '{"code":"mock:13800138000"}'
expect 200

step "A second device logs in as the same member"
call POST /auth/login "" "{\"code\":\"mock:demo-$RUN\"}"
expect 200
TOKEN2=$(json_field token)

step "Log out on the first device: its token stops working at once"
call POST /auth/logout "$TOKEN"
expect 204
call GET /me "$TOKEN"
expect 401
call GET /me "$TOKEN2"
expect 200

step "Sign out everywhere"
call POST /auth/logout-all "$TOKEN2"
expect 204
call GET /me "$TOKEN2"
expect 401

step "Bad input gets a clear error, never a 500"
call POST /auth/login "" '{"code":42}'
expect 400
call POST /auth/login "" '{"code":"not-a-mock-code"}'
expect 401

step "An organisation department bootstraps its root organisation (on the server machine)"
cd "$(dirname "$0")/.."
OUT=$($BOOTSTRAP -name "演示区委$RUN" 2>/dev/null)
echo "$OUT"
CLAIM=$(sed -n 's/^One-time claim code: //p' <<<"$OUT")
[ -n "$CLAIM" ] || { echo "!! bootstrap printed no claim code" >&2; exit 1; }

step "Its secretary logs in and claims it with the one-time code"
call POST /auth/login "" "{\"code\":\"mock:secretary-$RUN\"}"
expect 200
SEC=$(json_field token)
call POST /orgs/claim "$SEC" "{\"code\":\"$CLAIM\",\"name\":\"王书记\"}"
expect 200
ROOT=$(sed -n 's/.*"org_id":\([0-9]*\).*/\1/p' <<<"$BODY")
call POST /orgs/claim "$SEC" "{\"code\":\"$CLAIM\"}"
expect 404

step "The secretary sets up a branch (党支部) and gets its invite code"
call POST "/orgs/$ROOT/children" "$SEC" '{"name":"第一党支部","kind":"branch"}'
expect 201
BRANCH=$(json_num id)
call GET "/orgs/$BRANCH/invite" "$SEC"
expect 200
INVITE=$(json_field invite_code)

step "Three Party members sign up, one with each identity badge (亮身份)"
declare -A MEMBER_TOKEN MEMBER_ID
for pair in "publicity:张小明" "information:李红梅" "frontline:赵建国"; do
  badge=${pair%%:*}; name=${pair#*:}
  call POST /auth/login "" "{\"code\":\"mock:$badge-$RUN\"}"
  expect 200
  MEMBER_TOKEN[$badge]=$(json_field token)
  MEMBER_ID[$badge]=$(user_id)
  call POST /members/signup "${MEMBER_TOKEN[$badge]}" "{\"invite_code\":\"$INVITE\",\"name\":\"$name\",\"badge\":\"$badge\"}"
  expect 201
done
call POST /members/signup "${MEMBER_TOKEN[frontline]}" "{\"invite_code\":\"$INVITE\",\"name\":\"赵建国\",\"badge\":\"frontline\"}"
expect 409

step "The secretary sees the applications and approves them"
call GET "/orgs/$BRANCH/members?status=pending" "$SEC"
expect 200
for badge in publicity information frontline; do
  call POST "/orgs/$BRANCH/members/${MEMBER_ID[$badge]}/approve" "$SEC"
  expect 200
done
call GET "/orgs/$ROOT" "$SEC"
expect 200

step "A member shows the badge; a resident at a checkpoint verifies it without logging in"
call GET /me/badge "${MEMBER_TOKEN[frontline]}"
expect 200
TOKEN_VERIFY=$(json_field verify_token)
call GET "/badges/verify?token=$TOKEN_VERIFY"
expect 200
grep -q '"valid":true' <<<"$BODY" || { echo "!! the badge did not verify" >&2; exit 1; }
curl -fsS -o /tmp/xf-demo-badge.$$.png -H "Authorization: Bearer ${MEMBER_TOKEN[frontline]}" "$API/me/badge/qr.png"
echo "badge QR code: $(wc -c </tmp/xf-demo-badge.$$.png) bytes of PNG"; rm -f /tmp/xf-demo-badge.$$.png

step "A removed member's badge is invalid at once"
call DELETE "/orgs/$BRANCH/members/${MEMBER_ID[frontline]}" "$SEC"
expect 204
call GET "/badges/verify?token=$TOKEN_VERIFY"
expect 200
grep -q '"reason":"revoked"' <<<"$BODY" || { echo "!! a removed member's badge still verifies" >&2; exit 1; }

step "Every secretary action is in the audit trail"
call GET "/orgs/$BRANCH/audit?limit=3" "$SEC"
expect 200

step "The API contract is served by the binary"
SPEC=$(curl -fsS "$API/openapi.yaml")
sed -n 1,3p <<<"$SPEC"
echo "… $(wc -l <<<"$SPEC") lines, also in miniprogram-api/openapi.yaml"

printf '\n\033[1mDemo finished: every answer was as expected.\033[0m\n'
