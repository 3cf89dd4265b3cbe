#!/usr/bin/env bash
# ZooKeeper server launcher: start-foreground | status | version [cfg file in $ZOOCFGDIR]
set -euo pipefail
ZOOBINDIR=$(cd "$(dirname "$0")" && pwd)
. "$ZOOBINDIR/zkEnv.sh"
command=${1:-start-foreground}
cfg="$ZOOCFGDIR/${2:-zoo.cfg}"
case "$command" in
  start-foreground)
    exec "$JAVA" $SERVER_JVMFLAGS $JVMFLAGS "-Dzookeeper.log.dir=$ZOO_LOG_DIR" \
      -cp "$CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg" ;;
  status)
    port=$(sed -n 's/^clientPort=//p' "$cfg" | tr -d '[:space:]')
    exec "$JAVA" -cp "$CLASSPATH" org.apache.zookeeper.client.FourLetterWordMain \
      "${ZK_STATUS_HOST:-localhost}" "${port:-2181}" srvr ;;
  version)
    exec "$JAVA" -cp "$CLASSPATH" org.apache.zookeeper.version.util.VerGen --help 2>/dev/null || true ;;
  *) echo "usage: $0 start-foreground|status [zoo.cfg]" >&2; exit 2 ;;
esac
