# One image for every process of the pipeline; the compose services choose the `ektp` command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY pipeline ./pipeline
COPY events ./events
COPY processors ./processors
COPY central_sim ./central_sim
RUN pip install -c constraints.txt . && useradd --system --home /app ektp
USER ektp

ENTRYPOINT ["ektp"]
CMD ["--help"]
