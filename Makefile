# cxr — the two commands of the README:
#   make demo   runs the main job on the embedded synthetic cohort
#   make test   runs every check CI runs
# Both install PyTorch (libtorch) into the project-local .venv first, once.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PYTHON ?= python3
TORCH_VERSION := 2.11.0
TORCH_STAMP := $(VENV)/.torch-$(TORCH_VERSION)
# Free space the install needs (KiB): 4.5 GB installed, plus the wheels while pip unpacks them.
TORCH_DISK_KB ?= 7340032
CARGO ?= cargo
DEMO_OUT ?= out/demo

.PHONY: setup rust-tools build-tools browser-tools test demo serve dist fmt lint doc bench peers
.DEFAULT_GOAL := test

setup: rust-tools build-tools $(TORCH_STAMP)

# Checked first, so that a machine without Rust says so before PyTorch's 4.5 GB download.
# Debian's packaged cargo (0.66, Rust 1.65, on bookworm) is far older: rustup is the way.
RUST_MIN := 1.88
rust-tools:
	@command -v $(CARGO) >/dev/null || { echo "error: $(CARGO) not found: this project needs Rust >= $(RUST_MIN)." >&2; \
	  echo "  Install it with rustup (https://rustup.rs: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh)," >&2; \
	  echo "  open a new shell (or: . \$$HOME/.cargo/env) and rerun make." >&2; exit 1; }
	@v=$$($(CARGO) --version | awk '{print $$2}'); \
	if [ "$$(printf '%s\n' "$(RUST_MIN)" "$${v%%-*}" | sort -V | head -1)" != "$(RUST_MIN)" ]; then \
	  echo "error: $(CARGO) $$v is older than the $(RUST_MIN) this project needs: run 'rustup update' (or install Rust with rustup)." >&2; exit 1; fi

# cxr-dicom builds the CharLS (JPEG-LS) and OpenJPEG (JPEG 2000) codecs from their bundled
# sources, which needs cmake and a C++ compiler. Installed from Debian when missing.
build-tools:
	@scripts/ci/need.sh "to build the JPEG-LS and JPEG 2000 codecs" cmake:cmake c++:g++

# The review page's browser test (crates/cxr-serve/tests/browser.rs) drives Debian's
# Chromium with playwright-core (an npm package that downloads no browser). Installed
# when missing, like cmake.
BROWSER_DIR := scripts/browser
browser-tools:
	@scripts/ci/need.sh "for the review page's browser test" chromium:chromium npm:nodejs,npm
	@test -d $(BROWSER_DIR)/node_modules/playwright-core || npm ci --prefix $(BROWSER_DIR) --no-audit --no-fund --loglevel=error

# tch 0.24.0 is built against PyTorch 2.11.0 (the build the lent GPU machines carry).
# .cargo/config.toml points torch-sys at $(VENV)/libtorch, a link to the wheel's torch/.
$(TORCH_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python >= 3.10 or run 'make PYTHON=/path/to/python3 ...'" >&2; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV) || { echo "error: cannot create $(VENV) (Debian: apt-get install python3-venv)" >&2; exit 1; }
	@free_kb=$$(df -Pk $(VENV) | awk 'NR==2 {print $$4}'); tmp_kb=$$(df -Pk "$${TMPDIR:-/tmp}" | awk 'NR==2 {print $$4}'); \
	if [ "$$free_kb" -lt $(TORCH_DISK_KB) ] || [ "$$tmp_kb" -lt $(TORCH_DISK_KB) ]; then \
	  echo "error: installing PyTorch $(TORCH_VERSION) needs about $$(( $(TORCH_DISK_KB) / 1048576 )) GB free for $(VENV) and for its download in $${TMPDIR:-/tmp};" >&2; \
	  echo "  free: $$(( free_kb / 1048576 )) GB there, $$(( tmp_kb / 1048576 )) GB in $${TMPDIR:-/tmp}. Free some space (cargo clean?) or set TMPDIR, then rerun." >&2; \
	  exit 1; fi
	@echo "Installing PyTorch $(TORCH_VERSION) into $(VENV) (about 4.5 GB, only once)..."
	@$(VENV)/bin/pip install --disable-pip-version-check --no-cache-dir -q torch==$(TORCH_VERSION) || { \
	  echo "error: pip could not install torch==$(TORCH_VERSION) into $(VENV)." >&2; \
	  echo "  Check access to PyPI and free disk space (~5 GB), then run 'make setup' again," >&2; \
	  echo "  or use an existing libtorch $(TORCH_VERSION): export LIBTORCH=/path/to/libtorch and run cargo directly (README)." >&2; \
	  exit 1; }
	@ln -sfn "$$($(VENV)/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__))')" $(VENV)/libtorch
	@touch $@
	@echo "PyTorch $(TORCH_VERSION) ready: $(VENV)/libtorch"

# The Python peers the reference scripts (scripts/reference, scripts/bench) compare with.
# Not needed by `make test`: their outputs are committed as fixtures.
peers: $(TORCH_STAMP)
	$(VENV)/bin/pip install --disable-pip-version-check -q torchvision==0.26.0 numpy scipy \
	  scikit-learn pandas statsmodels pydicom pillow pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg \
	  pylibjpeg-rle pyjpegls python-gdcm dcurves tifffile imagecodecs \
	  fastapi uvicorn safetensors

fmt:
	$(CARGO) fmt --all --check

# The CUDA tests only build with --features cuda-tests: linted here so that they keep
# compiling between the (rare) GPU sessions that run them (scripts/gpu/).
lint: setup
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p cxr-nn -p cxr-lungseg -p cxr-classifier --features cuda-tests --all-targets -- -D warnings

doc: setup
	RUSTDOCFLAGS="-D rustdoc::broken_intra_doc_links" $(CARGO) doc --workspace --no-deps

test: setup browser-tools fmt lint
	CXR_REQUIRE_BROWSER=1 $(CARGO) test --workspace
	CARGO=$(CARGO) scripts/ci/no_torch.sh
	scripts/ci/crate_dag.py --check
	$(MAKE) --no-print-directory doc

# The paper's main experiment on the synthetic demo cohort (docs/reproducing.md). A
# finished run in $(DEMO_OUT) is re-rendered from its files; `rm -rf $(DEMO_OUT)` to redo.
demo: setup
	$(CARGO) run --release --example reproduce_main -- --synthetic --out $(DEMO_OUT)

# The review page and API over what `make demo` trained (docs/serving.md).
SERVE_ADDR ?= 127.0.0.1:8080
serve: setup
	@test -f $(DEMO_OUT)/classifier/config.json || { echo "error: no trained run in $(DEMO_OUT): run 'make demo' first" >&2; exit 1; }
	$(CARGO) run --release --example serve -- --run $(DEMO_OUT) --addr $(SERVE_ADDR)

# The pure-Rust tools (predict, segment, serve, dicom_to_png, evaluate, score_segmenter,
# scan_source) and the trained models of $(RUN) in one tarball for people without Rust or
# PyTorch (scripts/dist/README.txt, docs/inference.md "Shipping the tools"); checked
# unpacked, with a bare environment, before it is written. Needs no libtorch.
# DIST_GLIBC: the oldest glibc the binaries run on (linked with cargo-zigbuild, installed
# from PyPI into target/dist-tools); `native` links with this machine's toolchain.
DIST_OUT ?= dist
DIST_GLIBC ?= 2.17
RUN ?= $(DEMO_OUT)
dist: rust-tools build-tools
	CARGO=$(CARGO) DIST_GLIBC=$(DIST_GLIBC) scripts/dist/build.sh $(DIST_OUT) $(RUN)

bench: setup
	$(CARGO) bench --workspace
