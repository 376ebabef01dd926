# The two set-up commands of the README. Each creates .venv and installs what it needs.
PYTHON ?= python3

.PHONY: demo test bench lint

demo:
	$(PYTHON) scripts/dev.py demo

test:
	$(PYTHON) scripts/dev.py test

bench:
	$(PYTHON) scripts/dev.py bench

lint:
	.venv/bin/ruff check khabar tests bench scripts
