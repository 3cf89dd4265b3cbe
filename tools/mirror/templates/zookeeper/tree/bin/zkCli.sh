#!/usr/bin/env bash
# ZooKeeper command-line client: zkCli.sh [-server host:port] [command ...]
set -eo pipefail
ZOOBINDIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$ZOOBINDIR/zkEnv.sh"
# shellcheck disable=SC2086  # the *FLAGS are word lists
exec "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" $CLIENT_JVMFLAGS $JVMFLAGS \
  -cp "$CLASSPATH" org.apache.zookeeper.ZooKeeperMain "$@"
