# Environment of the ZooKeeper launchers (sourced): java, the classpath, JVM flags.
#   ZOOCFGDIR (default <home>/conf; its java.env is sourced if present), ZOO_LOG_DIR,
#   ZK_SERVER_HEAP / ZK_CLIENT_HEAP (MB), SERVER_JVMFLAGS, CLIENT_JVMFLAGS, JVMFLAGS, JAVA_HOME
ZOOKEEPER_PREFIX=$(cd "$ZOOBINDIR/.." && pwd)
ZOOCFGDIR=${ZOOCFGDIR:-$ZOOKEEPER_PREFIX/conf}
if [ -f "$ZOOCFGDIR/java.env" ]; then
  # shellcheck disable=SC1091
  . "$ZOOCFGDIR/java.env"
fi
ZOO_LOG_DIR=${ZOO_LOG_DIR:-$ZOOKEEPER_PREFIX/logs}
if [ -n "${JAVA_HOME:-}" ]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA=$(command -v java || true)
fi
if [ -z "$JAVA" ] || [ ! -x "$JAVA" ]; then
  echo "ERROR: no java found: set JAVA_HOME" >&2
  exit 1
fi
CLASSPATH="$ZOOCFGDIR:$ZOOKEEPER_PREFIX/lib/*${CLASSPATH:+:$CLASSPATH}"
# The heap first, so that an -Xmx in SERVER_JVMFLAGS / CLIENT_JVMFLAGS wins.
SERVER_JVMFLAGS="-Xmx${ZK_SERVER_HEAP:-1000}m ${SERVER_JVMFLAGS:-}"
CLIENT_JVMFLAGS="-Xmx${ZK_CLIENT_HEAP:-256}m ${CLIENT_JVMFLAGS:-}"
JVMFLAGS=${JVMFLAGS:-}
