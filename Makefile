# lus_unet: `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# The PyTorch build to install first; override for another CUDA/CPU build, e.g.
#   make setup TORCH_SPEC="torch torchvision --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

.PHONY: help setup train test lint format summary tensorboard paper paper-cpu compare tl-leak clean

help: ## List the targets with one line each
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv and install the package (editable) with its dev, compare and deploy extras

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev,compare,deploy]'
	@touch $(STAMP)

train: setup ## Quick start: train X-UNet on the embedded synthetic set (CPU, a few minutes)
	$(PY) -m lus_unet.train experiment=quickstart

test: setup ## Run the test suite
	$(PY) -m pytest

lint: setup ## Check style with ruff (lint and formatting)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup ## Fix what ruff can fix
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

summary: setup ## Parameter table per group (e.g. MODEL=vunet FINETUNE=encoder_frozen)
	$(PY) -m lus_unet.summary model=$(or $(MODEL),xunet) finetune=$(or $(FINETUNE),all)

# Your data for the paper grid: make paper LUS_ROOT=/data/lus XPIE_ROOT=/data/XPIE
PAPER_DATA = $(if $(LUS_ROOT),--lus-root $(LUS_ROOT)) $(if $(XPIE_ROOT),--xpie-root $(XPIE_ROOT))

paper: setup ## The paper's Table 1 grid on a GPU (LUS_ROOT=, XPIE_ROOT=: your folders), then the report
	$(PY) -m lus_unet.paper --profile $(or $(PROFILE),gpu) $(PAPER_DATA) $(PAPER_ARGS)

paper-cpu: setup ## The same grid shrunk for the CPU on the embedded data (conf/paper/cpu.yaml, ~20 min)
	$(PY) -m lus_unet.paper --profile cpu $(PAPER_DATA) $(PAPER_ARGS)

compare: setup ## Recipes vs the reference U-Net, 5 folds of the realistic embedded set (CPU, ~25 min)
	$(PY) -m lus_unet.compare $(COMPARE_ARGS)

# V-UNet from a random trunk (no ImageNet file needed): the leak, not the transfer, is measured.
TL_LEAK_VUNET = "model=vunet","recipe=modern","model.encoder_weights=null"
tl-leak: setup ## Dice inflation of the paper's single-split TL vs per-fold TL (CPU, ~10 min)
	$(PY) -m lus_unet.compare task_name=tl_leak reference=per_fold \
		'~entries.reference' '~entries.paper' '~entries.modern' \
		'+entries.per_fold=[$(TL_LEAK_VUNET)]' \
		'+entries.paper_split=[$(TL_LEAK_VUNET),"stages=vunet_paper_split","init_allow_val_overlap=true"]' \
		'folds=[0,1,2]' budget.epochs=5 'budget.image_size=[32,32]' $(TL_LEAK_ARGS)

.PHONY: bench
bench: setup ## Benchmark suite -> outputs/bench/results.json, summary.md (about 10 min on 2 cores)
	$(PY) -m lus_unet.bench --out outputs/bench

tensorboard: setup ## Serve TensorBoard over every run under outputs/
	$(VENV)/bin/tensorboard --logdir outputs

clean: ## Remove caches (.cache, __pycache__); keeps .venv and outputs/
	rm -rf .cache .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
