#!/usr/bin/env bash
# yarn resourcemanager|nodemanager|application|node|logs|jar|classpath|version
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/libexec/hadoop-launcher.sh"
[ $# -ge 1 ] || { echo "usage: yarn resourcemanager|nodemanager|application|node|logs|jar" >&2; exit 1; }
hadoop_common_command "$@"
command=$1; shift
case "$command" in
  resourcemanager) hadoop_run "${YARN_RESOURCEMANAGER_OPTS:-}" org.apache.hadoop.yarn.server.resourcemanager.ResourceManager "$@" ;;
  nodemanager) hadoop_run "${YARN_NODEMANAGER_OPTS:-}" org.apache.hadoop.yarn.server.nodemanager.NodeManager "$@" ;;
  application|applicationattempt|container) hadoop_run "" org.apache.hadoop.yarn.client.cli.ApplicationCLI "$command" "$@" ;;
  node) hadoop_run "" org.apache.hadoop.yarn.client.cli.NodeCLI "$@" ;;
  logs) hadoop_run "" org.apache.hadoop.yarn.client.cli.LogsCLI "$@" ;;
  rmadmin) hadoop_run "" org.apache.hadoop.yarn.client.cli.RMAdminCLI "$@" ;;
  *) echo "yarn: unknown command $command" >&2; exit 1 ;;
esac
