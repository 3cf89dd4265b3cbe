#!/usr/bin/env bash
# Cassandra launcher: cassandra -f (the JVM in the foreground) [-Dname=value ...]
set -euo pipefail
CASSANDRA_HOME=${CASSANDRA_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
CASSANDRA_CONF=${CASSANDRA_CONF:-$CASSANDRA_HOME/conf}
. "$CASSANDRA_CONF/cassandra-env.sh"
foreground=no
args=()
for arg in "$@"; do
  case "$arg" in
    -f) foreground=yes ;;
    -R) ;;
    *) args+=("$arg") ;;
  esac
done
if [ "$foreground" != yes ]; then
  echo "cassandra: only -f (foreground) is supported; run it under systemd" >&2; exit 2
fi
exec "$JAVA" $JVM_OPTS "${args[@]}" -Dcassandra-foreground=yes \
  -cp "$CLASSPATH" org.apache.cassandra.service.CassandraDaemon
