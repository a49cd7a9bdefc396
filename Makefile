# The two commands a new user needs (each sets up .venv first if it is missing):
#   make train   train the default agent on the default env and print its evaluation (SEED=N for another seed)
#   make test    run the test suite (what CI runs)
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: train test test-slow bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# make train SEED=3 trains another seed (the command is: gymkit train --preset dqn-cartpole --seed 3)
train: $(STAMP)
	$(BIN)/gymkit train --preset dqn-cartpole $(if $(SEED),--seed $(SEED))

# Two pytest workers, one per core of the reference machine (TensorFlow's small ops keep
# each worker near one core); the duration is printed at the end.
TEST_WORKERS ?= 2
test: $(STAMP)
	@start=$$(date +%s); $(BIN)/python -m pytest -q -n $(TEST_WORKERS); rc=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; exit $$rc

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check gymkit tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache
