#!/usr/bin/env bash
# ZooKeeper server: zkServer.sh start-foreground|status|version [config file]
# The config file defaults to $ZOOCFGDIR/zoo.cfg (a bare name is looked up in $ZOOCFGDIR).
# `status` asks the server with the `srvr` four-letter word (allow it in
# 4lw.commands.whitelist); ZK_STATUS_HOST overrides the address it asks.
set -eo pipefail
ZOOBINDIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$ZOOBINDIR/zkEnv.sh"
command=${1:-start-foreground}
cfg=${2:-zoo.cfg}
[[ "$cfg" == */* ]] || cfg="$ZOOCFGDIR/$cfg"
setting() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$cfg" | tail -1 | tr -d '[:space:]'; }
case "$command" in
  start-foreground)
    # shellcheck disable=SC2086  # the *FLAGS are word lists
    exec "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" $SERVER_JVMFLAGS $JVMFLAGS \
      -cp "$CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg" ;;
  status)
    host=${ZK_STATUS_HOST:-$(setting clientPortAddress)}
    port=$(setting clientPort)
    exec "$JAVA" -cp "$CLASSPATH" org.apache.zookeeper.client.FourLetterWordMain \
      "${host:-localhost}" "${port:-2181}" srvr ;;
  version)
    exec "$JAVA" -cp "$CLASSPATH" org.apache.zookeeper.Version ;;
  *) echo "usage: $0 start-foreground|status|version [zoo.cfg]" >&2; exit 2 ;;
esac
