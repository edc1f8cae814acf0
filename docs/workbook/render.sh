#!/usr/bin/env bash
# Render a recon workbook to PNG pages, as it prints: LibreOffice (headless) makes a PDF, pdftoppm the pages.
#
#   docs/workbook/render.sh sample_data/reports/2026-03-03/recon_2026-03-03.xlsx docs/workbook/pages
#
# Needs libreoffice-calc, poppler-utils and a CJK font (Debian: apt-get install libreoffice-calc
# poppler-utils fonts-noto-cjk). Writes <out>/page-1.png, page-2.png, … (150 dpi) and prints their names.
set -euo pipefail
book=${1:?usage: render.sh WORKBOOK.xlsx OUT_DIR}
out=${2:?usage: render.sh WORKBOOK.xlsx OUT_DIR}
for tool in soffice pdftoppm; do
  command -v "$tool" >/dev/null || { echo "render.sh: $tool not found (apt-get install libreoffice-calc poppler-utils fonts-noto-cjk)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A profile of its own, so that a desktop LibreOffice already running is not disturbed.
soffice -env:UserInstallation="file://$work/profile" --headless --calc --convert-to pdf --outdir "$work" "$book" >/dev/null
mkdir -p "$out"
rm -f "$out"/page-*.png
pdftoppm -r 150 -png "$work/$(basename "${book%.*}").pdf" "$out/page"
ls "$out"/page-*.png
