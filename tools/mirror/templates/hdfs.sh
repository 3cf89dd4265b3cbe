#!/usr/bin/env bash
# hdfs namenode|datanode|secondarynamenode|dfs|dfsadmin|fsck|getconf|haadmin|classpath|version
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/libexec/hadoop-launcher.sh"
[ $# -ge 1 ] || { echo "usage: hdfs namenode|datanode|secondarynamenode|dfs|dfsadmin|fsck|getconf" >&2; exit 1; }
hadoop_common_command "$@"
command=$1; shift
case "$command" in
  namenode) hadoop_run "${HDFS_NAMENODE_OPTS:-}" org.apache.hadoop.hdfs.server.namenode.NameNode "$@" ;;
  datanode) hadoop_run "${HDFS_DATANODE_OPTS:-}" org.apache.hadoop.hdfs.server.datanode.DataNode "$@" ;;
  secondarynamenode) hadoop_run "${HDFS_SECONDARYNAMENODE_OPTS:-}" org.apache.hadoop.hdfs.server.namenode.SecondaryNameNode "$@" ;;
  dfs) hadoop_run "" org.apache.hadoop.fs.FsShell "$@" ;;
  dfsadmin) hadoop_run "" org.apache.hadoop.hdfs.tools.DFSAdmin "$@" ;;
  fsck) hadoop_run "" org.apache.hadoop.hdfs.tools.DFSck "$@" ;;
  getconf) hadoop_run "" org.apache.hadoop.hdfs.tools.GetConf "$@" ;;
  haadmin) hadoop_run "" org.apache.hadoop.hdfs.tools.DFSHAAdmin "$@" ;;
  *) echo "hdfs: unknown command $command" >&2; exit 1 ;;
esac
