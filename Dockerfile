# One image for both processes: `trainhub serve` (API) and `trainhub worker` (arq).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/trainhub

# The PDF prints' fonts (resolvers/prints/pdf.py reads Debian's DejaVu files).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
  && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 trainhub
COPY pyproject.toml README.md requirements.lock ./
COPY app ./app
COPY models ./models
COPY schema ./schema
COPY resolvers ./resolvers
COPY jobs ./jobs
# The versions of requirements.lock; no extra: the embedded Redis and SMTP sink of
# `trainhub dev` are not in the image (production uses REDIS_URL and SMTP_HOST).
RUN pip install -c requirements.lock . && mkdir -p /srv/trainhub/var/storage && chown -R trainhub /srv/trainhub/var

USER trainhub
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["trainhub", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
