#!/usr/bin/env bash
# Every secret compose.yml reads, made once under instance/ (a file that exists is kept; owners
# and modes are set every time): the JWT key pair, notify_app's cursor secret, each database's
# superuser and service-role passwords (and the service's pgpass), a Redis password per process
# type with the broker's ACL file rendered from deploy/redis/users.acl, and the key of each task
# signer. The containers run as uid 10001: the files they read are theirs, mode 600.
set -euo pipefail
cd "$(dirname "$0")/.."

owned() {  # file...: private to the containers' user
  chmod 600 "$@"
  chown 10001 "$@" 2>/dev/null || sudo chown 10001 "$@"
}
random() {  # file: 32 random bytes as hex, unless it exists
  [ -s "$1" ] || openssl rand -hex 32 >"$1"
}

keys=instance/keys
mkdir -p "$keys"
if [ ! -f "$keys/jwt_private.pem" ]; then
  openssl genpkey -algorithm ed25519 -out "$keys/jwt_private.pem"
  openssl pkey -in "$keys/jwt_private.pem" -pubout -out "$keys/jwt_public.pem"
fi
random "$keys/notify_cursor_secret"
owned "$keys/jwt_private.pem" "$keys/notify_cursor_secret"
chmod 644 "$keys/jwt_public.pem"

secrets=instance/secrets
mkdir -p "$secrets" && chmod 700 "$secrets"
for db in api notifications; do
  random "$secrets/${db}_superuser_password"
  random "$secrets/${db}_db_password"
  echo "postgres-${db}:5432:budget_${db}:budget_${db}:$(cat "$secrets/${db}_db_password")" \
    >"$secrets/${db}.pgpass"
  owned "$secrets/${db}.pgpass"
done

# The broker's users: a password each; Redis reads only their SHA-256 (the ACL file).
acl="$secrets/redis_users.acl"
: >"$acl.new"
while read -r line; do
  case "$line" in
    "user "*" on nopass "* | "user default "*) echo "$line" >>"$acl.new" ;;
    "user "*" on "*)
      user="$(echo "$line" | cut -d' ' -f2)"
      random "$secrets/redis_${user}_password"
      owned "$secrets/redis_${user}_password"
      hash="$(tr -d '\n' <"$secrets/redis_${user}_password" | sha256sum | cut -d' ' -f1)"
      echo "$line" | sed "s/^user $user on /user $user on #$hash /" >>"$acl.new"
      ;;
  esac
done <deploy/redis/users.acl
mv "$acl.new" "$acl"
chmod 644 "$acl"  # hashes of random passwords only; Redis runs as its own user

for signer in events bot_commands deliveries notify_jobs api_jobs; do
  random "$secrets/broker_signing_key_${signer}"
  owned "$secrets/broker_signing_key_${signer}"
done
