# syntax=docker/dockerfile:1
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
RUN pip install --no-cache-dir pip==26.3 \
 && pip install --no-cache-dir -c constraints.txt .

USER budget

EXPOSE 8000

# Default: both services in one process, behind wsgi:gateway. compose.yml runs them separately.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:gateway"]
