# Two commands do all the set-up (see README.md):
#   make lab    create .venv, install the course, start JupyterLab (root: this folder) at the
#               student notebook exercises/00_welcome.ipynb (solutions: exercises/solutions/)
#   make test   create/update .venv with the test extras and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8888

.PHONY: lab test test-browser train train-spiking bench exercises docs reproduction-doc \
	convert-histories clean-venv

$(VENV)/.course: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.course
	$(PY) -m pip install --quiet -e '.[test,cluster]'
	touch $@

LAB_START := exercises/00_welcome.ipynb

lab: $(VENV)/.course
	$(VENV)/bin/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
		$(if $(filter 0,$(shell id -u)),--allow-root,) \
		--ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/$(LAB_START)

test: $(VENV)/.test
	SEGDEND_QUICK=1 SEGDEND_STRICT_CHECKS=1 MPLBACKEND=Agg SEGDEND_PROGRESS_FILE=$(CURDIR)/.pytest_cache/progress.json \
		$(PY) -m pytest --nbval-lax tests notebooks exercises --ignore=exercises/solutions

# Every notebook in a real browser (headless Chromium + the playwright package); says so and
# skips where either is missing. Screenshots go to browser-screenshots/.
test-browser: $(VENV)/.test
	$(PY) tests/browser_notebooks.py

train: $(VENV)/.course
	$(PY) -m segdend_lite train --hidden 500 --epochs 60 --mode rate --out results/rate_784-500-10 \
		$(if $(wildcard results/rate_784-500-10/checkpoint.npz),--resume,)

train-spiking: $(VENV)/.course
	$(PY) -m segdend_lite train --hidden 500 --epochs 60 --mode spiking \
		--out results/spiking_784-500-10 \
		$(if $(wildcard results/spiking_784-500-10/checkpoint.npz),--resume,)

bench: $(VENV)/.course
	$(PY) benchmarks/bench_speed.py
	$(PY) benchmarks/bench_accuracy.py
	$(PY) benchmarks/bench_spiking.py speed

clean-venv:
	rm -rf $(VENV)

exercises: $(VENV)/.course
	$(PY) scripts/build_exercises.py build

# docs/experiments.md from the experiment registry (segdend_lite/reproduce/experiments.json)
docs: $(VENV)/.course
	$(PY) scripts/write_experiments_doc.py

# REPRODUCTION.md from the committed results in segdend_lite/results/
reproduction-doc: $(VENV)/.course
	$(PY) scripts/write_reproduction.py

# result files of an older format (course curves, probe lists) rewritten in the current one
convert-histories: $(VENV)/.course
	$(PY) scripts/convert_histories.py segdend_lite/results
