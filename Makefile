# The two commands a new user needs:  make up   and   make test
.PHONY: up down test unit call status install bench bench-offer bench-load clean

install:            ## install everything the hotline needs (idempotent)
	bash scripts/install-system.sh
	bash scripts/install-asterisk.sh
	bash scripts/install-python.sh

up: install         ## install what is missing, then start Redis, Asterisk, the controller and demo agents
	.venv/bin/hotline up

down:
	.venv/bin/hotline down

call:               ## place a demo citizen call (presses 1) and print its record
	.venv/bin/hotline call --digits 1

status:
	.venv/bin/hotline status

test: install       ## run every test: unit, property and real Asterisk + SIPp integration
	.venv/bin/python -m pytest tests -q

unit:
	.venv/bin/python -m pytest tests/unit -q

bench: install      ## routing decision, Redis claim round trip, fast-offer decision (about 30 s)
	.venv/bin/python -m benchmarks.routing_bench
	.venv/bin/python -m benchmarks.redis_claim_bench
	.venv/bin/python -m benchmarks.fast_offer_bench

bench-offer: install  ## offer latency on real Asterisk, ours against app_queue (about 10 min)
	HOTLINE_TEST_PORT_BASE=35000 .venv/bin/python -m benchmarks.offer_latency_bench

bench-load: install  ## live load on real Asterisk at rising rates, ours against app_queue; writes var/bench-load-*.json (about 10 min)
	HOTLINE_TEST_PORT_BASE=$${HOTLINE_TEST_PORT_BASE:-36000} .venv/bin/python -m benchmarks.live_load_bench $(LOAD_ARGS)

clean: down
	rm -rf var/*.sqlite3 var/*.log var/run var/spool-*.jsonl
