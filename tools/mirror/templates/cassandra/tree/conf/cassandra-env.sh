# Environment of the Cassandra launchers (sourced): JVM options from the jvm*.options files.
if [ -n "${JAVA_HOME:-}" ]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=$(command -v java); fi
CASSANDRA_LOG_DIR=${CASSANDRA_LOG_DIR:-$CASSANDRA_HOME/logs}
CLASSPATH="$CASSANDRA_CONF:$CASSANDRA_HOME/lib/*"
options() { [ -f "$1" ] && grep -vE '^\s*(#|$)' "$1" | tr '\n' ' '; return 0; }
JVM_OPTS="$(options "$CASSANDRA_CONF/jvm-server.options") $(options "$CASSANDRA_CONF/jvm17-server.options")"
if [ -n "${MAX_HEAP_SIZE:-}" ]; then JVM_OPTS="$JVM_OPTS -Xms$MAX_HEAP_SIZE -Xmx$MAX_HEAP_SIZE"; fi
if [ -n "${HEAP_NEWSIZE:-}" ]; then JVM_OPTS="$JVM_OPTS -Xmn$HEAP_NEWSIZE"; fi
jamm=$(ls "$CASSANDRA_HOME"/lib/jamm-*.jar 2>/dev/null | head -1)
[ -n "$jamm" ] && JVM_OPTS="$JVM_OPTS -javaagent:$jamm"
JVM_OPTS="$JVM_OPTS -Dcassandra.logdir=$CASSANDRA_LOG_DIR -Dcassandra.storagedir=${CASSANDRA_STORAGE_DIR:-$CASSANDRA_HOME/data}"
JVM_OPTS="$JVM_OPTS -Dlogback.configurationFile=$CASSANDRA_CONF/logback.xml"
JVM_OPTS="$JVM_OPTS -Dcassandra.jmx.local.port=${JMX_PORT:-7199}"
JVM_OPTS="$JVM_OPTS ${JVM_EXTRA_OPTS:-}"
