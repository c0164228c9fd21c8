//! Sources correct what they sent: an entry moved to the right patient, an identifier fixed.
//! Nothing of the old state may keep showing or keep linking.

use serde_json::json;
use std::sync::Arc;
use tongdang_core::{InstitutionCode, PersonId};
use tongdang_ingest::{Channel, GroupMode, Ingestor, Item, Outcome, Preparation, Target, prepare};
use tongdang_store::{EntryQuery, Store};

const NATIONAL_ID: &str = "urn:oid:2.16.156.10011.1.3";

async fn submit(ingestor: &Ingestor, code: &str, resources: &[serde_json::Value]) -> Vec<Outcome> {
    let institution = InstitutionCode::new(code).unwrap();
    let submission = ingestor.begin(institution.clone(), Channel::Rest).await.unwrap();
    let items = resources
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let text = r.to_string();
            prepare(Item::from_line(n as u64 + 1, &text), &Preparation::new(institution.clone()), text.len())
        })
        .collect();
    ingestor.commit(&submission, items, GroupMode::Batch).await.unwrap().into_iter().map(|r| r.outcome).collect()
}

fn patient(id: &str, national_id: &str) -> serde_json::Value {
    json!({"resourceType": "Patient", "id": id, "identifier": [{"system": NATIONAL_ID, "value": national_id}]})
}

fn encounter(id: &str, subject: &str) -> serde_json::Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished", "class": {"code": "AMB"}, "subject": {"reference": subject},
           "period": {"start": "2024-10-03T14:22:00+08:00"}})
}

fn person(o: &Outcome) -> PersonId {
    match o {
        Outcome::Created { target: Target::Person(p), .. } | Outcome::Updated { target: Target::Person(p), .. } => *p,
        other => panic!("not a stored Patient: {other:?}"),
    }
}

async fn record(store: &Arc<dyn Store>, p: PersonId) -> Vec<tongdang_store::EntryRecord> {
    store.entries(&EntryQuery { person: Some(p), limit: 100, ..Default::default() }).await.unwrap()
}

/// A hospital files an encounter under the wrong patient, then corrects its subject.
async fn an_entry_moves_to_the_corrected_patient(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let h = "12440100MB1234567X";
    let out = submit(
        &ingestor,
        h,
        &[patient("a", "11010519491231002X"), patient("b", "440106199003071231"), encounter("e1", "Patient/a")],
    )
    .await;
    let (a, b) = (person(&out[0]), person(&out[1]));
    assert_eq!(record(&store, a).await.len(), 1);
    let out = submit(&ingestor, h, &[encounter("e1", "Patient/b")]).await;
    assert!(matches!(out[0], Outcome::Updated { version: 2, .. }), "{out:?}");
    assert!(record(&store, a).await.is_empty(), "nothing of it stays in the wrong record");
    let moved = record(&store, b).await;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].version, 2);
    assert!(std::str::from_utf8(&moved[0].resource).unwrap().contains(&format!("\"Patient/{b}\"")));
    assert_eq!(store.counts().await.unwrap().entries, 1);
}

/// A Patient entered with a relative's ID number is corrected: the wrong number stops linking,
/// so its real owner, arriving from another hospital, becomes a person of their own.
async fn a_corrected_identifier_stops_linking(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let wrong = "11010519491231002X";
    let out = submit(&ingestor, "12440100MB1234567X", &[patient("p1", wrong)]).await;
    let first = person(&out[0]);
    let out = submit(&ingestor, "12440100MB1234567X", &[patient("p1", "440106199003071231")]).await;
    assert_eq!(person(&out[0]), first);
    assert!(store.persons_by_identifier(Some(NATIONAL_ID), wrong).await.unwrap().is_empty(), "the old number is gone");
    let out = submit(&ingestor, "12440300MB7654321X", &[patient("x9", wrong)]).await;
    assert_ne!(person(&out[0]), first, "the real owner is not merged into the corrected record");
    assert_eq!(store.counts().await.unwrap().persons, 2);
}

/// A Hong Kong resident known to two hospitals only by the Home Return Permit, written
/// differently by each, is one person; a passport alone links nothing (numbers change).
async fn other_identity_documents_link_when_verified(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let permit = |id: &str, value: &str| json!({"resourceType": "Patient", "id": id, "identifier": [{"system": "urn:tongdang:sid:hk-macao-permit", "value": value}]});
    let a = person(&submit(&ingestor, "12440100MB1234567X", &[permit("a", "H12345678")]).await[0]);
    let b = person(&submit(&ingestor, "12440300MB7654321X", &[permit("b", "h1234 5678")]).await[0]);
    assert_eq!(a, b);
    let passport = |id: &str| json!({"resourceType": "Patient", "id": id, "identifier": [{"system": "http://hl7.org/fhir/sid/passport-CHN", "value": "E12345678"}]});
    let c = person(&submit(&ingestor, "12440100MB1234567X", &[passport("c")]).await[0]);
    let d = person(&submit(&ingestor, "12440300MB7654321X", &[passport("d")]).await[0]);
    assert_ne!(c, d, "a passport number alone does not link");
    // Both spellings find the permit holder.
    assert_eq!(store.persons_by_identifier(Some("urn:tongdang:sid:hk-macao-permit"), "H12345678").await.unwrap(), vec![a]);
}

/// In a stream, version 1 of an encounter waits for its Location (sent last); version 2 arrives
/// in between and must not overtake it: the current version at the end is the last one sent.
async fn a_held_back_version_is_not_overtaken(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let institution = InstitutionCode::new("12440100MB1234567X").unwrap();
    let submission = ingestor.begin(institution, Channel::Ndjson).await.unwrap();
    let mut session = tongdang_ingest::Session::new(ingestor.clone(), submission, 10);
    let mut v1 = encounter("e1", "Patient/p");
    v1["location"] = json!([{"location": {"reference": "Location/l1"}}]);
    let mut v2 = encounter("e1", "Patient/p");
    v2["status"] = json!("cancelled");
    let location = json!({"resourceType": "Location", "id": "l1", "name": "门诊楼"});
    let lines = [patient("p", "11010519491231002X"), v1, v2, location];
    for (n, line) in lines.iter().enumerate() {
        // One chunk per line, so each is committed before the next arrives.
        session.push(vec![(n as u64 + 1, Ok(line.to_string()))]).await.unwrap();
    }
    let (summary, refusals) = session.finish().await.unwrap();
    assert!(refusals.is_empty(), "{refusals:?}");
    assert_eq!(summary.totals().stored, 4);
    let persons = store.persons(None, 10).await.unwrap();
    let entries = record(&store, persons[0]).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].version, 2);
    assert!(std::str::from_utf8(&entries[0].resource).unwrap().contains("\"cancelled\""), "the last version sent is current");
}

tongdang_testkit::backend_tests!(
    a_held_back_version_is_not_overtaken,
    an_entry_moves_to_the_corrected_patient,
    a_corrected_identifier_stops_linking,
    other_identity_documents_link_when_verified
);
