# One image for the bot and the worker; the bot simply never touches the GPU.
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HOME=/data/hf \
    IMAGINE_RESULTS_DIR=/data/results

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv \
    && useradd --create-home --uid 1000 imagine \
    && mkdir -p /data/hf /data/results && chown -R imagine:imagine /data

WORKDIR /app

# Dependencies in their own layer: it is rebuilt only when pyproject.toml changes.
# PyPI's Linux torch wheel is the CUDA build, which is what this image is for.
COPY pyproject.toml README.md ./
RUN pip install "torch==2.13.0" \
    && for p in bot worker models cli sandbox; do mkdir -p $p && touch $p/__init__.py; done \
    && pip install ".[worker]" \
    && pip uninstall -y imagine \
    && rm -rf bot worker models cli sandbox

COPY --chown=imagine:imagine . .
RUN pip install --no-deps .

USER imagine
# Model weights downloaded from the hub land here; mount a volume to keep them across restarts.
VOLUME ["/data"]

# Healthy when this container can reach Redis; each service overrides it with its own check where it has one.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, redis; redis.Redis.from_url(os.environ.get('IMAGINE_REDIS_URL', 'redis://redis:6379/0')).ping()"]

CMD ["imagine", "--help"]
