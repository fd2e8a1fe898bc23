#!/usr/bin/env bash
# make compose-test: compose.yml as users run it, booted and used end to end on this machine.
# A Docker engine and Compose v2 (engine.sh), the base images from Debian's packages where no
# registry is reachable (base-images.sh), then build, `up --wait`, the smoke through nginx on a
# loopback port (smoke.py) with the Telegram stand-in as the bot's Telegram, and `down -v`.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS

deploy/ci/engine.sh
deploy/ci/base-images.sh

# What an operator puts in .env, made up for this run.
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-budget-compose-test}"
export REDIS_PASSWORD="$(openssl rand -hex 24)"
export TELEGRAM_BOT_TOKEN="4242:compose-test-$(openssl rand -hex 8)"
export TELEGRAM_BOT_USERNAME=budget_compose_test_bot
export TELEGRAM_WEBHOOK_SECRET="$(openssl rand -hex 24)"
export TELEGRAM_API_URL=http://telegram:8081
export GATEWAY_PORT="${GATEWAY_PORT:-18080}"
export TELEGRAM_STANDIN_PORT="${TELEGRAM_STANDIN_PORT:-18081}"
# pip in the image build trusts what this machine trusts (its egress proxy's CA included).
export BUILD_CA_BUNDLE="${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

# The signing keys and notify_app's cursor secret, as compose.yml's header tells operators to
# make them (each made if missing; owner and modes set every time, whoever made the file).
keys=instance/keys
mkdir -p "$keys"
if [ ! -f "$keys/jwt_private.pem" ]; then
  openssl genpkey -algorithm ed25519 -out "$keys/jwt_private.pem"
  openssl pkey -in "$keys/jwt_private.pem" -pubout -out "$keys/jwt_public.pem"
fi
if [ ! -f "$keys/notify_cursor_secret" ]; then
  openssl rand -hex 32 > "$keys/notify_cursor_secret"
fi
chmod 600 "$keys/jwt_private.pem" "$keys/notify_cursor_secret" && chmod 644 "$keys/jwt_public.pem"
chown 10001 "$keys/jwt_private.pem" "$keys/notify_cursor_secret"

# The database credentials, as compose.yml's header tells operators to make them.
secrets=instance/secrets
if [ ! -f "$secrets/notifications.pgpass" ]; then
  mkdir -p "$secrets" && chmod 700 "$secrets"
  for db in api notifications; do
    openssl rand -hex 32 > "$secrets/${db}_superuser_password"
    openssl rand -hex 32 > "$secrets/${db}_db_password"
    echo "postgres-${db}:5432:budget_${db}:budget_${db}:$(cat "$secrets/${db}_db_password")" \
      > "$secrets/${db}.pgpass"
    chmod 600 "$secrets/${db}.pgpass" && chown 10001 "$secrets/${db}.pgpass"
  done
fi

compose=(docker compose -f compose.yml -f deploy/ci/compose.standin.yml)
logs="${COMPOSE_TEST_LOGS:-/tmp/compose-test-logs.txt}"
finish() {
  "${compose[@]}" logs --no-color --timestamps >"$logs" 2>&1 || true
  "${compose[@]}" --profile tools down -v --remove-orphans >/dev/null 2>&1 || true
  echo "compose-test: $((SECONDS - started)) s in all; the containers' logs are in $logs"
}
trap finish EXIT

echo "compose-test: build"
"${compose[@]}" build --quiet
echo "compose-test: up --wait ($((SECONDS - started)) s)"
"${compose[@]}" up --detach --wait --wait-timeout 300
echo "compose-test: smoke ($((SECONDS - started)) s)"
python3 deploy/ci/smoke.py --gateway "http://127.0.0.1:$GATEWAY_PORT" \
  --telegram "http://127.0.0.1:$TELEGRAM_STANDIN_PORT" -- "${compose[@]}"
echo "compose-test: passed"
