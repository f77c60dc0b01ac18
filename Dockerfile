# syntax=docker/dockerfile:1
# gitlab-janitor container image.
#   build:   pip builds the wheels (ours and every dependency) in a throw-away stage
#   runtime: a venv installed from those wheels only (--no-index), without pip, copied onto a clean base;
#            byte-code stays compiled (the user cannot write /opt/janitor, so it would never be cached)
# BASE_IMAGE must provide python3 with the venv module at the same path in both stages
# (the official slim images do; so does Debian's python3-venv, which the image tests use).
ARG BASE_IMAGE=python:3.12-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY janitor ./janitor
RUN python3 -m venv /opt/build-venv \
 && /opt/build-venv/bin/pip wheel --wheel-dir /wheels . \
 && python3 -m venv /opt/janitor \
 && /opt/janitor/bin/pip install --no-index --find-links /wheels gitlab-janitor \
 && /opt/janitor/bin/pip uninstall --yes pip setuptools \
 && /opt/janitor/bin/janitor --version

FROM ${BASE_IMAGE} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
# The project's home; a mirror on a self-managed instance passes its own (.gitlab-ci.yml: $CI_PROJECT_URL).
ARG SOURCE_URL=https://gitlab.com/gitlab-janitor/gitlab-janitor
ARG DOCUMENTATION_URL=${SOURCE_URL}/-/blob/main/README.md
# RFC 3339 build time; the pipeline passes $CI_PIPELINE_CREATED_AT (a fixed default keeps builds reproducible).
ARG CREATED=1970-01-01T00:00:00Z
# OCI image-spec annotations (github.com/opencontainers/image-spec, annotations.md)
LABEL org.opencontainers.image.title="gitlab-janitor" \
      org.opencontainers.image.description="Policy-driven, dry-run-first clean-up of GitLab instances" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.url="${SOURCE_URL}" \
      org.opencontainers.image.documentation="${DOCUMENTATION_URL}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="MIT"
# A fixed numeric user: runners and Kubernetes can check runAsNonRoot without reading /etc/passwd.
RUN groupadd --gid 10001 janitor \
 && useradd --uid 10001 --gid 10001 --home-dir /home/janitor --create-home --shell /usr/sbin/nologin janitor
COPY --from=build /opt/janitor /opt/janitor
ENV PATH=/opt/janitor/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /home/janitor
ENTRYPOINT ["janitor"]
CMD ["--help"]
