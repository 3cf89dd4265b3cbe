# Shared by bin/hadoop, bin/hdfs, bin/yarn and bin/mapred (built by tools/mirror; sourced).
HADOOP_HOME=${HADOOP_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
HADOOP_CONF_DIR=${HADOOP_CONF_DIR:-$HADOOP_HOME/etc/hadoop}
HADOOP_LOG_DIR=${HADOOP_LOG_DIR:-$HADOOP_HOME/logs}
[ -f "$HADOOP_CONF_DIR/hadoop-env.sh" ] && . "$HADOOP_CONF_DIR/hadoop-env.sh"
if [ -n "${JAVA_HOME:-}" ]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=$(command -v java); fi

hadoop_classpath() {
  # share/hadoop/hdfs itself holds the web UIs (webapps/), as in Apache's layout.
  local cp="$HADOOP_CONF_DIR:$HADOOP_HOME/share/hadoop/hdfs" dir
  for dir in common common/lib hdfs hdfs/lib yarn yarn/lib mapreduce mapreduce/lib; do
    [ -d "$HADOOP_HOME/share/hadoop/$dir" ] && cp="$cp:$HADOOP_HOME/share/hadoop/$dir/*"
  done
  echo "$cp${HADOOP_CLASSPATH:+:$HADOOP_CLASSPATH}"
}

# hadoop_run NAME-OF-DAEMON-OR-EMPTY CLASS ARGS...: the JVM in the foreground.
hadoop_run() {
  local daemon_opts=$1 class=$2; shift 2
  local heap=""
  [ -n "${HADOOP_HEAPSIZE_MAX:-}" ] && heap="-Xmx${HADOOP_HEAPSIZE_MAX}"
  [[ "$heap" =~ [0-9]$ ]] && heap="${heap}m"
  exec "$JAVA" $heap ${HADOOP_OPTS:-} ${daemon_opts} \
    "-Dhadoop.log.dir=$HADOOP_LOG_DIR" "-Dhadoop.log.file=${HADOOP_LOGFILE:-hadoop.log}" \
    "-Dhadoop.home.dir=$HADOOP_HOME" "-Dhadoop.root.logger=${HADOOP_ROOT_LOGGER:-INFO,console}" \
    "-Dyarn.log.dir=$HADOOP_LOG_DIR" "-Dyarn.home.dir=$HADOOP_HOME" \
    -cp "$(hadoop_classpath)" "$class" "$@"
}

hadoop_common_command() {
  case "$1" in
    classpath) hadoop_classpath; exit 0 ;;
    version) shift; hadoop_run "" org.apache.hadoop.util.VersionInfo "$@" ;;
    jar) shift; hadoop_run "" org.apache.hadoop.util.RunJar "$@" ;;
    checknative) shift; hadoop_run "" org.apache.hadoop.util.NativeLibraryChecker "$@" ;;
    envvars) echo "JAVA_HOME='${JAVA_HOME:-}'"; echo "HADOOP_HOME='$HADOOP_HOME'";
             echo "HADOOP_CONF_DIR='$HADOOP_CONF_DIR'"; echo "HADOOP_LOG_DIR='$HADOOP_LOG_DIR'"; exit 0 ;;
  esac
}
