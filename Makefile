# make demo: a failover on real IPVS and real Pacemaker, in the lab VM.
# make test: every test (host tests, then the kernel tests and the installed product, with a
# live Pacemaker failover, inside the lab VM).
PY := .venv/bin/python
VM := $(PY) -m lab.vm --timeout 4200 --
PYTEST := env LVSOCF_NO_SKIPS=1 $(PY) -m pytest -p no:cacheprovider --color=no -q

.PHONY: setup test test-host test-vm test-installed lint demo demo-installed bench bench-apply bench-checks bench-agents \
	bench-failover bench-scale

setup:
	scripts/setup

test: setup lint test-host test-vm test-installed test-debian13

lint:
	$(PY) -m ruff check .

test-host:
	$(PYTEST) -m "not kernel and not installed" tests

test-vm:
	$(VM) $(PYTEST) -m kernel tests

# The product as users install it: the .deb and the .rpm built from this tree, installed in
# the VM (its throw-away overlay root) and run from their files alone (tests/installed).
INSTALLED_DIST := build/dist
test-installed: setup packages-for-vm
	$(VM) env LVSOCF_DIST=$(INSTALLED_DIST) $(PYTEST) -m installed tests/installed

packages-for-vm:
	rm -rf $(INSTALLED_DIST)
	$(MAKE) --no-print-directory deb rpm DIST=$(INSTALLED_DIST)

# Debian 13 (trixie: kernel 6.12, Pacemaker 3.0, pcs 0.12, crmsh 5.0; README "Tested support
# matrix"): a debootstrapped root cached by its package list (lab.roots; built on first
# use), run with its own python3 and tools. In it on the host's kernel: the platform check,
# the crm-examples and `lvsocf convert` output with crmsh, pcs, crm_verify and crm_simulate.
# In the lab VM booting its own kernel: the lvsocf.ipvs kernel tests, agent tests, and
# ocf-tester and the real-server lifecycle on the installed .deb (a subset: time).
.PHONY: test-debian13
ROOTS := $(PY) -m lab.roots
PYTEST_ROOT := env LVSOCF_NO_SKIPS=1 python3 -m pytest -p no:cacheprovider --color=no -q
INSTALLED_AGENTS := tests/installed/test_installed_agents.py
DEBIAN13_VM_TESTS := tests/platform tests/kernel/test_ipvs_services.py \
	tests/kernel/test_ipvs_realservers.py tests/kernel/test_ipvs_daemons_config.py \
	tests/kernel/test_workarounds.py tests/kernel/test_conn_table.py \
	tests/kernel/test_agent_sync.py \
	tests/kernel/test_agent_service.py::test_reload_agent_is_live_for_a_connection \
	'$(INSTALLED_AGENTS)::test_ocf_tester_service[tcp-deb]' \
	$(INSTALLED_AGENTS)::test_ocf_tester_sync $(INSTALLED_AGENTS)::test_ocf_tester_realserver \
	$(INSTALLED_AGENTS)::test_realserver_lifecycle_from_installed_files \
	$(INSTALLED_AGENTS)::test_command_loads_only_installed_code
test-debian13: setup packages-for-vm
	$(ROOTS) trixie
	$(ROOTS) trixie --chroot -- $(PYTEST_ROOT) tests/platform tests/examples \
	  tests/unit/convert/test_convert_cib.py
	$(PY) -m lab.vm --timeout 1200 --root "$$($(ROOTS) trixie)" -- \
	  env LVSOCF_DIST=$(INSTALLED_DIST) $(PYTEST_ROOT) -k "not rpm" $(DEBIAN13_VM_TESTS)

demo: setup
	$(PY) -m lab.demo

# the same demo on the agents of the .deb built from this tree (dpkg -i inside the VM)
demo-installed: setup packages-for-vm
	$(PY) -m lab.demo --deb $(INSTALLED_DIST)/lvsocf_*_all.deb

bench: bench-apply bench-checks bench-agents bench-failover bench-scale

bench-apply: setup
	$(VM) $(PY) -m bench.apply

bench-checks: setup
	$(VM) $(PY) -m bench.checks

bench-agents: setup
	$(PY) -m bench.agent_latency

bench-failover: setup
	$(PY) -m bench.failover

bench-scale: setup
	$(PY) -m bench.scale

# ---- packaging (packaging/pkg.py; README "Packages and installation") ---------------------------
# make install [DESTDIR=/tmp/stage] [PREFIX=/usr/local] [PYTHON3=/usr/bin/python3]
# make deb, make rpm: dist/lvsocf_V-1_all.deb, dist/lvsocf-V-1.noarch.rpm and .src.rpm
PREFIX ?= /usr/local
DESTDIR ?=
PYTHON3 ?= /usr/bin/python3
OCF_ROOT ?= /usr/lib/ocf
DIST ?= dist
PKG := $(PYTHON3) packaging/pkg.py
PKG_LAYOUT := --destdir "$(DESTDIR)" --prefix "$(PREFIX)" --ocf-root "$(OCF_ROOT)" --python "$(PYTHON3)"

.PHONY: install uninstall deb rpm packages test-packaging packages-for-vm

install:
	$(PKG) install $(PKG_LAYOUT)

uninstall:
	$(PKG) uninstall $(PKG_LAYOUT)

deb:
	$(PKG) deb --out "$(DIST)"

rpm:
	$(PKG) rpm --out "$(DIST)"

packages: deb rpm

test-packaging: setup
	$(PYTEST) tests/packaging
