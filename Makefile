# Two entry points: `make demo` (the main job on the embedded default) and `make test`.
# Both create .venv and install everything; torch goes first so that no CUDA build is pulled in.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CALLQA := $(VENV)/bin/callqa
# The committed simulated call centre (regenerate with `callqa simulate demo`).
DEMO   := demo
PORT   ?= 8501

.PHONY: demo test install system-deps bench lint clean

# Editable in compat mode: the checkout itself goes on sys.path, so a models/ folder in the working
# directory cannot shadow the models package (the default editable finder loses to such a folder).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[postgres,ray,embeddings,dev]' --config-settings editable_mode=compat
	touch $@

install: $(VENV)/.installed

# Debian packages the tests use: sox writes GSM fixtures, PostgreSQL is the second backend,
# Festival with its Russian voice runs the call-centre simulator; Chromium drives the dashboard test.
system-deps:
	@missing=""; \
	command -v sox >/dev/null || missing="$$missing sox"; \
	command -v festival >/dev/null || missing="$$missing festival"; \
	[ -d /usr/share/festival/voices/russian ] || missing="$$missing festvox-ru"; \
	{ command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (sudo apt-get install$$missing)"; \
	  fi; \
	fi

# The demo site's profile (company, products) fills the checklist's placeholders for every demo step.
demo: export CALLQA_PROFILE := $(DEMO)/profile.yaml
demo: install
	rm -f callqa.db callqa.db-wal callqa.db-shm
	$(CALLQA) train purpose $(DEMO)/purpose_train.csv
	$(CALLQA) operators import $(DEMO)/operators.csv
	$(CALLQA) ingest $(DEMO)/recordings --cdr $(DEMO)/Master.csv --queue-log $(DEMO)/queue_log \
		--incidents $(DEMO)/incidents.csv
	$(CALLQA) run
	$(CALLQA) kpi --by operator
	$(CALLQA) users demo
	$(CALLQA) dashboard --port $(PORT)
	$(CALLQA) status

test: install system-deps
	$(PY) -m pytest

bench: install
	$(PY) bench/ingest_throughput.py
	$(PY) bench/simulated_wer.py
	$(PY) bench/asr_speed.py --memory
	$(PY) bench/diarization_der.py
	$(PY) bench/analytics.py $$([ -f callqa.db ] && echo --db sqlite:///callqa.db)
	$(PY) bench/end_to_end.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) callqa.db* callqa-models users.yaml .pytest_cache .ruff_cache .hypothesis test-artifacts .bench-data
