#!/usr/bin/env bash
# Regenerates crates/cxr-dicom/tests/reference/ (golden PNGs from pydicom and DCMTK,
# plus cases.csv). Run make_dicom_fixtures.sh first. Needs dcmtk and the project venv
# (see make_dicom_fixtures.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"${PYTHON:-$root/.venv/bin/python}" "$root/scripts/reference/make_dicom_references.py"
