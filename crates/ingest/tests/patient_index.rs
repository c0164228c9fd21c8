//! The patient index through the pipeline, on both databases: one person per resident even
//! when two hospitals register them at the same moment; twins and namesakes kept apart;
//! contradictions sent to review; merge, unmerge, link and unlink with entries following.

use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_core::{InstitutionCode, PersonId};
use tongdang_identity::systems::NATIONAL_ID;
use tongdang_ingest::{Channel, GroupMode, Ingestor, Item, Outcome, Preparation, Target, prepare};
use tongdang_store::{EntryQuery, PersonStatus, RelinkOp, Store, StoreError};

const H1: &str = "12440100MB1234567X";
const H2: &str = "12440300MB7654321X";

async fn submit(ingestor: &Ingestor, code: &str, resources: &[Value]) -> Vec<Outcome> {
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

fn patient(id: &str, name: &str, birth: &str, phone: &str, national_id: Option<&str>) -> Value {
    let mut p = json!({"resourceType": "Patient", "id": id, "name": [{"text": name}], "gender": "female", "birthDate": birth,
                       "telecom": [{"system": "phone", "value": phone}],
                       "address": [{"city": "广州市", "district": "天河区", "line": ["体育西路1号"]}]});
    if let Some(n) = national_id {
        p["identifier"] = json!([{"system": NATIONAL_ID, "value": n}]);
    }
    p
}

fn encounter(id: &str, subject: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished", "class": {"code": "AMB"}, "subject": {"reference": subject},
           "period": {"start": "2024-10-03T14:22:00+08:00"}})
}

fn person(o: &Outcome) -> PersonId {
    match o {
        Outcome::Created { target: Target::Person(p), .. } | Outcome::Updated { target: Target::Person(p), .. } => *p,
        other => panic!("not a stored Patient: {other:?}"),
    }
}

async fn entries(store: &Arc<dyn Store>, p: PersonId) -> usize {
    store.entries(&EntryQuery { person: Some(p), limit: 100, ..Default::default() }).await.unwrap().len()
}

/// A valid ID number for a birth date (GB 11643 check character computed).
fn id_number(birth: &str, seq: u32) -> String {
    let body = format!("440106{}{seq:03}", birth.replace('-', ""));
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(weights).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    format!("{body}{}", "10X98765432".as_bytes()[(sum % 11) as usize] as char)
}

/// Two hospitals register the same new resident at the same moment, again and again: with and
/// without an ID number, there is one person every time.
async fn concurrent_registrations_make_one_person(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    for round in 0..12u32 {
        let birth = format!("19{:02}-0{}-1{}", 50 + round, 1 + round % 9, round % 10);
        let id = (round % 2 == 0).then(|| id_number(&birth, round));
        let name = format!("陈{}", ["丽华", "美玲", "秀英", "桂芳"][round as usize % 4]);
        let phone = format!("1380013{:04}", round);
        let a = patient(&format!("a{round}"), &name, &birth, &phone, id.as_deref());
        let b = patient(&format!("b{round}"), &name, &birth, &phone, id.as_deref());
        let (i1, i2) = (ingestor.clone(), ingestor.clone());
        let t1 = tokio::spawn(async move { submit(&i1, H1, &[a]).await });
        let t2 = tokio::spawn(async move { submit(&i2, H2, &[b]).await });
        let (o1, o2) = (t1.await.unwrap(), t2.await.unwrap());
        assert_eq!(person(&o1[0]), person(&o2[0]), "round {round}: two persons for one resident");
    }
    assert_eq!(store.mpi_counts().await.unwrap().persons, 12);
}

/// Twins (same birth date, mother's phone and home, different given names) are two persons;
/// a homophone spelling of one of them at another hospital joins the right twin.
async fn twins_stay_two_and_homophones_join(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let o = submit(
        &ingestor,
        H1,
        &[patient("t1", "李子涵", "2015-06-01", "13800000001", None), patient("t2", "李子轩", "2015-06-01", "13800000001", None)],
    )
    .await;
    assert_ne!(person(&o[0]), person(&o[1]));
    let o2 = submit(&ingestor, H2, &[patient("x", "李紫涵", "2015-06-01", "13800000001", None)]).await;
    assert_eq!(person(&o2[0]), person(&o[0]), "李紫涵 is 李子涵 written with a homophone");
}

/// Namesakes born on one day in different places, with different phones, are not merged.
async fn namesakes_are_not_merged(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let o1 = submit(&ingestor, H1, &[patient("n1", "王芳", "1985-01-02", "13900000001", None)]).await;
    let mut other = patient("n2", "王芳", "1985-01-02", "13700000002", None);
    other["address"] = json!([{"city": "汕头市", "district": "澄海区", "line": ["中山路3号"]}]);
    let o2 = submit(&ingestor, H2, &[other]).await;
    assert_ne!(person(&o1[0]), person(&o2[0]));
}

/// The same ID number with another name and birth date is not linked: a new person, and a
/// review item for an operator.
async fn identifier_conflicts_go_to_review(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let id = id_number("1970-05-05", 11);
    let o1 = submit(&ingestor, H1, &[patient("c1", "赵敏", "1970-05-05", "13600000001", Some(&id))]).await;
    let o2 = submit(&ingestor, H2, &[patient("c2", "钱伟", "1988-11-30", "13600000002", Some(&id))]).await;
    assert_ne!(person(&o1[0]), person(&o2[0]));
    let open = store.reviews(Some("open"), 0, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].review.reason, "identifier-conflict");
    assert_eq!(open[0].review.candidate, person(&o1[0]));
}

/// Two different ID numbers in one Patient are refused: linking on either could merge two people.
async fn contradictory_identifiers_are_refused(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let mut p = patient("z", "孙丽", "1990-03-07", "13500000000", None);
    p["identifier"] = json!([{"system": NATIONAL_ID, "value": id_number("1990-03-07", 1)},
                             {"system": NATIONAL_ID, "value": id_number("1990-03-07", 2)}]);
    let o = submit(&ingestor, H1, &[p]).await;
    assert!(matches!(&o[0], Outcome::Refused(issues) if issues[0].path == "Patient.identifier"), "{o:?}");
    assert_eq!(store.mpi_counts().await.unwrap().persons, 0);
}

/// Merge moves records, identifiers and entries to the survivor and redirects the merged id;
/// entries submitted later for the merged record follow; unmerge restores both as they were.
async fn merge_and_unmerge_restore_both(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let ida = id_number("1960-01-01", 5);
    let o1 =
        submit(&ingestor, H1, &[patient("a", "周红", "1960-01-01", "13300000001", Some(&ida)), encounter("e1", "Patient/a")])
            .await;
    let o2 =
        submit(&ingestor, H2, &[patient("b", "周虹", "1961-02-02", "13300000002", None), encounter("e2", "Patient/b")]).await;
    let (a, b) = (person(&o1[0]), person(&o2[0]));
    assert_ne!(a, b);
    let ev =
        store.relink(&RelinkOp::Merge { from: b, into: a }, "operator:test", "same resident, typo in birth date").await.unwrap();
    assert_eq!(ev.records.len(), 1);
    assert_eq!(entries(&store, a).await, 2);
    assert_eq!(entries(&store, b).await, 0);
    assert_eq!(store.person_status(b).await.unwrap(), Some(PersonStatus::MergedInto(a)));
    let later = submit(&ingestor, H2, &[encounter("e3", "Patient/b")]).await;
    assert!(matches!(later[0], Outcome::Created { .. }), "{later:?}");
    assert_eq!(entries(&store, a).await, 3, "a new entry for the merged record lands on the survivor");
    // Merging a merged person again is refused.
    let again = store.relink(&RelinkOp::Merge { from: b, into: a }, "operator:test", "again").await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    store.relink(&RelinkOp::Unmerge { event: ev.id }, "operator:test", "they are mother and daughter").await.unwrap();
    assert_eq!(store.person_status(b).await.unwrap(), Some(PersonStatus::Active));
    assert_eq!(entries(&store, a).await, 1);
    assert_eq!(entries(&store, b).await, 2, "b gets back its entries, including the one sent while merged");
    assert_eq!(store.persons_by_identifier(Some(NATIONAL_ID), &ida).await.unwrap(), vec![a]);
    let history = store.mpi_events(b).await.unwrap();
    assert_eq!(history.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), vec!["merge", "unmerge"]);
    assert_eq!(history[0].undone_by, Some(history[1].id));
    let twice = store.relink(&RelinkOp::Unmerge { event: ev.id }, "operator:test", "again").await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
}

/// Unlink gives a record (and its entries) a person of its own; link puts it back.
async fn unlink_and_link_move_a_record(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let id = id_number("1975-07-07", 9);
    let o1 = submit(&ingestor, H1, &[patient("p", "吴刚", "1975-07-07", "13200000001", Some(&id)), encounter("e1", "Patient/p")])
        .await;
    let o2 = submit(&ingestor, H2, &[patient("q", "吴刚", "1975-07-07", "13200000001", Some(&id)), encounter("e2", "Patient/q")])
        .await;
    let a = person(&o1[0]);
    assert_eq!(person(&o2[0]), a);
    let records = store.patient_records(a).await.unwrap();
    let q = records.iter().find(|r| r.source_id == "q").unwrap().id;
    let ev = store.relink(&RelinkOp::Unlink { record: q }, "operator:test", "different resident, shared card").await.unwrap();
    let c = ev.person;
    assert_ne!(c, a);
    assert_eq!((entries(&store, a).await, entries(&store, c).await), (1, 1));
    let only = store.relink(&RelinkOp::Unlink { record: q }, "operator:test", "again").await;
    assert!(matches!(only, Err(StoreError::Conflict(_))), "the only record of a person cannot be unlinked");
    store.relink(&RelinkOp::Link { record: q, person: a }, "operator:test", "it was the same resident").await.unwrap();
    assert_eq!(entries(&store, a).await, 2);
    assert_eq!(store.person_status(c).await.unwrap(), Some(PersonStatus::MergedInto(a)), "the emptied person redirects");
    // Unlinked again, the record returns to the person the link emptied, not to a stranger's id.
    let back = store.relink(&RelinkOp::Unlink { record: q }, "operator:test", "not the same after all").await.unwrap();
    assert_eq!(back.person, c);
    assert_eq!(store.person_status(c).await.unwrap(), Some(PersonStatus::Active));
    assert_eq!(entries(&store, c).await, 1);
}

/// Merges are undone last first: undoing an earlier merge while its survivor is merged away
/// would leave an empty, active person.
async fn merges_are_undone_in_order(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let mut persons = Vec::new();
    for (i, (name, birth)) in [("甲一", "1950-01-01"), ("乙二", "1960-02-02"), ("丙三", "1970-03-03")].iter().enumerate() {
        let o = submit(&ingestor, H1, &[patient(&format!("m{i}"), name, birth, &format!("1310000000{i}"), None)]).await;
        persons.push(person(&o[0]));
    }
    let (a, b, c) = (persons[0], persons[1], persons[2]);
    let first = store.relink(&RelinkOp::Merge { from: a, into: b }, "operator:test", "one").await.unwrap();
    let second = store.relink(&RelinkOp::Merge { from: b, into: c }, "operator:test", "two").await.unwrap();
    let early = store.relink(&RelinkOp::Unmerge { event: first.id }, "operator:test", "out of order").await;
    assert!(matches!(early, Err(StoreError::Conflict(_))), "{early:?}");
    assert_eq!(store.person_status(a).await.unwrap(), Some(PersonStatus::MergedInto(c)));
    store.relink(&RelinkOp::Unmerge { event: second.id }, "operator:test", "undo two").await.unwrap();
    store.relink(&RelinkOp::Unmerge { event: first.id }, "operator:test", "undo one").await.unwrap();
    for p in [a, b, c] {
        assert_eq!(store.person_status(p).await.unwrap(), Some(PersonStatus::Active));
        assert_eq!(store.patient_records(p).await.unwrap().len(), 1, "each has its own record back");
    }
}

/// A twin presenting her sister's ID card: the number is the sister's, the name is not. Not
/// linked; an operator sees it.
async fn a_borrowed_card_is_not_linked(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let id = id_number("2010-09-09", 21);
    let o1 = submit(&ingestor, H1, &[patient("s1", "何雨涵", "2010-09-09", "13000000001", Some(&id))]).await;
    let o2 = submit(&ingestor, H2, &[patient("s2", "何雨轩", "2010-09-09", "13000000001", Some(&id))]).await;
    assert_ne!(person(&o1[0]), person(&o2[0]));
    let open = store.reviews(Some("open"), 0, 10).await.unwrap();
    assert!(open.iter().any(|r| r.review.reason == "identifier-conflict"), "{open:?}");
}

/// A possible match waits in review, not linked; deciding `link` moves it, once.
async fn review_decisions_link_once(store: Arc<dyn Store>) {
    let ingestor = Ingestor::new(store.clone());
    let o1 = submit(&ingestor, H1, &[patient("r1", "林静", "1992-04-05", "13100000001", None)]).await;
    // Same name and birth date, but a new phone and another city: possible, not certain.
    let mut moved = patient("r2", "林静", "1992-04-05", "13100000009", None);
    moved["address"] = json!([{"city": "珠海市", "district": "香洲区", "line": ["海滨路2号"]}]);
    let o2 = submit(&ingestor, H2, &[moved, encounter("e", "Patient/r2")]).await;
    let (a, b) = (person(&o1[0]), person(&o2[0]));
    assert_ne!(a, b, "not linked automatically");
    let open = store.reviews(Some("open"), 0, 10).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].review.candidate, a);
    let (item, event) = store.decide_review(open[0].id, true, "operator:test", "confirmed by phone").await.unwrap();
    assert_eq!(item.status, "linked");
    assert!(event.is_some());
    assert_eq!(entries(&store, a).await, 1);
    let again = store.decide_review(open[0].id, false, "operator:test", "changed mind").await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

tongdang_testkit::backend_tests!(
    concurrent_registrations_make_one_person,
    twins_stay_two_and_homophones_join,
    namesakes_are_not_merged,
    identifier_conflicts_go_to_review,
    contradictory_identifiers_are_refused,
    merge_and_unmerge_restore_both,
    unlink_and_link_move_a_record,
    review_decisions_link_once,
    merges_are_undone_in_order,
    a_borrowed_card_is_not_linked,
);
