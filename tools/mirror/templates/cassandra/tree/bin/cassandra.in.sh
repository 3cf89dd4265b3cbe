# Shared by bin/cassandra and bin/nodetool (sourced): java, the classpath, the options files.
if [ -n "${JAVA_HOME:-}" ]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA=$(command -v java || true)
fi
if [ -z "$JAVA" ] || [ ! -x "$JAVA" ]; then
  echo "ERROR: no java found: set JAVA_HOME" >&2
  exit 1
fi
CLASSPATH="$CASSANDRA_CONF:$CASSANDRA_HOME/lib/*"

# The major version of $JAVA (17 for "17.0.15").
java_major() {
  "$JAVA" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}

# jvm_options server|clients: the options of jvm-<kind>.options and jvm<major>-<kind>.options.
jvm_options() {
  local file
  for file in "$CASSANDRA_CONF/jvm-$1.options" "$CASSANDRA_CONF/jvm$(java_major)-$1.options"; do
    [ -f "$file" ] && grep -vE '^[[:space:]]*(#|$)' "$file" | tr '\n' ' '
  done
  return 0
}
