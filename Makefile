# Entry points of the project. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The playbook targets run against this inventory (the local test host by default):
#   make als-train INVENTORY=inventories/vagrant
#   make kafka-produce ARGS="-e movielens_produce_rate=500"
INVENTORY ?= inventories/local
ARGS ?=
# $(call playbooks,a b): one ansible-playbook run of playbooks/a.yml, then playbooks/b.yml.
playbooks = tools/bootstrap >/dev/null && \
  .venv/bin/ansible-playbook -i $(INVENTORY) $(strip $(1:%=playbooks/%.yml) $(ARGS))

# The original project's per-task targets, plus kafka-topics, als-tune and pipeline: each runs
# playbooks/<the target with _ in place of ->.yml.
PLAYBOOK_TARGETS := hdfs-configure hdfs-clean hdfs-upload-csv hdfs-download-log \
  cassandra-configure kafka-topics als-train als-tune kafka-produce kafka-stream web pipeline

.PHONY: help build up cluster-up init down cluster-down clean shell status backup restore test lint unit $(PLAYBOOK_TARGETS)

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-20s %s\n", $$1, $$2}'
	@echo "Playbook targets take INVENTORY=... (default $(INVENTORY)) and ARGS=... (ansible-playbook options)."

build: ## Prepare the control node (.venv) and build the mirror (build/mirror or $LAB_MIRROR_DIR)
	tools/bootstrap
	.venv/bin/python -m tools.mirror build --out "$${LAB_MIRROR_DIR:-build/mirror}"

up: ## Build and serve the mirror, boot the local test host and install the stack on it
	tools/up

cluster-up: ## Like up, on three local hosts with their own addresses (inventories/cluster)
	tools/up cluster

init: ## Prepare the pipeline: HDFS folders and upload, Kafka topics, Cassandra keyspace and tables
	$(call playbooks,hdfs_configure hdfs_upload_csv kafka_topics cassandra_configure)

hdfs-configure: ## Create the pipeline's HDFS folders
hdfs-clean: ## Empty the pipeline's HDFS folders (the folders stay)
hdfs-upload-csv: ## Upload the MovieLens CSV files into HDFS and ingest them
hdfs-download-log: ## Copy the newest log of HDFS /logs to the control node
cassandra-configure: ## Create the Cassandra keyspace and the recommendations tables
kafka-topics: ## Create the Kafka topics (ratings and dead letters)
als-train: ## Train ALS on Spark and publish a model version in HDFS
als-tune: ## Search ALS settings on Spark; the report comes back to the control node
kafka-produce: ## Replay the dataset's ratings into Kafka at a chosen rate
kafka-stream: ## Start the streaming job: ratings from Kafka to recommendations in Cassandra
web: ## Install the recommendations page (HTTPS on port 8050) and movielens-status
pipeline: ## Every pipeline playbook in order, from the HDFS folders to the page, then a replay
$(PLAYBOOK_TARGETS):
	$(call playbooks,$(subst -,_,$@))

down: ## Remove the local test host and stop the mirror server
	tools/down

cluster-down: ## Remove the three local cluster hosts (and the mirror server when no host is left)
	tools/down cluster

clean: down ## make down, then remove the project's build outputs (build/; caches in ~/.cache stay)
	rm -rf build

status: ## Health of every service, UI links, HDFS usage, consumer lag, model, a user's top-N (STATUS_USER=7)
	$(call playbooks,status) $(if $(STATUS_USER),-e status_user=$(STATUS_USER))

backup: ## A new dated backup (models, checkpoint, keyspace, configuration) in build/backups
	$(call playbooks,backup)

restore: ## Bring a backup back onto the stack: make restore BACKUP=build/backups/<time>
	@test -n "$(BACKUP)" || { echo "make restore BACKUP=<a directory made by make backup>" >&2; exit 2; }
	$(call playbooks,restore) -e backup_restore_from=$(abspath $(BACKUP))

shell: ## Open a shell on the local test host
	.venv/bin/python -m tools.testhost ssh lab

test: ## Run every test: lint, unit tests, the mirror, and all Molecule scenarios on nspawn hosts
	tools/test

lint: ## ansible-lint (production profile) and ruff
	tools/bootstrap >/dev/null && .venv/bin/ansible-lint --profile production && .venv/bin/ruff check . && .venv/bin/ruff format --check .

unit: ## Unit tests only
	tools/bootstrap >/dev/null && .venv/bin/pytest -q tests/unit
