//! Reading records after the Synthea sample was submitted over HTTP: the timeline of
//! `/api/v1`, and FHIR search and `Patient/$everything`.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tongdang_core::Timestamp;
use tongdang_store::ProtectedStore;

const CATEGORIES: [&str; 10] =
    ["encounter", "physical_exam", "lab", "blood", "vaccination", "medication", "procedure", "allergy", "document", "other"];
const DIRECTORY_TYPES: [&str; 8] =
    ["Organization", "Location", "Practitioner", "PractitionerRole", "Medication", "HealthcareService", "Endpoint", "Substance"];

/// A person's whole timeline in one call.
async fn whole_timeline(s: &Server, person: &str) -> Vec<Value> {
    let (status, page) = s.get_json(&format!("/api/v1/persons/{person}/timeline?limit=5000")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["next_cursor"].is_null(), "one page of 5000 holds a Synthea record");
    page["entries"].as_array().unwrap().clone()
}

/// The person with the most entries, and those entries; checks every entry is in someone's record.
async fn busiest_person(s: &Server) -> (String, Vec<Value>) {
    let persons = s.person_ids().await;
    assert_eq!(persons.len(), 13);
    s.grant_everyone().await;
    let mut total = 0;
    let mut best: Option<(String, Vec<Value>)> = None;
    for p in persons {
        let all = whole_timeline(s, &p).await;
        total += all.len();
        if best.as_ref().is_none_or(|(_, b)| all.len() > b.len()) {
            best = Some((p, all));
        }
    }
    assert_eq!(total, 6974, "every entry is in its person's timeline");
    best.unwrap()
}

/// The time an entry is ordered by: its clinical time, or when it was collected if it has none.
fn time_of(e: &Value) -> Timestamp {
    instant(e["clinical_time"].as_str().unwrap_or_else(|| e["collected_at"].as_str().unwrap()))
}

fn id_of(e: &Value) -> i64 {
    e["id"].as_str().unwrap().parse().unwrap()
}

/// Two lists of entries are the same: compared by id first, so a failure names ids instead of
/// printing whole records.
fn assert_same(got: &[Value], want: &[&Value], what: &str) {
    let ids = |l: Vec<&Value>| l.into_iter().map(id_of).collect::<Vec<_>>();
    assert_eq!(ids(got.iter().collect()), ids(want.to_vec()), "{what}: ids");
    assert!(got.iter().zip(want).all(|(a, b)| a == *b), "{what}: same ids, different content");
}

/// Every `reference` string anywhere in a resource.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("reference", Value::String(r)) => out.push(r.clone()),
                    _ => references(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

/// Pages of 50 followed by their cursors equal one page of everything, newest first, and the
/// filters and errors of the timeline behave.
async fn timeline_pages_newest_first_with_filters(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    import_synthea(&s).await;
    let (person, all) = busiest_person(&s).await;
    assert!(all.len() > 200, "{}", all.len());

    // Every entry in the contract's shape, from the registered institution, about this person.
    for e in &all {
        let o = e.as_object().unwrap();
        for k in ["id", "category", "clinical_time", "collected_at", "source", "resource"] {
            assert!(o.contains_key(k), "{k} missing: {e}");
        }
        assert!(e["id"].as_str().unwrap().parse::<i64>().is_ok(), "{e}");
        assert!(CATEGORIES.contains(&e["category"].as_str().unwrap()), "{}", e["category"]);
        match &e["clinical_time"] {
            Value::Null => {}
            Value::String(t) => assert!(t.ends_with("+08:00") && Timestamp::parse_fhir(t).is_some(), "{t}"),
            other => panic!("clinical_time is a string or null, not {other}"),
        }
        let collected = e["collected_at"].as_str().unwrap();
        assert!(collected.ends_with("+08:00") && Timestamp::parse_fhir(collected).is_some(), "{collected}");
        assert_eq!(e["source"], serde_json::json!({"code": CODE, "name": NAME}));
        let r = &e["resource"];
        assert_eq!(r["resourceType"], e["resource_type"], "{e}");
        assert_eq!(r["id"], e["id"], "the resource carries its platform id");
        let subject = if r["subject"].is_object() { &r["subject"] } else { &r["patient"] };
        assert_eq!(subject["reference"], format!("Patient/{person}"), "{r}");
    }
    assert!(all.iter().any(|e| e["clinical_time"].is_null()), "Synthea Devices have no clinical time");
    // Newest first; ties broken by id, so the order is total.
    let keys: Vec<(Timestamp, i64)> = all.iter().map(|e| (time_of(e), id_of(e))).collect();
    assert!(keys.windows(2).all(|w| w[0] > w[1]), "newest clinical time first");

    // Pages of 50, following next_cursor until it is null.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/api/v1/persons/{person}/timeline?limit=50");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        s.grant_everyone().await;
        let (status, page) = s.get_json(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let list = page["entries"].as_array().unwrap();
        paged.extend(list.iter().cloned());
        match &page["next_cursor"] {
            Value::Null => {
                assert!(!list.is_empty() && list.len() <= 50);
                break;
            }
            Value::String(c) => {
                assert_eq!(list.len(), 50);
                cursor = Some(c.clone());
            }
            other => panic!("next_cursor is a string or null, not {other}"),
        }
        assert!(pages <= all.len(), "paging ends");
    }
    assert_eq!(pages, all.len().div_ceil(50));
    assert_same(&paged, &all.iter().collect::<Vec<_>>(), "pages concatenate to the whole record");

    // Categories.
    let (status, page) = s.get_json(&format!("/api/v1/persons/{person}/timeline?category=vaccination&limit=5000")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let vaccinations = page["entries"].as_array().unwrap();
    let expected: Vec<&Value> = all.iter().filter(|e| e["category"] == "vaccination").collect();
    assert!(!expected.is_empty());
    assert_same(vaccinations, &expected, "category=vaccination");
    assert!(vaccinations.iter().all(|e| e["resource"]["resourceType"] == "Immunization"), "{page}");
    let (_, page) = s.get_json(&format!("/api/v1/persons/{person}/timeline?category=vaccination,procedure&limit=5000")).await;
    let expected: Vec<&Value> = all.iter().filter(|e| e["category"] == "vaccination" || e["category"] == "procedure").collect();
    assert_same(page["entries"].as_array().unwrap(), &expected, "filtered");

    // A window of years: from the start of `from` to the end of `to`, in China Standard Time.
    let years: Vec<i32> = all
        .iter()
        .filter_map(|e| e["clinical_time"].as_str())
        .map(|t| t[..4].parse().unwrap())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (from, to) = (years[years.len() / 4], years[years.len() * 3 / 4]);
    let (lo, hi) = (instant(&format!("{from}-01-01T00:00:00+08:00")), instant(&format!("{}-01-01T00:00:00+08:00", to + 1)));
    let expected: Vec<&Value> = all.iter().filter(|e| (lo..hi).contains(&time_of(e))).collect();
    assert!(!expected.is_empty() && expected.len() < all.len());
    let (status, page) = s.get_json(&format!("/api/v1/persons/{person}/timeline?from={from}&to={to}&limit=5000")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_same(page["entries"].as_array().unwrap(), &expected, "filtered");
    let (_, page) = s.get_json(&format!("/api/v1/persons/{person}/timeline?from={from}-01-01&limit=5000")).await;
    let expected: Vec<&Value> = all.iter().filter(|e| time_of(e) >= lo).collect();
    assert_same(page["entries"].as_array().unwrap(), &expected, "filtered");

    // Bad requests, unknown persons.
    for (query, code) in [
        ("category=labs", "bad_request"),
        ("category=vaccination,nope", "bad_request"),
        ("from=yesterday", "bad_request"),
        ("to=2024-13", "bad_request"),
        ("limit=many", "bad_request"),
        ("cursor=not-a-cursor", "bad_cursor"),
    ] {
        let (status, body) = s.get_json(&format!("/api/v1/persons/{person}/timeline?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_api_error(&body, code);
    }
    for unknown in ["abc", "-1"] {
        let (status, body) = s.get_json(&format!("/api/v1/persons/{unknown}/timeline")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {body}");
        assert_api_error(&body, "not_found");
    }
    // A person that could exist but holds no grant for this reader: refused, exactly as one that
    // exists (grants.rs), so the answer tells nothing.
    let (status, body) = s.get_json("/api/v1/persons/999999999/timeline").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_api_error(&body, "forbidden");
}

/// Condition ids of a searchset, checking each entry's shape.
fn searchset_ids(s: &Server, bundle: &Value, person: &str) -> Vec<i64> {
    assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("searchset")), "{bundle}");
    entries(bundle)
        .iter()
        .map(|e| {
            let r = &e["resource"];
            assert_eq!(r["resourceType"], "Condition");
            assert_eq!(r["subject"]["reference"], format!("Patient/{person}"));
            assert_eq!(e["fullUrl"], format!("{}/Condition/{}", s.fhir_base(), r["id"].as_str().unwrap()));
            assert_eq!(e["search"]["mode"], "match");
            r["id"].as_str().unwrap().parse().unwrap()
        })
        .collect()
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"].as_array()?.iter().find(|l| l["relation"] == "next").map(|l| l["url"].as_str().unwrap().to_string())
}

/// FHIR search by patient, paged, by code and by date; Patient by identifier; `$everything`.
async fn fhir_search_and_everything(store: Arc<ProtectedStore>) {
    let s = Server::start(store).await;
    import_synthea(&s).await;
    let (person, all) = busiest_person(&s).await;
    let conditions: Vec<&Value> = all.iter().filter(|e| e["resource_type"] == "Condition").collect();
    let condition_ids: Vec<i64> = conditions.iter().map(|e| id_of(e)).collect();
    assert!(conditions.len() > 20, "{}", conditions.len());

    // Pages of 10 with working next links.
    s.grant_everyone().await;
    let (status, mut page) = s.get_json(&format!("/fhir/Condition?patient={person}&_count=10")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["link"].as_array().unwrap().iter().any(|l| l["relation"] == "self"), "{}", page["link"]);
    let mut paged = Vec::new();
    loop {
        let found = searchset_ids(&s, &page, &person);
        assert!(found.len() <= 10);
        paged.extend(found);
        let Some(next) = next_link(&page) else { break };
        assert!(next.starts_with(&format!("{}/Condition?", s.fhir_base())), "{next}");
        let (status, body) = s.get_json(&next).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        page = body;
    }
    assert_eq!(paged, condition_ids, "pages of 10 give every Condition, newest first");
    let (_, one) = s.get_json(&format!("/fhir/Condition?patient=Patient/{person}&_count=1000")).await;
    assert_eq!(searchset_ids(&s, &one, &person), condition_ids);
    assert!(next_link(&one).is_none());

    // By code: the most frequent code that is not every Condition's.
    let codings = |r: &Value| -> Vec<(String, String)> {
        ["code", "category"]
            .iter()
            .flat_map(|k| {
                let v = &r[*k];
                let concepts: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                concepts
                    .into_iter()
                    .flat_map(|c| c["coding"].as_array().cloned().unwrap_or_default())
                    .map(|c| (c["system"].as_str().unwrap_or("").to_string(), c["code"].as_str().unwrap_or("").to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut frequency: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in &conditions {
        for token in codings(&c["resource"]).into_iter().collect::<BTreeSet<_>>() {
            *frequency.entry(token).or_default() += 1;
        }
    }
    let ((system, code), _) = frequency
        .iter()
        .filter(|(t, n)| **n < conditions.len() && t.0.starts_with("http://snomed.info/sct"))
        .max_by_key(|(_, n)| **n)
        .unwrap();
    let expected: Vec<i64> = conditions
        .iter()
        .filter(|c| codings(&c["resource"]).contains(&(system.clone(), code.clone())))
        .map(|c| id_of(c))
        .collect();
    let (status, found) = read(
        s.get("/fhir/Condition")
            .query(&[("patient", person.as_str()), ("code", &format!("{system}|{code}")), ("_count", "1000")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(searchset_ids(&s, &found, &person), expected, "code={system}|{code}");
    assert!(expected.len() >= 2 && expected.len() < conditions.len());

    // By date: ge a day in the middle, and lt the same day, split the Conditions.
    let middle = conditions[conditions.len() / 2]["clinical_time"].as_str().unwrap();
    let day = &middle[..10];
    let bound = instant(&format!("{day}T00:00:00+08:00"));
    let later: Vec<i64> = conditions.iter().filter(|c| time_of(c) >= bound).map(|c| id_of(c)).collect();
    let earlier: Vec<i64> = conditions.iter().filter(|c| time_of(c) < bound).map(|c| id_of(c)).collect();
    assert!(!later.is_empty() && !earlier.is_empty());
    let (status, found) = s.get_json(&format!("/fhir/Condition?patient={person}&date=ge{day}&_count=1000")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(searchset_ids(&s, &found, &person), later, "date=ge{day}");
    let (_, found) = s.get_json(&format!("/fhir/Condition?patient={person}&date=lt{day}&_count=1000")).await;
    assert_eq!(searchset_ids(&s, &found, &person), earlier, "date=lt{day}");

    // Record searches name the person.
    for path in ["/fhir/Condition", "/fhir/Condition?code=http://snomed.info/sct|44054006", "/fhir/Observation?_count=5"] {
        let (status, body) = s.get_json(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_outcome(&body, "required");
        assert!(body["issue"][0]["diagnostics"].as_str().unwrap().contains("patient"), "{body}");
    }
    let (status, body) = s.get_json(&format!("/fhir/Condition?patient={person}&name=x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_outcome(&body, "not-supported");
    let (status, body) = s.get_json("/fhir/Condition?patient=999999999").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no grant: refused whether or not the person exists: {body}");
    assert_outcome(&body, "security");

    // The Patient by one of the identifiers Synthea gave it.
    let (status, patient) = s.get_json(&format!("/fhir/Patient/{person}")).await;
    assert_eq!(status, StatusCode::OK, "{patient}");
    let synthea_id = patient["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["system"] == "https://github.com/synthetichealth/synthea")
        .expect("the Synthea identifier is kept")
        .clone();
    let token = format!("{}|{}", synthea_id["system"].as_str().unwrap(), synthea_id["value"].as_str().unwrap());
    let (status, found) = read(s.get("/fhir/Patient").query(&[("identifier", token.as_str())]).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let hits: Vec<Value> = entries(&found).iter().map(|e| e["resource"]["id"].clone()).collect();
    assert_eq!(hits, [Value::String(person.clone())], "{token}");

    // $everything: the Patient, every entry (newest first), and the directory data they name.
    let (status, everything) = s.get_json(&format!("/fhir/Patient/{person}/$everything")).await;
    assert_eq!(status, StatusCode::OK, "{everything}");
    assert_eq!((everything["resourceType"].as_str(), everything["type"].as_str()), (Some("Bundle"), Some("searchset")));
    let list = entries(&everything);
    assert_eq!(everything["total"].as_u64(), Some(list.len() as u64));
    assert_eq!(list[0]["resource"]["resourceType"], "Patient");
    assert_eq!(list[0]["resource"]["id"], person.as_str());
    assert_eq!(list[0]["resource"], patient);
    let matched: Vec<&Value> = list[1..].iter().filter(|e| e["search"]["mode"] == "match").collect();
    let included: Vec<&Value> = list[1..].iter().filter(|e| e["search"]["mode"] == "include").collect();
    assert_eq!(matched.len() + included.len() + 1, list.len());
    let resource_ids = |l: Vec<&Value>| l.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(
        resource_ids(matched.iter().map(|e| &e["resource"]).collect()),
        resource_ids(all.iter().map(|e| &e["resource"]).collect()),
        "every entry, newest first"
    );
    assert!(matched.iter().zip(&all).all(|(m, e)| m["resource"] == e["resource"]), "the stored resources");
    let mut named = BTreeSet::new();
    for e in &all {
        let mut refs = Vec::new();
        references(&e["resource"], &mut refs);
        for r in refs {
            if let Some((rt, id)) = r.split_once('/')
                && DIRECTORY_TYPES.contains(&rt)
            {
                named.insert((rt.to_string(), id.to_string()));
            }
        }
    }
    let mut got = BTreeSet::new();
    for e in &included {
        let r = &e["resource"];
        let (rt, id) = (r["resourceType"].as_str().unwrap().to_string(), r["id"].as_str().unwrap().to_string());
        assert_eq!(e["fullUrl"], format!("{}/{rt}/{id}", s.fhir_base()));
        got.insert((rt, id));
    }
    assert_eq!(got.len(), included.len(), "each directory resource once");
    assert_eq!(got, named, "exactly the directory resources the entries reference");
    let types: BTreeSet<&str> = got.iter().map(|(rt, _)| rt.as_str()).collect();
    for rt in ["Organization", "Location", "Practitioner"] {
        assert!(types.contains(rt), "{rt} in {types:?}");
    }
    // And each can be read on its own.
    let (rt, id) = got.iter().find(|(rt, _)| rt == "Organization").unwrap();
    let (status, org) = s.get_json(&format!("/fhir/{rt}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(
        &org,
        &included.iter().find(|e| e["resource"]["id"] == id.as_str() && e["resource"]["resourceType"] == "Organization").unwrap()
            ["resource"]
    );

    let (status, body) = s.get_json("/fhir/Patient/999999999/$everything").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no grant: refused whether or not the person exists: {body}");
    assert_outcome(&body, "security");
}

tongdang_testkit::backend_tests!(timeline_pages_newest_first_with_filters, fhir_search_and_everything);
