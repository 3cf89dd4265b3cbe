#!/usr/bin/env bash
# mapred classpath|version|job
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/libexec/hadoop-launcher.sh"
[ $# -ge 1 ] || { echo "usage: mapred classpath|version|job" >&2; exit 1; }
hadoop_common_command "$@"
command=$1; shift
case "$command" in
  job) hadoop_run "" org.apache.hadoop.mapred.JobClient "$@" ;;
  *) echo "mapred: unknown command $command" >&2; exit 1 ;;
esac
