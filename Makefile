# One place for the commands the README promises. `make app` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# PyTorch's own CPU-only wheels for a laptop without an NVIDIA GPU (README: Prerequisites), e.g.
# make app TORCH_INDEX=https://download.pytorch.org/whl/cpu ; empty: torch as requirements.txt pins it, from PyPI
TORCH_INDEX ?=

.PHONY: app classroom test lint bench browser-deps

$(BIN)/streamlit: requirements.txt
	$(PY) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(BIN)/pip install -q --index-url $(TORCH_INDEX) "$$(grep -o '^torch==[^ ]*' requirements.txt)")
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

$(BIN)/pytest: requirements-dev.txt requirements.txt $(BIN)/streamlit
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@

app: $(BIN)/streamlit  ## start the app (and the students' light page) on http://127.0.0.1:8501
	$(BIN)/streamlit run serve.py

classroom: $(BIN)/streamlit  ## serve the app to the students' devices on this network (read the README's warning first)
	@echo "Serving Seq2Seq Attention Explorer to every device on this network, on port 8501."
	@echo "Anyone who can reach this machine can use it: a school or home network, not a cafe or a conference."
	@echo "Students open http://$$(hostname -I 2>/dev/null | cut -d' ' -f1):8501/?lang=ko  (Ctrl+C stops the server)"
	@echo "Share links and QR codes (sidebar: Share this view; Step through: Lesson) use that address;"
	@echo "a lesson's students follow on its light page, http://.../class/<code>."
	SEQ2SEQ_SHARE_URL=http://$$(hostname -I 2>/dev/null | cut -d' ' -f1):8501 \
	  $(BIN)/streamlit run serve.py --server.address 0.0.0.0 --server.port 8501

browser-deps:  ## Debian Chromium + Korean and emoji fonts for the real-browser tests (never `playwright install`)
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi nanum && \
	  fc-list 2>/dev/null | grep -qi "color emoji" || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-nanum fonts-noto-color-emoji)

test: $(BIN)/pytest browser-deps  ## the whole suite: library, training, app (AppTest) and browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(BIN)/pytest
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(BIN)/pytest browser-deps  ## latency, app cold start and memory, speed-ups; `python -m bench peer` for Joey NMT
	$(BIN)/python -m bench
