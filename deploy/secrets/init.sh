#!/bin/sh
# The one-shot `secrets` service of docker-compose.yml, run before any broker starts, on the `ektp-secrets` volume.
# Every step keeps what is there (passwords, CA, a certificate that names every host), so running it again on each
# `docker compose up` changes nothing: the brokers' storage goes on matching the passwords.
#
#   $EKTP_CREDENTIALS_DIR  each role's Kafka password (`ektp credentials make`), for the pipeline's containers
#   $EKTP_TLS_DIR          the private CA and the brokers' certificate, naming each of $BROKER_HOSTS (`ektp broker
#                          certs`), beside localhost and 127.0.0.1 for the host's programs
#   $BROKER_FILES          what the Kafka containers read, as group $BROKER_GROUP: the JAAS lines of the listeners
#                          $BROKER_LISTENERS and the TLS files for server.properties, the SCRAM users to format the
#                          storage with (`ektp credentials broker-files`), and the admin's client properties for
#                          the health check
#   $KAFKA_UI_FILES        kafka-ui's JAAS file and the CA, as group $KAFKA_UI_GROUP, for role $KAFKA_UI_ROLE
set -eu

: "${EKTP_CREDENTIALS_DIR:?}" "${EKTP_TLS_DIR:?}" "${BROKER_HOSTS:?}" "${BROKER_LISTENERS:?}" "${BROKER_FILES:?}"
: "${BROKER_GROUP:?}" "${KAFKA_UI_FILES:?}" "${KAFKA_UI_GROUP:?}" "${KAFKA_UI_ROLE:?}"

ektp credentials make

set --
for host in $BROKER_HOSTS; do
    set -- "$@" --host "$host"
done
ektp broker certs "$@"

set --
for listener in $BROKER_LISTENERS; do
    set -- "$@" --listener "$listener"
done
ektp credentials broker-files "$BROKER_FILES" "$@" --group "$BROKER_GROUP"
ektp credentials client-files "$BROKER_FILES" --role admin --group "$BROKER_GROUP"
ektp credentials client-files "$KAFKA_UI_FILES" --role "$KAFKA_UI_ROLE" --group "$KAFKA_UI_GROUP"
