//! Protection at rest, on both databases: nothing personal is stored in plaintext, a wrong
//! master key is refused, keys rotate while data stays readable, and every kind of tampering
//! with the stored data or the ledger is found by verification.

use serde_json::json;
use std::sync::Arc;
use tongdang_core::{InstitutionCode, PersonId};
use tongdang_ingest::{Channel, GroupMode, Ingestor, Item, Outcome, Preparation, Target, prepare};
use tongdang_protection::{LocalMasterKey, Suite};
use tongdang_store::verify::{verify, verify_witness_checkpoint};
use tongdang_store::{AuditEvent, EntryQuery, Location, ProtectedStore, Protection, Store};
use tongdang_testkit::Backend;

const NATIONAL_ID: &str = "urn:oid:2.16.156.10011.1.3";
const HOSPITAL: &str = "12440100MB1234567X";
const SECRETS: [&str; 6] =
    ["欧阳娜娜", "440104199003071234", "13812345678", "中山大道西八十八号", "司马光明", "11010519491231002X"];

async fn submit(ingestor: &Ingestor, resources: &[serde_json::Value]) -> Vec<Outcome> {
    let institution = InstitutionCode::new(HOSPITAL).unwrap();
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

fn patient(id: &str, name: &str, national_id: &str) -> serde_json::Value {
    json!({"resourceType": "Patient", "id": id,
           "identifier": [{"system": NATIONAL_ID, "value": national_id}],
           "name": [{"text": name}], "gender": "female", "birthDate": "1990-03-07",
           "telecom": [{"system": "phone", "value": "13812345678"}],
           "address": [{"text": "广东省广州市荔湾区中山大道西八十八号", "city": "广州市", "district": "荔湾区"}]})
}

fn encounter(id: &str, subject: &str, day: u32) -> serde_json::Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished", "class": {"code": "AMB"}, "subject": {"reference": subject},
           "period": {"start": format!("2024-10-{day:02}T14:22:00+08:00")}})
}

/// Two patients, three encounters (one corrected: a second version), two audit events, a
/// checkpoint. Returns the first person.
async fn fill(store: &Arc<ProtectedStore>) -> PersonId {
    let ingestor = Ingestor::new(store.clone());
    let out = submit(
        &ingestor,
        &[
            patient("a", "欧阳娜娜", "440104199003071234"),
            patient("b", "司马光明", "11010519491231002X"),
            encounter("e1", "Patient/a", 1),
            encounter("e2", "Patient/a", 2),
            encounter("e3", "Patient/b", 3),
        ],
    )
    .await;
    let person = match &out[0] {
        Outcome::Created { target: Target::Person(p), .. } => *p,
        other => panic!("{other:?}"),
    };
    let out = submit(
        &ingestor,
        &[json!({"resourceType": "Encounter", "id": "e1", "status": "cancelled", "class": {"code": "AMB"},
        "subject": {"reference": "Patient/a"}, "period": {"start": "2024-10-01T14:22:00+08:00"}})],
    )
    .await;
    assert!(matches!(out[0], Outcome::Updated { version: 2, .. }), "{out:?}");
    let mut read = AuditEvent::new("read.timeline", "institution:TEST key:td_x", "allowed");
    read.person = Some(person);
    store.append_events(&[read, AuditEvent::new("admin.institution", "cli", "ok")]).await.unwrap();
    store.checkpoint().await.unwrap();
    person
}

async fn backend(postgres: bool) -> Backend {
    if postgres { Backend::postgres().await } else { Backend::sqlite().await }
}

async fn assert_verifies(b: &Backend) {
    let report = verify(&b.protected, |_, _| {}).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.leaves, 6, "four entry versions and two events");
    assert_eq!(report.entry_versions, 4);
}

async fn assert_detected(b: &Backend, expected: &str) {
    let report = verify(&b.protected, |_, _| {}).await.unwrap();
    assert!(!report.ok(), "tampering went unnoticed");
    assert!(
        report.problems[0].contains(expected),
        "first problem {:?} should mention {expected:?}; all: {:?}",
        report.problems[0],
        report.problems
    );
}

async fn data_is_sealed_and_blind_indexed(postgres: bool) {
    let b = backend(postgres).await;
    let person = fill(&b.protected).await;
    // Reads give the plaintext back…
    let entries = b.store.entries(&EntryQuery { person: Some(person), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert!(String::from_utf8_lossy(&entries[0].resource).contains("\"resourceType\":\"Encounter\""));
    let ids = b.store.person_identifiers(person).await.unwrap();
    assert!(ids.iter().any(|i| i.value == "440104199003071234"), "{ids:?}");
    assert_eq!(b.store.persons_by_identifier(Some(NATIONAL_ID), "440104199003071234").await.unwrap(), vec![person]);
    let records = b.store.patient_records(person).await.unwrap();
    assert!(String::from_utf8_lossy(&records[0].resource).contains("欧阳娜娜"));
    // …while no column holds it.
    for sql in [
        "SELECT resource FROM entries",
        "SELECT resource FROM entry_history",
        "SELECT resource FROM patient_records",
        "SELECT CAST(value AS BLOB) FROM person_identifiers",
        "SELECT sealed FROM person_identifiers",
        "SELECT CAST(demographics AS BLOB) FROM match_records",
    ] {
        let sql = if postgres {
            sql.replace("CAST(value AS BLOB)", "convert_to(value, 'UTF8')")
                .replace("CAST(demographics AS BLOB)", "convert_to(demographics, 'UTF8')")
        } else {
            sql.to_string()
        };
        let blobs = b.fetch_blobs(&sql).await;
        assert!(!blobs.is_empty(), "{sql}");
        for blob in blobs {
            let text = String::from_utf8_lossy(&blob);
            for s in SECRETS {
                assert!(!text.contains(s), "{sql} holds {s} in plaintext");
            }
            assert!(!text.contains("resourceType"), "{sql} holds JSON in plaintext");
        }
    }
}

/// Operators' free text (why they merged, what they noted) may name a person: sealed too.
async fn operator_text_is_sealed(postgres: bool) {
    let b = backend(postgres).await;
    let a = fill(&b.protected).await;
    let other = b.store.persons_by_identifier(Some(NATIONAL_ID), "11010519491231002X").await.unwrap()[0];
    let why = "欧阳娜娜本人来电确认为同一人";
    let event = b.store.relink(&tongdang_store::RelinkOp::Merge { from: other, into: a }, "account:1", why).await.unwrap();
    assert_eq!(event.reason, why);
    assert!(b.store.mpi_events(a).await.unwrap().iter().any(|e| e.reason == why));
    for blob in b
        .fetch_blobs(if postgres {
            "SELECT convert_to(reason, 'UTF8') FROM mpi_events"
        } else {
            "SELECT CAST(reason AS BLOB) FROM mpi_events"
        })
        .await
    {
        assert!(!String::from_utf8_lossy(&blob).contains("欧阳娜娜"), "the reason is stored sealed");
    }
}

async fn wrong_master_key_is_refused(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    let location = match b.data_dir() {
        Some(d) => Location::DataDir(d),
        None => Location::Postgres(b.postgres_url().unwrap()),
    };
    let wrong = Protection { provider: Arc::new(LocalMasterKey::generate()), suite: Suite::Aes256Gcm, origin: "x".into() };
    let err = tongdang_store::open(&location, wrong).await.err().expect("a wrong master key must not open the store");
    let msg = err.to_string();
    assert!(msg.contains("does not open this database's keys"), "{msg}");
    assert!(msg.contains(&tongdang_protection::KeyProvider::fingerprint(b.master.as_ref())), "names the expected key: {msg}");
    let right = Protection { provider: b.master.clone(), suite: Suite::Aes256Gcm, origin: tongdang_store::DEFAULT_ORIGIN.into() };
    tongdang_store::open(&location, right).await.expect("the right key opens it");
}

async fn keys_rotate_and_everything_stays_readable(postgres: bool) {
    let b = backend(postgres).await;
    let person = fill(&b.protected).await;
    let before = b.store.entries(&EntryQuery { person: Some(person), limit: 10, ..Default::default() }).await.unwrap();
    let new_key = b.protected.rotate_data_key(Some(Suite::Sm4Gcm)).await.unwrap();
    // Values sealed before the rotation still open; new ones use the new key.
    assert_eq!(b.store.entries(&EntryQuery { person: Some(person), limit: 10, ..Default::default() }).await.unwrap(), before);
    let mut pages = 0;
    let resealed = b.protected.reseal(|_, _| pages += 1).await.unwrap();
    assert!(resealed >= 4 + 1 + 2 + 2 + 2, "entries, history, patients, identifiers and match records re-sealed: {resealed}");
    assert!(pages > 0);
    for blob in b.fetch_blobs("SELECT resource FROM entries").await {
        assert_eq!(tongdang_protection::Keyring::key_of(&blob).unwrap(), new_key);
    }
    assert_eq!(b.protected.reseal(|_, _| {}).await.unwrap(), 0, "nothing left under the old key");
    assert_eq!(b.store.entries(&EntryQuery { person: Some(person), limit: 10, ..Default::default() }).await.unwrap(), before);
    assert_eq!(b.store.persons_by_identifier(Some(NATIONAL_ID), "440104199003071234").await.unwrap(), vec![person]);
    // A new master key re-wraps the keys; the old one no longer opens the store.
    let next = Arc::new(LocalMasterKey::generate());
    b.protected.rewrap(next.as_ref()).await.unwrap();
    let location = match b.data_dir() {
        Some(d) => Location::DataDir(d),
        None => Location::Postgres(b.postgres_url().unwrap()),
    };
    let old = Protection { provider: b.master.clone(), suite: Suite::Aes256Gcm, origin: tongdang_store::DEFAULT_ORIGIN.into() };
    assert!(tongdang_store::open(&location, old).await.is_err());
    let reopened = tongdang_store::open(
        &location,
        Protection { provider: next, suite: Suite::Aes256Gcm, origin: tongdang_store::DEFAULT_ORIGIN.into() },
    )
    .await
    .unwrap();
    assert_eq!(reopened.entries(&EntryQuery { person: Some(person), limit: 10, ..Default::default() }).await.unwrap(), before);
    assert_verifies(&b).await;
}

/// `tongdang keys rotate` in another process while a server keeps reading and writing: the
/// server loads the pending key before anything is sealed with it, so no read ever fails.
async fn rotation_by_another_process_keeps_the_server_working(postgres: bool) {
    let b = backend(postgres).await;
    let person = fill(&b.protected).await;
    let location = match b.data_dir() {
        Some(d) => Location::DataDir(d),
        None => Location::Postgres(b.postgres_url().unwrap()),
    };
    let cli = tongdang_store::open(
        &location,
        Protection { provider: b.master.clone(), suite: Suite::Aes256Gcm, origin: tongdang_store::DEFAULT_ORIGIN.into() },
    )
    .await
    .unwrap();
    let server = b.protected.clone();
    let read =
        || async { server.entries(&EntryQuery { person: Some(person), limit: 10, ..Default::default() }).await.unwrap().len() };
    let id = cli.add_data_key(Some(Suite::Sm4Gcm)).await.unwrap();
    assert_eq!(read().await, 2);
    server.reload_keys().await.unwrap();
    cli.activate_key(id).await.unwrap();
    // The server still seals with the old key until it reloads; both open everywhere.
    let ingestor = Ingestor::new(server.clone());
    submit(&ingestor, &[encounter("e7", "Patient/a", 7)]).await;
    cli.reseal(|_, _| {}).await.unwrap();
    assert_eq!(read().await, 3);
    server.reload_keys().await.unwrap();
    submit(&ingestor, &[encounter("e8", "Patient/a", 8)]).await;
    cli.reseal(|_, _| {}).await.unwrap();
    assert_eq!(read().await, 4);
    for blob in b.fetch_blobs("SELECT resource FROM entries").await {
        assert_eq!(tongdang_protection::Keyring::key_of(&blob).unwrap(), id, "every value re-sealed with the new key");
    }
    server.checkpoint().await.unwrap();
    let report = verify(&server, |_, _| {}).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

async fn a_changed_payload_is_detected(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    assert_verifies(&b).await;
    let mut blob = b.fetch_blobs("SELECT resource FROM entries ORDER BY id LIMIT 1").await.remove(0);
    let n = blob.len();
    blob[n - 20] ^= 1;
    assert_eq!(b.exec("UPDATE entries SET resource = $1 WHERE id = (SELECT MIN(id) FROM entries)", Some(blob)).await, 1);
    assert_detected(&b, "does not open").await;
    let reads = b.store.entries(&EntryQuery { limit: 10, ..Default::default() }).await;
    assert!(reads.is_err(), "a changed payload is an error, never garbage");
}

async fn a_payload_moved_to_another_row_is_detected(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    let blob = b.fetch_blobs("SELECT resource FROM entries ORDER BY id DESC LIMIT 1").await.remove(0);
    b.exec("UPDATE entries SET resource = $1 WHERE id = (SELECT MIN(id) FROM entries)", Some(blob)).await;
    assert_detected(&b, "does not open").await;
}

async fn a_deleted_event_is_detected(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    assert_eq!(b.exec("DELETE FROM audit_events WHERE kind = 'read.timeline'", None).await, 1);
    assert_detected(&b, "is missing (deleted)").await;
}

async fn reordered_leaves_are_detected(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    let h0 = b.fetch_blobs("SELECT hash FROM ledger_nodes WHERE pos = 0 AND level = 0").await.remove(0);
    let h1 = b.fetch_blobs("SELECT hash FROM ledger_nodes WHERE pos = 1 AND level = 0").await.remove(0);
    b.exec("UPDATE ledger_nodes SET hash = $1 WHERE pos = 0 AND level = 0", Some(h1)).await;
    b.exec("UPDATE ledger_nodes SET hash = $1 WHERE pos = 1 AND level = 0", Some(h0)).await;
    b.exec("UPDATE ledger_leaves SET idx = -1 WHERE idx = 0", None).await;
    b.exec("UPDATE ledger_leaves SET idx = 0 WHERE idx = 1", None).await;
    b.exec("UPDATE ledger_leaves SET idx = 1 WHERE idx = -1", None).await;
    assert_detected(&b, "changed or reordered").await;
}

async fn an_edited_digest_is_detected(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    b.exec("UPDATE entries SET digest = $1 WHERE id = (SELECT MAX(id) FROM entries)", Some(vec![0u8; 32])).await;
    assert_detected(&b, "differs from its ledger leaf").await;
}

async fn deleted_leaves_and_forged_checkpoints_are_detected(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    b.exec("DELETE FROM ledger_nodes WHERE pos = 5", None).await;
    b.exec("DELETE FROM ledger_leaves WHERE idx = 5", None).await;
    b.exec("UPDATE ledger_state SET size = 5", None).await;
    assert_detected(&b, "ahead of the log").await;

    let b = backend(postgres).await;
    fill(&b.protected).await;
    let good = b.protected.checkpoints(None, 1).await.unwrap().remove(0);
    let forged = good.note.replace("\n6\n", "\n7\n");
    b.exec(&format!("UPDATE ledger_checkpoints SET note = '{}' WHERE size = 6", forged.replace('\'', "''")), None).await;
    assert_detected(&b, "signature does not verify").await;
}

/// A leaf appended again for an existing entry version (a forged second history), and the
/// record of what the last leaf stands for deleted, are both found.
async fn duplicate_and_orphaned_leaves_are_detected(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    let hash = b.fetch_blobs("SELECT hash FROM ledger_nodes WHERE pos = 2 AND level = 0").await.remove(0);
    b.exec("INSERT INTO ledger_queue (kind, ref_id, ref_version, hash) SELECT kind, ref_id, ref_version, $1 FROM ledger_leaves WHERE idx = 2", Some(hash)).await;
    b.protected.sequence_all().await.unwrap();
    assert_detected(&b, "two ledger leaves").await;

    let b = backend(postgres).await;
    fill(&b.protected).await;
    b.exec("DELETE FROM ledger_leaves WHERE idx = 5", None).await;
    assert_detected(&b, "have no record of what they stand for").await;
}

async fn an_old_checkpoint_is_proved_a_prefix(postgres: bool) {
    let b = backend(postgres).await;
    fill(&b.protected).await;
    let old = b.protected.checkpoints(None, 1).await.unwrap().remove(0);
    let ingestor = Ingestor::new(b.store.clone());
    submit(&ingestor, &[encounter("e9", "Patient/b", 9), encounter("e10", "Patient/b", 10)]).await;
    b.protected.checkpoint().await.unwrap();
    let proof = verify_witness_checkpoint(&b.protected, &old.note).await.unwrap();
    assert_eq!((proof.old_size, proof.new_size), (6, 8));
    // A forged checkpoint, one of another log, and one ahead of the log are refused.
    assert!(
        verify_witness_checkpoint(&b.protected, &old.note.replace("\n6\n", "\n5\n")).await.unwrap_err().contains("signature")
    );
    let other = tongdang_testkit::Backend::sqlite().await;
    fill(&other.protected).await;
    let foreign = other.protected.checkpoints(None, 1).await.unwrap().remove(0);
    assert!(verify_witness_checkpoint(&b.protected, &foreign.note).await.is_err());
    // History rewritten after the checkpoint: the subtree of the first four leaves replaced.
    b.exec("UPDATE ledger_nodes SET hash = $1 WHERE pos = 3 AND level = 2", Some(vec![7u8; 32])).await;
    assert!(verify_witness_checkpoint(&b.protected, &old.note).await.unwrap_err().contains("history was changed"));
}

async fn the_guomi_suite_works_end_to_end(postgres: bool) {
    let b = if postgres { Backend::postgres_with(Suite::Sm4Gcm).await } else { Backend::sqlite_with(Suite::Sm4Gcm).await };
    let person = fill(&b.protected).await;
    assert_eq!(b.protected.keyring().suite(), Suite::Sm4Gcm);
    assert!(b.protected.checkpoints(None, 1).await.unwrap()[0].note.contains("tongdang.gd/ledger"));
    assert_eq!(b.store.persons_by_identifier(Some(NATIONAL_ID), "440104199003071234").await.unwrap(), vec![person]);
    assert_verifies(&b).await;
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(false).await; })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(true).await; })*
        }
    };
}

on_both!(
    data_is_sealed_and_blind_indexed,
    operator_text_is_sealed,
    wrong_master_key_is_refused,
    keys_rotate_and_everything_stays_readable,
    rotation_by_another_process_keeps_the_server_working,
    a_changed_payload_is_detected,
    a_payload_moved_to_another_row_is_detected,
    a_deleted_event_is_detected,
    reordered_leaves_are_detected,
    an_edited_digest_is_detected,
    deleted_leaves_and_forged_checkpoints_are_detected,
    duplicate_and_orphaned_leaves_are_detected,
    an_old_checkpoint_is_proved_a_prefix,
    the_guomi_suite_works_end_to_end,
);
