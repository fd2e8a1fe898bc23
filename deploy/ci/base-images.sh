#!/usr/bin/env bash
# The base images compose.yml names (python:3.11-slim, postgres:17, redis:8, nginx:1.26), built
# here from Debian's packages for machines that reach no image registry (CI). Each keeps the
# documented interface of the upstream image of that name, so compose.yml runs unchanged on
# either. An image already present is kept.
#
# The Debian mirror is the one apt on this machine uses (no host name lives in this repository).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

mirror="$(apt-cache policy | awk '$3 ~ /^(bookworm|trixie)\/main$/ { print $2; exit }')"
[ -n "$mirror" ] || { echo "no Debian mirror in apt's sources (run apt-get update)" >&2; exit 1; }

missing() { ! docker image inspect "$1" >/dev/null 2>&1; }

# A minimal Debian root file system, imported as an image.
debian_image() {  # suite, tag, extra packages, docker import --change options...
  local suite="$1" tag="$2" include="$3"; shift 3
  local root; root="$(mktemp -d)"
  debootstrap --variant=minbase ${include:+--include="$include"} "$suite" "$root" "$mirror" \
    >"$root.log" 2>&1 || { tail -n 30 "$root.log"; exit 1; }
  if [ -n "${SETUP:-}" ]; then chroot "$root" /bin/sh -c "$SETUP"; fi
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  tar -C "$root" -c . | docker import "$@" - "$tag" >/dev/null
  rm -rf "$root" "$root.log"
}

# Debian's Python 3.11 (bookworm) as a virtual environment at /usr/local, so that python and
# pip are /usr/local/bin/python and /usr/local/bin/pip, as in the upstream image.
if missing python:3.11-slim; then
  SETUP='python3.11 -m venv /usr/local && /usr/local/bin/pip --version' \
    debian_image bookworm python:3.11-slim \
      python3,python3.11-venv,python3-distutils,python3-lib2to3,python3-setuptools-whl,python3-pip-whl,ca-certificates \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]'
fi

if missing budget-ci/debian:trixie; then
  debian_image trixie budget-ci/debian:trixie "" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]'
fi

for image in postgres:17 redis:8 nginx:1.26; do
  if missing "$image"; then
    docker build --quiet --tag "$image" "$here/images/${image%%:*}" >/dev/null
  fi
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  | grep -E '^(python:3.11-slim|postgres:17|redis:8|nginx:1.26) '
