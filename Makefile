# make demo  : install into .venv, make the shapes data, train and evaluate the default config
# make demo-mask-rcnn: the same for Mask R-CNN (boxes and instance masks: --eval bbox segm)
# make test  : install into .venv, then lint, type-check and run every test (core and plugins)
# make bench : run every benchmark under bench/ (prints tables; never part of the tests)
# make wheels: build a wheel of every distribution into dist/

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.14.1 torchvision==0.29.1
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml plugins/*/*/pyproject.toml)))
STAMP  := $(VENV)/.installed
DEMO_CFG := configs/retinanet/retinanet_r18_fpn_shapes.py
DEMO_DIR := work_dirs/retinanet_r18_fpn_shapes
MASK_DEMO_CFG := configs/mask_rcnn/mask_rcnn_r18_fpn_shapes.py
MASK_DEMO_DIR := work_dirs/mask_rcnn_r18_fpn_shapes

.PHONY: install demo demo-mask-rcnn test lint bench wheels clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel

# Re-install only when a pyproject.toml changed (editable installs pick up code changes).
$(STAMP): $(PY) pyproject.toml $(wildcard plugins/*/pyproject.toml plugins/*/*/pyproject.toml)
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet --no-build-isolation -e '.[test,export]' $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
	$(VENV)/bin/segdet train $(DEMO_CFG) --work-dir $(DEMO_DIR) --seed 0
	$(VENV)/bin/segdet test $(DEMO_CFG) $(DEMO_DIR)/latest.pth --eval bbox

demo-mask-rcnn: $(STAMP)
	$(VENV)/bin/segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
	$(VENV)/bin/segdet train $(MASK_DEMO_CFG) --work-dir $(MASK_DEMO_DIR) --seed 0
	$(VENV)/bin/segdet test $(MASK_DEMO_CFG) $(MASK_DEMO_DIR)/latest.pth --eval bbox segm

lint: $(STAMP)
	$(VENV)/bin/ruff check core cli plugins tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: $(STAMP) lint
	OMP_NUM_THREADS=1 $(VENV)/bin/pytest -n 2 --dist loadfile -q

bench: $(STAMP)
	$(PIP) install --quiet '.[bench]' || echo "mmengine not installable: config_load bench runs without it"
	@for b in bench/[!_]*.py; do echo "== $$b"; OMP_NUM_THREADS=2 $(PY) $$b || exit 1; done

wheels: $(STAMP)
	rm -rf dist && mkdir -p dist
	$(PIP) wheel --quiet --no-deps --no-build-isolation -w dist . $(PLUGINS)

clean:
	rm -rf dist build work_dirs .pytest_cache
