# syntax=docker/dockerfile:1
# One image, three entry points (the Helm chart sets the command per component):
#   api        gunicorn --config python:tributary_api.gunicorn_conf "tributary_api.app:get_app()"
#   worker     python -m tributary_worker
#   scheduler  python -m tributary_scheduler <migrate|enqueue-due|cleanup|reconcile|health>
# tests/helm/test_contract.py checks the chart's commands against this file and the code.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build stage: compilers are here only in case a pinned dependency has no wheel for the
# target platform; nothing from this stage but the virtualenv reaches the final image.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements.txt /app/requirements.txt
RUN /opt/venv/bin/pip install --no-compile -r /app/requirements.txt \
 && /opt/venv/bin/pip uninstall -y pip setuptools

FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/libs/common:/app/services/api:/app/services/worker:/app/services/scheduler \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GUNICORN_BIND=0.0.0.0:8000
# The Prometheus multiprocess directory of the api (gunicorn workers) and the worker
# (Dramatiq processes, and the probes' heartbeat files); the chart mounts an emptyDir here
# and sets PROMETHEUS_MULTIPROC_DIR for both.
RUN groupadd --system --gid ${APP_UID} tributary \
 && useradd --system --uid ${APP_UID} --gid tributary --no-create-home --home-dir /app \
      --shell /usr/sbin/nologin tributary \
 && mkdir -p /run/tributary/metrics \
 && chown -R ${APP_UID}:${APP_UID} /run/tributary
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY requirements.txt /app/requirements.txt
COPY libs /app/libs
COPY services /app/services
# Numeric, so Kubernetes' runAsNonRoot can verify it without resolving a user name.
USER ${APP_UID}:${APP_UID}
EXPOSE 8000 9191
CMD ["gunicorn", "--config", "python:tributary_api.gunicorn_conf", "tributary_api.app:get_app()"]
