# Switchyard. Two commands do all set-up on a fresh machine: `make run` and `make test`.
.PHONY: run test bench chaos build lint servers stop clean-run help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## Install what is missing, start the servers and every service on loopback (Ctrl-C stops all)
	@bash scripts/run.sh

test: ## Install what is missing, start the servers, run the whole test suite against them
	@bash scripts/test.sh

bench: ## Benchmarks: the wrappers against the C libraries and the servers' own tools, same run
	@bash scripts/bench.sh

chaos: ## Kill workers, restart the servers, break the feed under load; print what was lost (nothing)
	@bash scripts/chaos.sh

build: ## Build everything in debug mode
	swift build

lint: ## Validate docker-compose.yml, k8s/ (rendered overlays), openapi.yaml, the Dockerfile's libraries
	@bash scripts/lint.sh

servers: ## Start only PostgreSQL, Redis and RabbitMQ (reused when already running)
	@bash scripts/install-deps.sh && bash scripts/servers.sh start

stop: ## Stop the servers
	@bash scripts/servers.sh stop

clean-run: ## Stop the servers, delete the local run's data (/var/lib/switchyard/<checkout>-<hash>)
	@bash scripts/servers.sh clean
