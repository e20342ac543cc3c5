# Two commands do all the set-up (see README.md):
#   make lab    create .venv, install the course, start JupyterLab (root: this folder) at the
#               student notebook exercises/00_welcome.ipynb (solutions: exercises/solutions/)
#   make test   create/update .venv with the test extras and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8888

.PHONY: lab test test-installed test-browser train train-spiking bench exercises docs \
	reproduction-doc convert-histories clean-venv book test-book nbgrader test-nbgrader

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

# The package as students install it (non-editable, in a fresh environment), notebooks 06-08
# run from outside the repository; CI runs it after `make test`.
test-installed: $(VENV)/.test
	SEGDEND_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest --run-installed tests/test_installed.py

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

# ------------------------------------------------------------------------------ the course site
# `make book`: the course as a static HTML site in $(BOOK)/html (open index.html, or publish the
# folder on any static host; docs/instructors.md). Sphinx + MyST-NB + sphinx-book-theme, from the
# optional extra `book`. Every notebook is executed in default mode the first time (about as
# long as running them all); jupyter-cache keeps the results in _build/jupyter_cache, so a
# rebuild executes only the notebooks whose code changed. SEGDEND_QUICK=1 builds in quick mode
# (into _build/book-quick, with a cache of its own).
BOOK ?= _build/book$(if $(filter 1 true yes,$(SEGDEND_QUICK)),-quick,)

$(VENV)/.book: $(VENV)/.course
	$(PY) -m pip install --quiet -e '.[book]'
	touch $@

book: $(VENV)/.book
	$(PY) -m sphinx -b html -c book -d $(BOOK)/doctrees -q . $(BOOK)/html
	@echo "the course site: $(BOOK)/html/index.html"

# Builds the site in quick mode, then checks it: every notebook page has its figures and no
# error output, every link between pages works (also in headless Chromium with playwright, as
# for test-browser). A few minutes; not part of `make test`.
test-book: $(VENV)/.book $(VENV)/.test
	SEGDEND_QUICK=1 $(PY) -m pytest -q tests/book_site.py

# ------------------------------------------------------------------------------ nbgrader
# `make nbgrader`: an nbgrader course folder in $(COURSE) (nbgrader_config.py and
# source/<notebook>/<notebook>.ipynb) generated from notebooks/; POINTS="hidden_error=2 ..." sets
# an exercise's points (default 1 each). nbgrader itself (the optional
# extra `grading`) lives in its own virtual environment, $(GRADING_VENV): its JupyterLab and
# server extensions would otherwise change the students' JupyterLab of `make lab`.
COURSE       ?= grading
GRADING_VENV ?= .venv-grading
GPY          := $(GRADING_VENV)/bin/python

$(GRADING_VENV)/.grading: pyproject.toml
	$(PYTHON) -m venv $(GRADING_VENV)
	$(GPY) -m pip install --upgrade --quiet pip
	$(GPY) -m pip install --quiet -e '.[grading,test]'
	touch $@

nbgrader: $(GRADING_VENV)/.grading
	$(GPY) scripts/build_nbgrader.py build $(COURSE) $(if $(POINTS),--points $(POINTS),)

# nbgrader's own generate_assignment (every notebook) and autograde (03 and 04 in quick mode:
# solved, unsolved, one wrong solution) on a course folder written as `make nbgrader` does, in
# a temporary folder. A few minutes after the install; not part of `make test`.
test-nbgrader: $(GRADING_VENV)/.grading
	SEGDEND_QUICK=1 $(GPY) -m pytest -q tests/nbgrader_course.py
