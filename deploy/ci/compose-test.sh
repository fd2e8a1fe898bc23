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
export TELEGRAM_BOT_TOKEN="4242:compose-test-$(openssl rand -hex 8)"
export TELEGRAM_BOT_USERNAME=budget_compose_test_bot
export TELEGRAM_WEBHOOK_SECRET="$(openssl rand -hex 24)"
export TELEGRAM_API_URL=http://telegram:8081
export GATEWAY_PORT="${GATEWAY_PORT:-18080}"
export TELEGRAM_STANDIN_PORT="${TELEGRAM_STANDIN_PORT:-18081}"
# pip in the image build trusts what this machine trusts (its egress proxy's CA included).
export BUILD_CA_BUNDLE="${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

# Every secret compose.yml reads, as the README's quick start makes them.
deploy/make-secrets.sh

# compose.yml and the Telegram stand-in, named the way compose reads them from the environment,
# so that `up` below is the README's quick start word for word.
export COMPOSE_FILE=compose.yml:deploy/ci/compose.standin.yml
compose=(docker compose)
logs="${COMPOSE_TEST_LOGS:-/tmp/compose-test-logs.txt}"
finish() {
  "${compose[@]}" logs --no-color --timestamps >"$logs" 2>&1 || true
  "${compose[@]}" --profile tools down -v --remove-orphans >/dev/null 2>&1 || true
  echo "compose-test: $((SECONDS - started)) s in all; the containers' logs are in $logs"
}
trap finish EXIT

echo "compose-test: up --build --detach --wait"
docker compose up --build --detach --wait
echo "compose-test: smoke ($((SECONDS - started)) s)"
python3 deploy/ci/smoke.py --gateway "http://127.0.0.1:$GATEWAY_PORT" \
  --telegram "http://127.0.0.1:$TELEGRAM_STANDIN_PORT" -- "${compose[@]}"
echo "compose-test: passed"
