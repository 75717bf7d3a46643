#!/usr/bin/env bash
# Regenerates crates/cxr-dicom/tests/fixtures/ and tests/bad/ (small, committed).
#
# Needs: Debian packages dcmtk (dcmcjpeg, dcmcrle, dcmcjpls, dcmodify), openjph-tools
# (ojph_compress, ojph_expand for HTJ2K), libopenjp2-tools (opj_decompress) and the project
# venv with pydicom, numpy, pillow, pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-openjpeg:
#   apt-get install dcmtk openjph-tools libopenjp2-tools
#   .venv/bin/pip install pydicom numpy pillow pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg
# Then: scripts/reference/make_dicom_fixtures.sh && scripts/reference/make_dicom_references.sh
#
# With `media` it only writes the disc-export miniature (crates/cxr-dicom/tests/media/).
# With `bench DIR` it only writes the large benchmark inputs (2000x2500, 12-bit: native,
# RLE, JPEG lossless SV1 and extended, JPEG-LS, JPEG 2000 lossless and lossy 10:1, HTJ2K;
# 8-bit: native and baseline JPEG) into DIR (git-ignored; default target/dicom-bench).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
here="$root/scripts/reference"

if [[ "${1:-}" == "bench" ]]; then
  b="${2:-$root/target/dicom-bench}"
  "$py" "$here/make_dicom_fixtures.py" bench "$b"
  # The syntaxes whose decoders are not shared with pydicom, coded by DCMTK from the
  # same phantom: RLE, JPEG lossless SV1 and extended 12-bit, baseline 8-bit, JPEG-LS.
  dcmcrle "$b/chest_12bit_native.dcm" "$b/chest_12bit_rle.dcm"
  dcmcjpeg +un +e1 "$b/chest_12bit_native.dcm" "$b/chest_12bit_jpeg_lossless.dcm"
  dcmcjpeg +un +ee "$b/chest_12bit_native.dcm" "$b/chest_12bit_jpeg_extended.dcm"
  dcmcjpeg +un +eb "$b/chest_8bit_native.dcm" "$b/chest_8bit_jpeg_baseline.dcm"
  dcmcjpls +un +el "$b/chest_12bit_native.dcm" "$b/chest_12bit_jpegls.dcm"
  exit 0
fi

# With `media` it only writes crates/cxr-dicom/tests/media/: what a PACS burns on a disc
# for one study (an image, a structured report, a presentation state, the DICOMDIR
# index, a README), which the batch converter must sort into converted and skipped.
if [[ "${1:-}" == "media" ]]; then
  m="$root/crates/cxr-dicom/tests/media"
  rm -rf "$m" && mkdir -p "$m"
  "$py" "$here/make_dicom_fixtures.py" media "$m"
  (cd "$m" && dcmmkdir --quiet --recurse DICOM)
  printf 'Images of one study. Open DICOMDIR with a DICOM viewer.\r\n' >"$m/README.TXT"
  ls -la "$m" "$m/DICOM"
  exit 0
fi

fix="$root/crates/cxr-dicom/tests/fixtures"
bad="$root/crates/cxr-dicom/tests/bad"
rm -rf "$fix" && mkdir -p "$fix" "$bad"
"$py" "$here/make_dicom_fixtures.py" native "$fix"
src="$fix/_src"

# RLE Lossless
dcmcrle "$fix/mono2_12bit_window.dcm" "$fix/rle_12bit_window.dcm"
dcmcrle "$fix/mono2_8bit_nowindow.dcm" "$fix/rle_8bit_nowindow.dcm"
dcmcrle "$fix/mono1_12bit_nowindow.dcm" "$fix/rle_mono1_nowindow.dcm"
dcmcrle "$fix/rgb.dcm" "$fix/rle_rgb.dcm"
dcmcrle "$src/signed_12bit.dcm" "$fix/rle_signed_12bit.dcm"
dcmcrle "$fix/multiframe.dcm" "$fix/rle_multiframe.dcm"

# JPEG: baseline (8-bit, process 1), extended (12-bit, process 4), lossless process 14
# (selection value 6 here) and process 14 SV1.
dcmcjpeg +un +eb "$fix/mono2_8bit_window.dcm" "$fix/jpeg_baseline_8bit.dcm"
dcmcjpeg +un +eb "$fix/rgb.dcm" "$fix/jpeg_baseline_rgb.dcm"
dcmcjpeg +un +ee "$fix/mono2_12bit_window.dcm" "$fix/jpeg_extended_12bit.dcm"
dcmcjpeg +un +ee "$fix/mono1_12bit_nowindow.dcm" "$fix/jpeg_extended_12bit_mono1.dcm"
dcmcjpeg +un +el +sv 6 "$fix/mono2_12bit_window.dcm" "$fix/jpeg_lossless_p14.dcm"
dcmcjpeg +un +e1 "$fix/mono2_12bit_window.dcm" "$fix/jpeg_lossless_sv1.dcm"
dcmcjpeg +un +e1 "$src/signed_12bit.dcm" "$fix/jpeg_lossless_signed.dcm"
dcmcjpeg +un +e1 "$src/mono2_16bit.dcm" "$fix/jpeg_lossless_16bit.dcm"
dcmcjpeg +un +e1 "$fix/multiframe.dcm" "$fix/jpeg_lossless_multiframe.dcm"

# JPEG-LS lossless and near-lossless
dcmcjpls +un +el "$fix/mono2_12bit_window.dcm" "$fix/jpegls_lossless_12bit.dcm"
dcmcjpls +un +en +md 3 "$fix/mono2_12bit_window.dcm" "$fix/jpegls_near_12bit.dcm"
dcmcjpls +un +el "$fix/mono2_8bit_nowindow.dcm" "$fix/jpegls_lossless_8bit.dcm"
dcmcjpls +un +el "$src/signed_12bit.dcm" "$fix/jpegls_lossless_signed.dcm"

# JPEG 2000 (pylibjpeg-openjpeg encoder through pydicom)
"$py" "$here/make_dicom_fixtures.py" j2k "$fix"
# HTJ2K (OpenJPH ojph_compress)
"$py" "$here/make_dicom_fixtures.py" htj2k "$fix"

rm -rf "$src"

# Broken files
"$py" "$here/make_dicom_fixtures.py" bad "$fix" "$bad"
# A JPEG whose SOF says 96x128 while the header says 64x64.
cp "$fix/jpeg_baseline_8bit.dcm" "$bad/jpeg_size_mismatch.dcm"
dcmodify -nb -m "(0028,0010)=64" -m "(0028,0011)=64" "$bad/jpeg_size_mismatch.dcm"
# An RLE file with its pixel data cut: rewrite via python (truncate fragment bytes).
"$py" - "$fix/rle_12bit_window.dcm" "$bad/rle_truncated_fragment.dcm" <<'PY'
import sys, pydicom
from pydicom.encaps import generate_fragments, encapsulate
ds = pydicom.dcmread(sys.argv[1])
frag = next(generate_fragments(ds.PixelData))
ds.PixelData = encapsulate([frag[: len(frag) // 3 * 2 // 2 * 2]])
ds.save_as(sys.argv[2], enforce_file_format=True)
PY
ls -la "$fix" "$bad"
