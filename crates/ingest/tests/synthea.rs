//! Real third-party data: the Synthea sample (FHIR R4 bulk export, US profiles) imports whole.

use std::collections::BTreeMap;
use std::sync::Arc;
use tongdang_core::{City, ConnectionMode, Institution, InstitutionCode, InstitutionKind, Level, Ownership};
use tongdang_ingest::Ingestor;
use tongdang_ingest::import::import_files;
use tongdang_store::{EntryQuery, Store};

fn institution() -> Institution {
    Institution {
        code: InstitutionCode::new("12440100MB1234567X").unwrap(),
        name: "广州市测试医院".into(),
        city: City::Guangzhou,
        level: Level::TertiaryA,
        ownership: Ownership::Public,
        kind: InstitutionKind::Hospital,
        connection: ConnectionMode::Direct,
    }
}

fn synthea_files() -> Vec<std::path::PathBuf> {
    let dir = tongdang_testkit::fixture("synthea-10");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    files.sort();
    files
}

async fn synthea_imports_whole_and_once(store: Arc<dyn Store>) {
    let inst = institution();
    store.upsert_institution(&inst).await.unwrap();
    let ingestor = Ingestor::new(store.clone());
    let files = synthea_files();
    let report = import_files(&ingestor, &inst.code, &files, &|_| {}, 100).await.unwrap();
    let by_type: BTreeMap<&str, (u64, u64)> =
        report.summary.by_type.iter().map(|(k, v)| (k.as_str(), (v.stored, v.refused))).collect();
    let expected = [
        ("AllergyIntolerance", 11),
        ("Condition", 555),
        ("Device", 16),
        ("DocumentReference", 1215),
        ("Encounter", 1215),
        ("Immunization", 161),
        ("Location", 44),
        ("MedicationRequest", 1745),
        ("Organization", 43),
        ("Patient", 13),
        ("Practitioner", 43),
        ("PractitionerRole", 43),
        ("Procedure", 2056),
    ];
    for (rt, n) in expected {
        assert_eq!(by_type.get(rt), Some(&(n, 0)), "{rt}: {:?}", report.summary.by_type.get(rt));
    }
    // log.ndjson is the export's log, not FHIR: its 4 lines are refused, plainly.
    let not_fhir = &report.summary.by_type["(not FHIR)"];
    assert_eq!((not_fhir.read, not_fhir.refused), (4, 4));
    assert!(not_fhir.reasons[0].contains("resourceType"), "{:?}", not_fhir.reasons);
    assert!(report.refusals.iter().all(|r| r.file.ends_with("log.ndjson")));

    // The quality figures were kept as the data arrived: every resource received and accepted,
    // and Synthea's decades of history counted late.
    let today = tongdang_core::Timestamp::now();
    let query = tongdang_store::QualityQuery {
        institution: Some(inst.code.as_str().to_string()),
        city: None,
        from: tongdang_core::Timestamp(today.0 - 86_400_000_000).cst_day(),
        to: today.cst_day(),
    };
    let mut sum = tongdang_store::QualityCounts::default();
    store.quality(&query).await.unwrap().iter().for_each(|r| sum.add(r));
    assert_eq!((sum.received, sum.accepted, sum.returned), (7160, 7160, 0));
    assert!(sum.late > 1000 && sum.timed > 6000 && sum.lag[5] == sum.timed, "{sum:?}");

    let counts = store.counts().await.unwrap();
    assert_eq!(counts.persons, 13);
    assert_eq!(counts.entries, 6974);

    // Every entry is in its person's record, in time order.
    let persons = store.persons(None, 100).await.unwrap();
    let mut total = 0;
    for p in persons {
        let entries = store.entries(&EntryQuery { person: Some(p), limit: 10_000, ..Default::default() }).await.unwrap();
        assert!(entries.windows(2).all(|w| (w[0].sort_time, w[0].id) > (w[1].sort_time, w[1].id)), "newest first");
        for e in &entries {
            let text = std::str::from_utf8(&e.resource).unwrap();
            assert!(text.contains(&format!("\"Patient/{p}\"")), "entry references its platform Patient");
            assert!(!text.contains("?identifier="), "conditional references were resolved");
        }
        total += entries.len();
    }
    assert_eq!(total, 6974);

    // Running it again stores nothing.
    let again = import_files(&ingestor, &inst.code, &files, &|_| {}, 100).await.unwrap();
    let totals = again.summary.totals();
    assert_eq!(totals.stored, 0);
    assert_eq!(totals.unchanged, 7160);
    assert_eq!(store.counts().await.unwrap().entries, 6974);
}

tongdang_testkit::backend_tests!(synthea_imports_whole_and_once);
