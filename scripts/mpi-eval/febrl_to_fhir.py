#!/usr/bin/env python3
"""Convert FEBRL record-linkage CSVs into FHIR R4 Patients plus a ground-truth file.

    febrl_to_fhir.py DATASET.csv [DATASET.csv ...] OUT_DIR --institution CODE [--no-identifier]

Writes OUT_DIR/patients.ndjson (one Patient per record) and OUT_DIR/truth.csv
(source_system,source_id,true_entity). The entity of "rec-123-org" and
"rec-123-dup-0" is 123; when several files are given (dataset4a + dataset4b)
entity numbers are shared across them. Standard library only.
"""

import argparse
import csv
import datetime
import json
import re
import sys
from collections import Counter
from pathlib import Path

FIELDS = ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
          "suburb", "postcode", "state", "date_of_birth", "soc_sec_id"]
SSN_SYSTEM = "urn:tongdang:eval:febrl-soc-sec-id"
REC_ID = re.compile(r"rec-(\d+)-(?:org|dup-\d+)")


def clean(value):
    value = (value or "").strip()
    return "" if value.lower() == "nan" else value


def fhir_id(rec_id):
    return re.sub(r"[^A-Za-z0-9\-.]", "-", rec_id)[:64]


def birth_date(raw):
    """YYYYMMDD -> YYYY-MM-DD, or None when it is not a real calendar date."""
    if not re.fullmatch(r"\d{8}", raw):
        return None
    try:
        return datetime.date(int(raw[:4]), int(raw[4:6]), int(raw[6:])).isoformat()
    except ValueError:
        return None


def to_patient(row, stats, with_identifier=True):
    patient = {"resourceType": "Patient", "id": fhir_id(row["rec_id"])}
    if row["soc_sec_id"] and with_identifier:
        patient["identifier"] = [{"system": SSN_SYSTEM, "value": row["soc_sec_id"]}]
    name = {"use": "official"}
    if row["surname"]:
        name["family"] = row["surname"]
    if row["given_name"]:
        name["given"] = [row["given_name"]]
    if len(name) > 1:
        patient["name"] = [name]
    if row["date_of_birth"]:
        dob = birth_date(row["date_of_birth"])
        if dob:
            patient["birthDate"] = dob
        else:
            stats["invalid date_of_birth (birthDate omitted)"] += 1
    street = " ".join(p for p in (row["street_number"], row["address_1"]) if p)
    address = {"line": [p for p in (street, row["address_2"]) if p], "city": row["suburb"],
               "postalCode": row["postcode"], "state": row["state"]}
    address = {k: v for k, v in address.items() if v}
    if address:
        address["country"] = "AU"
        patient["address"] = [address]
    return patient


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        header = [h.strip() for h in next(reader)]
        if header != FIELDS:
            sys.exit(f"{path}: unexpected header {header}")
        for line in reader:
            if line:
                yield {k: clean(v) for k, v in zip(header, line)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="+", type=Path, help="FEBRL dataset CSV(s)")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--institution", required=True, help="institution code the patients are submitted as")
    ap.add_argument("--no-identifier", action="store_true",
                    help="omit soc_sec_id (it is identical in ~86-91%% of true pairs, so it makes matching easy)")
    args = ap.parse_args()

    system = f"urn:tongdang:institution:{args.institution}:patient"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    entities, stats, seen = Counter(), Counter(), set()
    with open(args.out_dir / "patients.ndjson", "w", encoding="utf-8") as pout, \
         open(args.out_dir / "truth.csv", "w", newline="", encoding="utf-8") as tout:
        truth = csv.writer(tout, lineterminator="\n")
        truth.writerow(["source_system", "source_id", "true_entity"])
        for path in args.csv:
            for row in read_rows(path):
                m = REC_ID.fullmatch(row["rec_id"])
                if not m:
                    sys.exit(f"{path}: unrecognised rec_id {row['rec_id']!r}")
                patient = to_patient(row, stats, not args.no_identifier)
                if patient["id"] in seen:
                    sys.exit(f"{path}: duplicate id {patient['id']!r}")
                seen.add(patient["id"])
                for field in FIELDS[1:]:
                    if not row[field]:
                        stats[f"empty {field}"] += 1
                pout.write(json.dumps(patient, separators=(",", ":")) + "\n")
                truth.writerow([system, patient["id"], int(m.group(1))])
                entities[int(m.group(1))] += 1

    pairs = sum(n * (n - 1) // 2 for n in entities.values())
    print(f"records={len(seen)} entities={len(entities)} true_pairs={pairs} -> {args.out_dir}",
          file=sys.stderr)
    for key, count in sorted(stats.items()):
        print(f"  {key}: {count}", file=sys.stderr)


if __name__ == "__main__":
    main()
