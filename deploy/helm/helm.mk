# Chart checks; included from the Makefile, which defines PYTHON, PY and the venv target.
# tests/helm renders the chart with Helm's own engine (helm-python-sdk: no helm binary),
# runs `helm lint --strict`, validates the objects with kubernetes-validate --strict and
# the custom resources against their CRD schemas (npm packages installed on first use into
# .run/npm, so node and npm must be on PATH), and checks the chart against the code.
# Then deploy/helm/scan/run.py runs checkov (Kubernetes and Helm frameworks) on the
# rendered chart and hadolint on the Dockerfile, from their own pinned venv.

SCAN_VENV ?= .run/scan-venv
SCAN_REQUIREMENTS := deploy/helm/scan/requirements.txt
# Fail fast when PyPI cannot be reached, instead of pip's minutes of retries.
SCAN_PIP := --quiet --disable-pip-version-check --timeout 30 --retries 1

.PHONY: helm-lint helm-scan

helm-lint: venv
	$(PY) -m pytest tests/helm -q -p no:cacheprovider
	$(MAKE) --no-print-directory helm-scan

helm-scan: venv $(SCAN_VENV)/.installed
	$(PY) deploy/helm/scan/run.py --scan-venv $(SCAN_VENV)

$(SCAN_VENV)/.installed: $(SCAN_REQUIREMENTS)
	@$(PYTHON) -m venv $(SCAN_VENV) || { \
	  echo "helm-lint: cannot create $(SCAN_VENV) with $(PYTHON) -m venv (Debian: apt-get install python3-venv)" >&2; exit 1; }
	@$(SCAN_VENV)/bin/pip install $(SCAN_PIP) -r $(SCAN_REQUIREMENTS) || { \
	  echo "helm-lint: cannot install checkov and hadolint from $(SCAN_REQUIREMENTS) into $(SCAN_VENV) (is PyPI reachable?)" >&2; exit 1; }
	@touch $@
