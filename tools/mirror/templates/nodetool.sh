#!/usr/bin/env bash
# Cassandra's nodetool (JMX on localhost:7199 unless -h/-p say otherwise).
set -euo pipefail
CASSANDRA_HOME=${CASSANDRA_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
CASSANDRA_CONF=${CASSANDRA_CONF:-$CASSANDRA_HOME/conf}
if [ -n "${JAVA_HOME:-}" ]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=$(command -v java); fi
exec "$JAVA" -Xmx128m -cp "$CASSANDRA_CONF:$CASSANDRA_HOME/lib/*" \
  -Dcassandra.storagedir="${CASSANDRA_STORAGE_DIR:-$CASSANDRA_HOME/data}" \
  -Dlogback.configurationFile=logback-tools.xml \
  org.apache.cassandra.tools.NodeTool -p "${JMX_PORT:-7199}" "$@"
