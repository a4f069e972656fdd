# make demo: a failover on real IPVS and real Pacemaker, in the lab VM.
# make test: every test (host tests, then the kernel and cluster tests inside the lab VM).
PY := .venv/bin/python
VM := $(PY) -m lvsocf.lab.vm --timeout 3000 --
PYTEST := $(PY) -m pytest -p no:cacheprovider --color=no -q

.PHONY: setup test test-host test-vm lint demo bench

setup:
	scripts/setup

test: setup lint test-host test-vm

lint:
	$(PY) -m ruff check .

test-host:
	$(PYTEST) -m "not kernel and not cluster" tests

test-vm:
	$(VM) $(PYTEST) -m "kernel or cluster" tests

demo: setup
	$(PY) -m lvsocf.lab.demo

bench: setup
	$(VM) $(PY) -m bench.apply
