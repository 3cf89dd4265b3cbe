#!/usr/bin/env bash
# hadoop fs|jar|classpath|version|checknative|CLASSNAME [args]
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/libexec/hadoop-launcher.sh"
[ $# -ge 1 ] || { echo "usage: hadoop fs|jar|classpath|version|checknative|CLASSNAME" >&2; exit 1; }
hadoop_common_command "$@"
command=$1; shift
case "$command" in
  fs|dfs) hadoop_run "" org.apache.hadoop.fs.FsShell "$@" ;;
  key) hadoop_run "" org.apache.hadoop.crypto.key.KeyShell "$@" ;;
  *) hadoop_run "" "$command" "$@" ;;
esac
