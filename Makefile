# make demo: a failover on real IPVS and real Pacemaker, in the lab VM.
# make test: every test (host tests, then the kernel and cluster tests inside the lab VM).
PY := .venv/bin/python
VM := $(PY) -m lvsocf.lab.vm --timeout 4200 --
PYTEST := env LVSOCF_NO_SKIPS=1 $(PY) -m pytest -p no:cacheprovider --color=no -q

.PHONY: setup test test-host test-vm test-installed lint demo demo-installed bench bench-apply bench-checks bench-agents \
	bench-failover

setup:
	scripts/setup

test: setup lint test-host test-vm test-installed

lint:
	$(PY) -m ruff check .

test-host:
	$(PYTEST) -m "not kernel and not cluster and not installed" tests

test-vm:
	$(VM) $(PYTEST) -m "kernel or cluster" tests

# The product as users install it: the .deb and the .rpm built from this tree, installed in
# the VM (its throw-away overlay root) and run from their files alone (tests/installed).
INSTALLED_DIST := build/dist
test-installed: setup packages-for-vm
	$(VM) env LVSOCF_DIST=$(INSTALLED_DIST) $(PYTEST) -m installed tests/installed

packages-for-vm:
	rm -rf $(INSTALLED_DIST)
	$(MAKE) --no-print-directory deb rpm DIST=$(INSTALLED_DIST)

demo: setup
	$(PY) -m lvsocf.lab.demo

# the same demo on the agents of the .deb built from this tree (dpkg -i inside the VM)
demo-installed: setup packages-for-vm
	$(PY) -m lvsocf.lab.demo --deb $(INSTALLED_DIST)/lvsocf_*_all.deb

bench: bench-apply bench-checks bench-agents bench-failover

bench-apply: setup
	$(VM) $(PY) -m bench.apply

bench-checks: setup
	$(VM) $(PY) -m bench.checks

bench-agents: setup
	$(PY) -m bench.agent_latency

bench-failover: setup
	$(PY) -m bench.failover

# ---- packaging (packaging/pkg.py; README "Packages and installation") ---------------------------
# make install [DESTDIR=/tmp/stage] [PREFIX=/usr/local] [PYTHON3=/usr/bin/python3]
#              [WHEELS=dir holding the wheels of packaging/vendor.txt | VENDOR=no]
# make deb, make rpm: dist/lvsocf_V-1_all.deb, dist/lvsocf-V-1.noarch.rpm and .src.rpm
PREFIX ?= /usr/local
DESTDIR ?=
PYTHON3 ?= /usr/bin/python3
OCF_ROOT ?= /usr/lib/ocf
WHEELS ?=
VENDOR ?= yes
DIST ?= dist
PKG := $(PYTHON3) packaging/pkg.py
PKG_WHEELS := $(if $(WHEELS),--wheels "$(WHEELS)")
PKG_LAYOUT := --destdir "$(DESTDIR)" --prefix "$(PREFIX)" --ocf-root "$(OCF_ROOT)" --python "$(PYTHON3)"

.PHONY: install uninstall deb rpm packages test-packaging packages-for-vm

install:
	$(PKG) install $(PKG_LAYOUT) $(if $(filter no,$(VENDOR)),--no-vendor,$(PKG_WHEELS))

uninstall:
	$(PKG) uninstall $(PKG_LAYOUT)

deb:
	$(PKG) deb --out "$(DIST)" $(PKG_WHEELS)

rpm:
	$(PKG) rpm --out "$(DIST)" $(PKG_WHEELS)

packages: deb rpm

test-packaging: setup
	$(PYTEST) tests/packaging
