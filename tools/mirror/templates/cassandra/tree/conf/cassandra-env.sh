# Environment of the Cassandra server, sourced by bin/cassandra after the jvm*.options files
# were read into JVM_OPTS.
#
#   MAX_HEAP_SIZE, HEAP_NEWSIZE  heap (default: computed from the memory of the host, as
#                                Apache's script does: max(min(RAM/2, 1G), min(RAM/4, 8G)))
#   JMX_PORT                     local JMX port for nodetool (default 7199, loopback only)
#   CASSANDRA_LOG_DIR            log directory (default $CASSANDRA_HOME/logs)
#   JVM_EXTRA_OPTS               appended last

if [ -z "${MAX_HEAP_SIZE:-}" ]; then
  ram_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo 2>/dev/null || echo 4096)
  cpus=$(nproc 2>/dev/null || echo 1)
  half=$((ram_mb / 2)); [ "$half" -gt 1024 ] && half=1024
  quarter=$((ram_mb / 4)); [ "$quarter" -gt 8192 ] && quarter=8192
  heap=$half; [ "$quarter" -gt "$heap" ] && heap=$quarter
  MAX_HEAP_SIZE="${heap}M"
  if [ -z "${HEAP_NEWSIZE:-}" ]; then
    new=$((cpus * 100)); [ "$new" -gt $((heap / 4)) ] && new=$((heap / 4))
    HEAP_NEWSIZE="${new}M"
  fi
fi
JVM_OPTS="$JVM_OPTS -Xms$MAX_HEAP_SIZE -Xmx$MAX_HEAP_SIZE"
[ -n "${HEAP_NEWSIZE:-}" ] && JVM_OPTS="$JVM_OPTS -Xmn$HEAP_NEWSIZE"

# jamm measures object sizes (memtables, caches); Cassandra refuses to start without it.
for jamm in "$CASSANDRA_HOME"/lib/jamm-*.jar; do
  [ -f "$jamm" ] && JVM_OPTS="$JVM_OPTS -javaagent:$jamm"
  break
done

# JMX on loopback only, without authentication (nodetool on the same host).
JVM_OPTS="$JVM_OPTS -Dcassandra.jmx.local.port=${JMX_PORT:-7199}"

CASSANDRA_LOG_DIR=${CASSANDRA_LOG_DIR:-$CASSANDRA_HOME/logs}
JVM_OPTS="$JVM_OPTS -Dcassandra.logdir=$CASSANDRA_LOG_DIR"
JVM_OPTS="$JVM_OPTS -Dcassandra.storagedir=${CASSANDRA_STORAGE_DIR:-$CASSANDRA_HOME/data}"
JVM_OPTS="$JVM_OPTS -Dlogback.configurationFile=logback.xml"
JVM_OPTS="$JVM_OPTS -Djava.library.path=$CASSANDRA_HOME/lib/sigar-bin"
JVM_OPTS="$JVM_OPTS ${JVM_EXTRA_OPTS:-}"
