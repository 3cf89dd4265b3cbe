#!/usr/bin/env bash
# ZooKeeper command-line client: zkCli.sh [-server host:port] [command ...]
set -euo pipefail
ZOOBINDIR=$(cd "$(dirname "$0")" && pwd)
. "$ZOOBINDIR/zkEnv.sh"
exec "$JAVA" ${CLIENT_JVMFLAGS:-} $JVMFLAGS -Dzookeeper.log.dir="$ZOO_LOG_DIR" \
  -cp "$CLASSPATH" org.apache.zookeeper.ZooKeeperMain "$@"
