#!/usr/bin/env bash
# Runs a class of Kafka in the foreground: kafka-run-class.sh [-name N] CLASS [args...]
set -euo pipefail
base_dir=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "-name" ]; then shift 2; fi
if [ "${1:-}" = "-daemon" ]; then echo "kafka-run-class.sh: -daemon is not supported; run it under systemd" >&2; exit 2; fi
LOG_DIR=${LOG_DIR:-$base_dir/logs}
KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:$base_dir/config/tools-log4j.properties}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx256M}
KAFKA_JVM_PERFORMANCE_OPTS=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true}
# JMX as Apache's script has it: an empty KAFKA_JMX_OPTS turns on the JVM's management agent
# (its local connector listens on a random port), JMX_PORT adds a remote port.
KAFKA_JMX_OPTS=${KAFKA_JMX_OPTS:--Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false}
if [ -n "${JMX_PORT:-}" ]; then KAFKA_JMX_OPTS="$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.port=$JMX_PORT"; fi
if [ -n "${JAVA_HOME:-}" ]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=$(command -v java); fi
exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_JMX_OPTS ${KAFKA_OPTS:-} \
  "-Dkafka.logs.dir=$LOG_DIR" $KAFKA_LOG4J_OPTS -cp "$base_dir/libs/*${CLASSPATH:+:$CLASSPATH}" "$@"
