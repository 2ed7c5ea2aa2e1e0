# domosec — the two commands a newcomer needs are `make run` and `make test`.
# Both work on a fresh machine with Python >= 3.11: they create .venv and install what is needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Debian packages the tests need (servers and tools the tests start, browsers, renderers).
DEBIAN_PACKAGES := chromium graphviz poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core mosquitto nginx inetutils-telnetd inetutils-inetd miniupnpd-nftables nftables libcoap3-bin iproute2 nmap openssh-server tcpdump openjdk-17-jre-headless mosquitto-clients dnsmasq-base bind9-dnsutils postgresql wireshark-common curl
# Home Assistant 2024.3.3 in its own venv for the live import test; domosec never imports it.
HA_VENV := .venv-ha
HA_REQUIREMENTS := tests/evidence/homeassistant/live/requirements-ha.txt
HA_STAMP := $(HA_VENV)/.installed-$(shell cat $(HA_REQUIREMENTS) | cksum | cut -d' ' -f1)

.PHONY: install ha-venv run test lint typecheck unit package docs docs-check bench bench-report bench-fleet bench-scan bench-serve bench-scenarios bench-traffic bench-sbom fuzz system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## ha-venv: Home Assistant 2024.3.3 with the integrations the live test starts (about 2 minutes the first time)
$(HA_STAMP): $(HA_REQUIREMENTS)
	$(PYTHON) -m venv $(HA_VENV)
	$(HA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(HA_VENV)/bin/python -m pip install --quiet -r $(HA_REQUIREMENTS)
	rm -f $(HA_VENV)/.installed-*
	touch $(HA_STAMP)

ha-venv: $(HA_STAMP)

## run: install, then validate every example and assess the family home
run: install
	$(BIN)/domosec validate examples/*.yaml
	$(BIN)/domosec assess examples/family-home.yaml --controls

## test: install, then lint, type-check, check generated docs and run every test (tests/packaging builds the wheel
## and the sdist and runs domosec from each in fresh virtualenvs, core only and with every extra: a few minutes)
test: install system-deps ha-venv lint typecheck unit

# Servers are installed, never started: the tests start their own (policy-rc.d refuses service starts meanwhile).
system-deps:
ifneq ($(strip $(DEBIAN_PACKAGES)),)
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  guard=; if [ ! -e /usr/sbin/policy-rc.d ]; then guard=1; printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; status=$$?; \
	  if [ -n "$$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi; exit $$status; \
	fi
endif

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -n 2 -q

## package: only the packaging tests: build the wheel and the sdist, install each in fresh virtualenvs, run the commands
package: install system-deps
	$(BIN)/pytest -n 2 -q -m packaging tests/packaging

## docs: regenerate docs/tables.md, docs/rules/, docs/catalogue/ and schema/ from the code and data
docs: install
	$(BIN)/python -m domosec.docgen write

docs-check: install
	$(BIN)/python -m domosec.docgen check

## bench: time `domosec assess` on generated models (figures in docs/performance.md)
bench: install
	$(BIN)/python bench/assess.py

## bench-report: time the HTML report (and the PDF) on generated models (figures in docs/performance.md)
bench-report: install
	$(BIN)/python bench/report.py

## bench-serve: 20 users on loopback against `domosec serve` (SQLite; 5,000-device home, 50-device assessments): closed loop 60 s, then 1 s think time 60 s; requests/s, p50/p99 per page (docs/workspace.md)
bench-serve: install
	$(BIN)/python bench/serve.py --users 20 --duration 60

## bench-scan: `domosec scan` against `nmap -sT` (open ports) and `nmap -sV` (services) in a namespace lab (root; figures in docs/performance.md and docs/scan.md)
bench-scan: install system-deps
	$(BIN)/python bench/scan.py

## bench-fleet: time `domosec fleet assess` on 10k, 100k and 1M generated homes, and Spark on 100k (figures in docs/performance.md)
bench-fleet: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/fleet.py

.PHONY: bench-spark-cluster
## bench-spark-cluster: the DuckDB engine, then a Spark standalone cluster (master and 2 one-core workers on loopback) on 100k generated homes: seconds, ratio, same findings (docs/fleet.md)
bench-spark-cluster: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/fleet.py --sizes 2000 --spark-size 100000 --spark-cluster --sample 20

.PHONY: bench-pytm
## bench-pytm: `domosec assess` against OWASP pytm on the same ~15-element home, alternately (docs/performance.md)
bench-pytm: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/single_home.py --dir .bench-pytm --runs 9

.PHONY: bench-fleet-incremental
## bench-fleet-incremental: `domosec fleet assess --since` with 1 % of 100k generated homes changed, against a full run (docs/fleet.md)
bench-fleet-incremental: install
	$(BIN)/python bench/fleet_incremental.py --homes 100000 --check

## bench-traffic: `domosec traffic` against `tshark -T fields` on a generated capture, then on a 1 GB whole day built from real lab traffic (root): packets/s and peak memory (docs/traffic.md)
bench-traffic: install system-deps
	@dpkg -s tshark >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark)
	$(BIN)/python bench/traffic.py
	$(BIN)/python bench/traffic.py --whole-day --size-mb 1000

## bench-sbom: 10,000 SBOM components against 500,000 generated vulnerability records: import, match, naive loop (docs/sbom.md)
bench-sbom: install
	$(BIN)/python bench/sbom.py

## bench-scenarios: recall and precision of the findings on the scenario corpus (tests/scenarios/)
bench-scenarios: install
	$(BIN)/python bench/scenarios.py

## fuzz: the fuzz targets with random inputs, 30 minutes each (DOMOSEC_FUZZ_SECONDS sets another budget; docs/security.md)
fuzz: install
	DOMOSEC_FUZZ=long $(BIN)/pytest -p no:xdist -q tests/fuzz/test_fuzz_inputs.py

clean:
	rm -rf $(VENV) $(HA_VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
