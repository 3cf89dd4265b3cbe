# Environment of the Hadoop commands, sourced by bin/hadoop, bin/hdfs, bin/yarn and bin/mapred.
# Examples:
#   export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
#   export HADOOP_HEAPSIZE_MAX=1g
#   export HDFS_NAMENODE_OPTS="--add-opens=java.base/java.lang=ALL-UNNAMED"
