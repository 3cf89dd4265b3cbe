# Shared by bin/hadoop, bin/hdfs, bin/yarn and bin/mapred (sourced). Runs Java in the foreground.
#
# Environment: JAVA_HOME, HADOOP_HOME (default: this tarball), HADOOP_CONF_DIR (default
# $HADOOP_HOME/etc/hadoop), HADOOP_LOG_DIR (default $HADOOP_HOME/logs), HADOOP_OPTS,
# HADOOP_CLIENT_OPTS (commands that are not daemons), HADOOP_HEAPSIZE_MAX (e.g. 1g or 1024),
# HADOOP_CLASSPATH (appended), HADOOP_ROOT_LOGGER (default INFO,console), HADOOP_LOGFILE,
# and the per-daemon HDFS_*_OPTS / YARN_*_OPTS / MAPRED_*_OPTS, applied after HADOOP_OPTS.

HADOOP_HOME=${HADOOP_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
HADOOP_CONF_DIR=${HADOOP_CONF_DIR:-$HADOOP_HOME/etc/hadoop}
if [ -f "$HADOOP_CONF_DIR/hadoop-env.sh" ]; then
  # shellcheck disable=SC1091
  . "$HADOOP_CONF_DIR/hadoop-env.sh"
fi
HADOOP_LOG_DIR=${HADOOP_LOG_DIR:-$HADOOP_HOME/logs}
if [ -n "${JAVA_HOME:-}" ]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA=$(command -v java || true)
fi
if [ -z "$JAVA" ] || [ ! -x "$JAVA" ]; then
  echo "ERROR: no java found: set JAVA_HOME" >&2
  exit 1
fi

hadoop_classpath() {
  # The configuration first; share/hadoop/hdfs itself holds the HDFS web UIs (webapps/).
  local cp="$HADOOP_CONF_DIR" part
  for part in common hdfs yarn mapreduce; do
    [ "$part" = hdfs ] && cp="$cp:$HADOOP_HOME/share/hadoop/hdfs"
    [ -d "$HADOOP_HOME/share/hadoop/$part/lib" ] && cp="$cp:$HADOOP_HOME/share/hadoop/$part/lib/*"
    [ -d "$HADOOP_HOME/share/hadoop/$part" ] && cp="$cp:$HADOOP_HOME/share/hadoop/$part/*"
  done
  echo "$cp${HADOOP_CLASSPATH:+:$HADOOP_CLASSPATH}"
}

# hadoop_run DAEMON-NAME-OR-EMPTY "DAEMON-OPTS" CLASS ARGS...: exec the JVM in the foreground.
hadoop_run() {
  local daemon=$1 daemon_opts=$2 class=$3
  shift 3
  local heap=${HADOOP_HEAPSIZE_MAX:-}
  if [ -n "$heap" ]; then
    [[ "$heap" =~ ^[0-9]+$ ]] && heap="${heap}m"
    heap="-Xmx$heap"
  fi
  local logfile=${HADOOP_LOGFILE:-hadoop.log}
  if [ -n "$daemon" ] && [ -z "${HADOOP_LOGFILE:-}" ]; then
    logfile="hadoop-${USER:-$(id -un)}-$daemon-$(hostname).log"
  fi
  local opts="${HADOOP_OPTS:-}"
  [ -z "$daemon" ] && opts="$opts ${HADOOP_CLIENT_OPTS:-}"
  # shellcheck disable=SC2086  # the *_OPTS are word lists, as in Apache's scripts
  exec "$JAVA" -Dproc_"${daemon:-${HADOOP_SUBCMD:-hadoop}}" $heap $opts $daemon_opts \
    "-Dhadoop.log.dir=$HADOOP_LOG_DIR" "-Dhadoop.log.file=$logfile" \
    "-Dyarn.log.dir=$HADOOP_LOG_DIR" "-Dyarn.log.file=$logfile" \
    "-Dhadoop.home.dir=$HADOOP_HOME" "-Dyarn.home.dir=$HADOOP_HOME" \
    "-Dhadoop.id.str=${USER:-$(id -un)}" \
    "-Dhadoop.root.logger=${HADOOP_ROOT_LOGGER:-INFO,console}" \
    "-Dyarn.root.logger=${YARN_ROOT_LOGGER:-${HADOOP_ROOT_LOGGER:-INFO,console}}" \
    "-Dhadoop.policy.file=hadoop-policy.xml" \
    "-Dhadoop.security.logger=${HADOOP_SECURITY_LOGGER:-INFO,NullAppender}" \
    -cp "$(hadoop_classpath)" "$class" "$@"
}

# Subcommands every launcher has; returns (does not exit) when $1 is none of them.
hadoop_common_command() {
  local command=$1
  shift
  case "$command" in
    classpath) hadoop_classpath; exit 0 ;;
    version) hadoop_run "" "" org.apache.hadoop.util.VersionInfo "$@" ;;
    jar) hadoop_run "" "" org.apache.hadoop.util.RunJar "$@" ;;
    envvars)
      echo "JAVA_HOME='${JAVA_HOME:-}'"
      echo "HADOOP_HOME='$HADOOP_HOME'"
      echo "HADOOP_CONF_DIR='$HADOOP_CONF_DIR'"
      echo "HADOOP_LOG_DIR='$HADOOP_LOG_DIR'"
      exit 0 ;;
  esac
}

hadoop_usage() {
  echo "usage: $(basename "$0") $1" >&2
  exit 1
}
