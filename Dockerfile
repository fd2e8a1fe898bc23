# One image for every Python process: api, notifications, the Celery worker, the outbox relay,
# migrations and the token purge. compose.yml picks the role through the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production

# A fixed uid/gid, so operators can give it read access to the bind-mounted JWT keys.
RUN groupadd --system --gid 10001 budget \
 && useradd --system --uid 10001 --gid budget --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin budget

WORKDIR /app

# The code stays owned by root, so the service user cannot change it. constraints.txt is the
# pinned lock file: every image build resolves the same versions that were tested.
COPY . .
# The same pip as the Makefile pins, so the image resolves exactly what `make` installs.
# Behind a proxy that inspects TLS (a company's, CI's), pip must trust the proxy's CA: the host's
# CA bundle comes in as the build secret ca_bundle (compose.yml: BUILD_CA_BUNDLE), used for this
# step only and never stored in a layer. Empty (the default) means pip's own bundle.
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
 && pip install --no-cache-dir pip==26.3 \
 && pip install --no-cache-dir -c constraints.txt .

USER budget

EXPOSE 8000

# Default: both services in one process, behind wsgi:gateway. compose.yml runs them separately.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:gateway"]
