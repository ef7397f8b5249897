# One image for every process of the pipeline; the compose services choose the `ektp` command
# (central-sim runs `python -m central_sim` from the same image).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The exact versions CI tested (constraints.txt), not whatever the ranges in pyproject.toml resolve to today.
COPY pyproject.toml constraints.txt README.md ./
COPY pipeline ./pipeline
COPY events ./events
COPY processors ./processors
COPY central_sim ./central_sim
RUN pip install -c constraints.txt .

# A fixed, non-root uid (10001), so that a volume's owner is the same in every container and orchestrators
# that insist on a numeric non-root user accept the image.
# /var/lib/ektp is the run dir: the station's journal, central-sim's store, faust's data folder.
# /var/lib/ektp-cards holds the printed cards, which show the full NIK: personal data, so 0700.
# /run/ektp holds the Kafka passwords and TLS files docker-compose.yml's `secrets` service makes; 0711, so that the
# Kafka and kafka-ui containers (other users) reach the folders of theirs in it, which it gives to their groups.
# Named volumes mounted on these paths start with this owner and mode.
RUN groupadd --system --gid 10001 ektp \
    && useradd --system --uid 10001 --gid ektp --home-dir /var/lib/ektp --no-create-home \
       --shell /usr/sbin/nologin ektp \
    && mkdir -p /var/lib/ektp /var/lib/ektp-cards /run/ektp \
    && chown ektp:ektp /var/lib/ektp /var/lib/ektp-cards /run/ektp \
    && chmod 0750 /var/lib/ektp \
    && chmod 0700 /var/lib/ektp-cards \
    && chmod 0711 /run/ektp

ENV EKTP_RUN_DIR=/var/lib/ektp
# faust writes its data folder (`<app id>-data`) in the working directory: it must be writable.
WORKDIR /var/lib/ektp
USER 10001:10001

ENTRYPOINT ["ektp"]
CMD ["--help"]
