# Chart checks; included from the Makefile, which defines PY (e.g. PY ?= .venv/bin/python).
# tests/helm renders the chart with Helm's own engine (helm-python-sdk: no helm binary),
# runs `helm lint --strict`, validates the objects with kubernetes-validate --strict and
# the custom resources against their CRD schemas (npm packages installed on first use into
# .run/npm, so node and npm must be on PATH), and checks the chart against the code.

.PHONY: helm-lint
helm-lint:
	$(PY) -m pytest tests/helm -q
