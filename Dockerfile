# One image for every Lantian service; the container's command chooses which one runs
# (lantian-ingest, lantian-rules run, lantian-api serve, lantian-api migrate, the simulated fleet).
# See docs/deploy.md. Build: docker compose build (or docker build -t lantian .).

# --- build: resolve the workspace from uv.lock into /app/.venv --------------------------------
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11
WORKDIR /app

# Dependencies first, from the lock file and every member's pyproject.toml alone, so a change to
# the source rebuilds only the last layers.
COPY pyproject.toml uv.lock ./
COPY telemetry/pyproject.toml telemetry/
COPY standards/pyproject.toml standards/
COPY store/pyproject.toml store/
COPY edge/pyproject.toml edge/
COPY firmware-sim/pyproject.toml firmware-sim/
COPY ingest/pyproject.toml ingest/
COPY rules/pyproject.toml rules/
COPY api/pyproject.toml api/
COPY dashboards/pyproject.toml dashboards/
RUN uv sync --all-packages --locked --no-dev --no-install-workspace

# The members themselves, installed into the environment (not as links into the source tree).
COPY telemetry/ telemetry/
COPY standards/ standards/
COPY store/ store/
COPY edge/ edge/
COPY firmware-sim/ firmware-sim/
COPY ingest/ ingest/
COPY rules/ rules/
COPY api/ api/
COPY dashboards/ dashboards/
RUN uv sync --all-packages --locked --no-dev --no-editable

# --- runtime: the environment, the rule examples and the simulated city --------------------
FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 lantian \
    && useradd --system --uid 10001 --gid lantian --home-dir /var/lib/lantian lantian \
    && mkdir -p /var/lib/lantian /etc/lantian \
    && chown lantian:lantian /var/lib/lantian
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
# Rule files to start from (mounted over by a deployment's own) and, for the simulated fleet
# (python -m devstack.fleet), the scenarios of the simulated city and the devstack package.
COPY rules/examples/ rules/examples/
COPY firmware-sim/scenarios/ firmware-sim/scenarios/
COPY devstack/ devstack/
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1
USER lantian
CMD ["lantian-api", "serve"]
