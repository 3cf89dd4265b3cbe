# Entry points of the project. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help up down shell test lint unit

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-20s %s\n", $$1, $$2}'

up: ## Build and serve the mirror, boot the local test host and install the stack on it
	tools/up

down: ## Remove the local test host and stop the mirror server
	tools/down

shell: ## Open a shell on the local test host
	.venv/bin/python -m tools.testhost ssh lab

test: ## Run every test: lint, unit tests, the mirror, and all Molecule scenarios on nspawn hosts
	tools/test

lint: ## ansible-lint (production profile) and ruff
	tools/bootstrap >/dev/null && .venv/bin/ansible-lint --profile production && .venv/bin/ruff check . && .venv/bin/ruff format --check .

unit: ## Unit tests only
	tools/bootstrap >/dev/null && .venv/bin/pytest -q tests/unit
