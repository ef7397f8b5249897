#!/usr/bin/env bash
# One Kafka node of docker-compose.yml (image apache/kafka) with the security `ektp broker start` gives the
# project's own broker (pipeline/broker/launcher.py), from the files the compose `secrets` service wrote:
#
#   start.sh SECRETS_DIR
#
# 1. server.properties: every KAFKA_* variable of the container, named as the image itself reads them
#    (KAFKA_LOG_DIRS is log.dirs; `__` stands for `_`, `___` for `-`), but for the JVM's own (KAFKA_HEAP_OPTS...),
#    then SECRETS_DIR/server.properties: each listener's JAAS line and the TLS files
#    (`ektp credentials broker-files`). It holds passwords: written 0600 in the container, never in the volume.
# 2. The storage is formatted once, with CLUSTER_ID and the SCRAM users of SECRETS_DIR/format.args, since Kafka adds
#    them only then; through a java @argfile, so that no password is ever on a command line. A marker in the
#    storage says which users it was formatted with: storage formatted without them, or with other passwords than
#    the volume holds, would refuse every client, so it is refused here, with the way out.
# 3. exec kafka-server-start.sh: the JVM is the container's main process and gets its SIGTERM.
#
# BROKER_HOME (default /opt/kafka) and BROKER_CONFIG (default $BROKER_HOME/config/ektp) are for the tests only.
set -euo pipefail

secrets=${1:?usage: start.sh SECRETS_DIR}
home=${BROKER_HOME:-/opt/kafka}
config=${BROKER_CONFIG:-$home/config/ektp}
storage=${KAFKA_LOG_DIRS:?KAFKA_LOG_DIRS must name the storage folder of the node}
: "${CLUSTER_ID:?CLUSTER_ID must be the id the storage is formatted with}"
marker=$storage/.ektp-security

fail() {
    echo "start.sh: $*" >&2
    exit 1
}

backslash='\' quote='"'

# One argument of a java @argfile: quoted, a backslash or quote in it escaped.
java_argument() {
    local value=${1//"$backslash"/"$backslash$backslash"}
    printf '"%s"\n' "${value//"$quote"/"$backslash$quote"}"
}

[[ $storage != *,* ]] || fail "KAFKA_LOG_DIRS=$storage: one folder only"
for file in server.properties format.args; do
    [[ -r $secrets/$file ]] || fail "$secrets/$file is missing or unreadable: the secrets service writes it"
done
# Which SCRAM users the storage holds: the digest of the arguments it was formatted with.
security="sasl-scram-sha-512 $(sha256sum "$secrets/format.args" | cut -d ' ' -f 1)"

umask 077
mkdir -p "$config"
properties=$config/server.properties
{
    echo "# Written by start.sh from the container's KAFKA_* variables and $secrets/server.properties."
    for name in "${!KAFKA_@}"; do
        case $name in
            KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_GC_LOG_OPTS | KAFKA_JMX_OPTS | \
            KAFKA_JMX_PORT | KAFKA_JMX_HOSTNAME | KAFKA_LOG4J_OPTS | KAFKA_LOG4J_ROOT_LOGLEVEL | \
            KAFKA_LOG4J_LOGGERS | KAFKA_TOOLS_LOG4J_LOGLEVEL | KAFKA_DEBUG | KAFKA_VERSION) continue ;;
        esac
        key=${name#KAFKA_}
        key=${key,,}
        key=${key//___/-}
        key=${key//__/@}
        key=${key//_/.}
        key=${key//@/_}
        value=${!name}
        printf '%s=%s\n' "$key" "${value//"$backslash"/"$backslash$backslash"}"
    done
    cat "$secrets/server.properties"
} >"$properties"

if [[ -f $storage/meta.properties ]]; then
    if [[ ! -f $marker ]]; then
        fail "the storage in $storage was formatted without the SCRAM users every client authenticates as, and" \
            "Kafka adds them only when formatting: remove this node's data volume (losing its topics) and start" \
            "again: \`docker compose down\`, then \`docker volume rm ektp-pipeline_kafka-data\` (the cluster's:" \
            "ektp-pipeline_kafka-1-data, -2-, -3-)"
    fi
    if [[ $(<"$marker") != "$security" ]]; then
        fail "the storage in $storage was formatted with other SCRAM users or passwords than $secrets holds now" \
            "(the ektp-secrets volume made again, or a role added?): put that volume back, or remove this node's data" \
            "volume (losing its topics) and start again"
    fi
else
    arguments=$config/format.args
    {
        for argument in kafka.tools.StorageTool format --cluster-id "$CLUSTER_ID" --config "$properties" \
            --ignore-formatted; do
            java_argument "$argument"
        done
        cat "$secrets/format.args"
    } >"$arguments"
    # kafka-storage.sh is `kafka-run-class.sh kafka.tools.StorageTool "$@"`: here the class and its arguments come
    # from the @argfile, which java expands before it looks for the class.
    "$home/bin/kafka-run-class.sh" "@$arguments" || { rm -f "$arguments"; fail "formatting $storage failed"; }
    rm -f "$arguments"
    printf '%s\n' "$security" >"$marker"
fi

exec "$home/bin/kafka-server-start.sh" "$properties"
