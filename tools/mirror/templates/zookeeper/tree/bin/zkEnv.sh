# Environment of the ZooKeeper launchers (sourced).
ZOOKEEPER_PREFIX=$(cd "$ZOOBINDIR/.." && pwd)
ZOOCFGDIR=${ZOOCFGDIR:-$ZOOKEEPER_PREFIX/conf}
ZOO_LOG_DIR=${ZOO_LOG_DIR:-$ZOOKEEPER_PREFIX/logs}
if [ -n "${JAVA_HOME:-}" ]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=$(command -v java); fi
CLASSPATH="$ZOOCFGDIR:$ZOOKEEPER_PREFIX/lib/*"
SERVER_JVMFLAGS="${SERVER_JVMFLAGS:-} -Xmx${ZK_SERVER_HEAP:-1000}m"
JVMFLAGS=${JVMFLAGS:-}
