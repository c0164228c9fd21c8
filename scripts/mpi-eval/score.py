#!/usr/bin/env python3
"""Score MPI links against ground truth with pairwise precision / recall / F1.

    score.py --truth truth.csv --links links.csv [--reviews reviews.csv] [--json]

truth.csv   source_system,source_id,true_entity                  (febrl_to_fhir.py)
links.csv   source_system,source_id,person_id                    (tongdang mpi links --format csv)
reviews.csv source_system,source_id,person_id,candidate_person_id,score
                                                                  (tongdang mpi reviews --format csv)

Only records present in truth are scored. A true pair is two records of the same
entity, a predicted pair two records of the same person; counts come from group
sizes (sum of C(n,2)), so the cost is linear in the number of records. Records
absent from links.csv count as singletons. Review items name a record and a
person it was NOT linked to; each (record, member of that person) is a reviewed
pair, which shows how many missed pairs are waiting for a human.
"""

import argparse
import csv
import json
import sys
from collections import Counter, defaultdict


def pairs(n):
    return n * (n - 1) // 2


def ratio(a, b):
    return a / b if b else None


def read(path, columns):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            sys.exit(f"{path}: missing column(s) {missing}; header is {reader.fieldnames}")
        for row in reader:
            yield tuple((row[c] or "").strip() for c in columns)


def score(truth_path, links_path, reviews_path=None):
    truth, warn = {}, Counter()
    for system, sid, entity in read(truth_path, ["source_system", "source_id", "true_entity"]):
        if truth.setdefault((system, sid), entity) != entity:
            sys.exit(f"{truth_path}: {system} {sid} has two true entities")

    links = {}
    for system, sid, person in read(links_path, ["source_system", "source_id", "person_id"]):
        key = (system, sid)
        if key not in truth:
            warn["links rows not in truth (ignored)"] += 1
        elif links.setdefault(key, person) != person:
            warn["records linked to two persons (first kept)"] += 1
    warn["truth records missing from links (scored as singletons)"] = len(truth) - len(links)

    def person_of(key):  # a tuple can never equal a person_id string
        return links.get(key, ("unlinked", key))

    entity_sizes = Counter(truth.values())
    person_sizes = Counter(person_of(k) for k in truth)
    cells = Counter((e, person_of(k)) for k, e in truth.items())
    true_pairs = sum(pairs(n) for n in entity_sizes.values())
    predicted = sum(pairs(n) for n in person_sizes.values())
    tp = sum(pairs(n) for n in cells.values())
    precision, recall = ratio(tp, predicted), ratio(tp, true_pairs)
    f1 = 2 * tp / (predicted + true_pairs) if predicted + true_pairs else None
    split, mixed = Counter(e for e, _ in cells), Counter(p for _, p in cells)
    out = {
        "records": len(truth), "entities": len(entity_sizes), "persons": len(person_sizes),
        "true_pairs": true_pairs, "predicted_pairs": predicted, "correct_pairs": tp,
        "false_merge_pairs": predicted - tp, "false_split_pairs": true_pairs - tp,
        "precision": precision, "recall": recall, "f1": f1,
        "entities_split": sum(n > 1 for n in split.values()),
        "persons_mixing_entities": sum(n > 1 for n in mixed.values()),
    }

    if reviews_path:
        members = defaultdict(list)
        for key in truth:
            members[person_of(key)].append(key)
        items, reviewed, reviewed_pairs = 0, set(), set()
        cols = ["source_system", "source_id", "candidate_person_id"]
        for system, sid, cand in read(reviews_path, cols):
            key = (system, sid)
            if key not in truth:
                warn["review items on records not in truth (ignored)"] += 1
                continue
            if person_of(key) == cand:
                warn["review items whose record is already linked to the candidate (ignored)"] += 1
                continue
            if cand not in members:
                warn["review items naming a candidate with no scored records"] += 1
            items += 1
            reviewed.add(key)
            reviewed_pairs.update((min(key, o), max(key, o)) for o in members.get(cand, ()))
        hits = sum(truth[a] == truth[b] for a, b in reviewed_pairs)
        out["reviews"] = {
            "items": items, "records_with_review": len(reviewed),
            "review_share": ratio(len(reviewed), len(truth)),
            "reviewed_pairs_true": hits, "reviewed_pairs_false": len(reviewed_pairs) - hits,
            "missed_pairs_in_review_share": ratio(hits, true_pairs - tp),
            "recall_if_reviews_accepted": ratio(tp + hits, true_pairs),
        }
    out["warnings"] = {k: v for k, v in warn.items() if v}
    return out


def fmt(x):
    return "n/a" if x is None else f"{x:.4f}"


def table(r):
    lines = [
        f"records {r['records']}   entities {r['entities']}   persons {r['persons']}",
        f"pairs   true {r['true_pairs']}   predicted {r['predicted_pairs']}   correct {r['correct_pairs']}",
        f"precision {fmt(r['precision'])}   recall {fmt(r['recall'])}   F1 {fmt(r['f1'])}",
        f"false merges {r['false_merge_pairs']} pairs ({r['persons_mixing_entities']} persons mix entities)",
        f"false splits {r['false_split_pairs']} pairs ({r['entities_split']} entities split)",
    ]
    if "reviews" in r:
        v = r["reviews"]
        lines += [
            f"reviews {v['items']} items on {v['records_with_review']} records (share {fmt(v['review_share'])})",
            f"reviewed pairs  true {v['reviewed_pairs_true']}   false {v['reviewed_pairs_false']}   "
            f"share of missed pairs in review {fmt(v['missed_pairs_in_review_share'])}   "
            f"recall if accepted {fmt(v['recall_if_reviews_accepted'])}",
        ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", required=True)
    ap.add_argument("--links", required=True)
    ap.add_argument("--reviews")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    result = score(args.truth, args.links, args.reviews)
    for k, v in result["warnings"].items():
        print(f"warning: {k}: {v}", file=sys.stderr)
    print(json.dumps(result, indent=2) if args.json else table(result))


if __name__ == "__main__":
    main()
