# The two commands of the README, and a few helpers. Everything runs through scripts/,
# so a fresh clone needs nothing installed beyond the Rust toolchain and Python.

# A theLook export to run on, e.g. `make demo SOURCE=../shared/thelook`; empty generates one.
SOURCE ?=
# More flags for `fsdemo demo`, e.g. `make demo DEMO_FLAGS="--skip-data --profile gcp"`.
DEMO_FLAGS ?=

.PHONY: demo test stop report bench build

## Runs the whole demo: data, SQL, feature store, first sync, training, deploy, predictions.
demo:
	scripts/demo.sh $(if $(SOURCE),--source $(SOURCE)) $(DEMO_FLAGS)

## fmt check, clippy and the whole test suite (what CI runs).
test:
	scripts/test.sh

## Stops the local service the demo left running.
stop:
	scripts/fsdemo.sh serve --stop

## Writes the HTML report of the last run.
report:
	scripts/fsdemo.sh report

## The speed and memory benchmarks whose numbers the README reports.
bench:
	scripts/fsdemo.sh bench offline
	scripts/fsdemo.sh bench online --sync

## Builds the binary.
build:
	cargo build --bin fsdemo
