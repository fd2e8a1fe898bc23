#!/bin/sh
# Run once, by the postgres image's entrypoint, when the data directory is created: the
# service's own role (APP_DB_USER, its password from the secret file APP_DB_PASSWORD_FILE)
# owns the service's database (POSTGRES_DB) and nothing else. It is no superuser, cannot create
# roles or databases, and no other role but the superuser may connect to that database.
set -eu
password="$(cat "$APP_DB_PASSWORD_FILE")"
psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname postgres \
  -v role="$APP_DB_USER" -v password="$password" -v database="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
ALTER DATABASE :"database" OWNER TO :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
