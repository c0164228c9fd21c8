//! Bulk submission: `POST /api/v1/ingest`, NDJSON streamed line by line.

use crate::common::*;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tongdang_store::{ProtectedStore, Store};

/// `(read, stored, unchanged, refused)` of an ingest answer, after checking its shape.
fn figures(answer: &Value) -> (u64, u64, u64, u64) {
    let mut keys: Vec<&String> = answer.as_object().unwrap_or_else(|| panic!("{answer}")).keys().collect();
    keys.sort();
    assert_eq!(keys, ["read", "refusals", "refused", "stored", "submission", "unchanged"], "{answer}");
    assert!(answer["submission"].as_i64().is_some(), "{answer}");
    let n = |k: &str| answer[k].as_u64().unwrap_or_else(|| panic!("{k}: {answer}"));
    (n("read"), n("stored"), n("unchanged"), n("refused"))
}

/// The refusals as `(line, outcome)`, after checking their shape.
fn refusals(answer: &Value) -> Vec<(u64, Value)> {
    answer["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut keys: Vec<&String> = r.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["line", "outcome"], "{r}");
            assert_eq!(r["outcome"]["resourceType"], "OperationOutcome", "{r}");
            (r["line"].as_u64().unwrap(), r["outcome"].clone())
        })
        .collect()
}

/// The whole Synthea sample, sent streamed in a bad order, goes in whole: only the four lines of
/// the export log are refused, each with its line number. Sent again, nothing is stored twice.
async fn synthea_streams_in_whole_and_once(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let (body, log_lines) = synthea_body();
    assert_eq!(log_lines.len(), 4);

    let (status, answer) = s.ingest(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(figures(&answer), (7164, 7160, 0, 4));
    let refused = refusals(&answer);
    assert_eq!(refused.iter().map(|(line, _)| *line).collect::<Vec<_>>(), log_lines);
    for (line, outcome) in &refused {
        assert_outcome(outcome, "structure");
        assert!(outcome["issue"][0]["diagnostics"].as_str().unwrap().contains("resourceType"), "line {line}: {outcome}");
    }
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.institutions, counts.persons, counts.entries), (1, 13, 6974));
    let first_submission = answer["submission"].as_i64().unwrap();

    let (status, again) = s.ingest(&body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(figures(&again), (7164, 0, 7160, 4));
    assert_eq!(refusals(&again).iter().map(|(line, _)| *line).collect::<Vec<_>>(), log_lines);
    assert_ne!(again["submission"].as_i64().unwrap(), first_submission, "each request is its own submission");
    assert_eq!(store.counts().await.unwrap(), counts);
}

/// A line over the line limit, a line that is not UTF-8, and an entry naming a refused Patient
/// are refused with their line numbers; the lines around them are stored.
async fn bad_lines_are_refused_and_the_rest_stored(store: Arc<ProtectedStore>) {
    let s = Server::start_with(store.clone(), |state| state.limits.ndjson_line_bytes = 1000).await;
    let mut long = chinese_patient("p-long");
    // Several megabytes: longer than the server's read buffer and many request chunks.
    long["text"] = json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", "x".repeat(3 << 20))});
    let mut body = Vec::new();
    body.extend_from_slice(format!("{}\n", chinese_patient("p1")).as_bytes()); // 1
    body.extend_from_slice(format!("{long}\n").as_bytes()); // 2: too long
    body.extend_from_slice(format!("{}\n", encounter("e1", "Patient/p1")).as_bytes()); // 3
    body.extend_from_slice(b"   \n"); // 4: blank, skipped
    // 5: 张伟 in GBK, as a legacy system might send it.
    body.extend_from_slice(b"{\"resourceType\":\"Patient\",\"id\":\"p9\",\"name\":[{\"text\":\"\xd5\xc5\xce\xb0\"}]}\n");
    body.extend_from_slice(format!("{}", encounter("e2", "Patient/p9")).as_bytes()); // 6: no final newline

    let (status, answer) = s.ingest(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(figures(&answer), (5, 2, 0, 3));
    let refused = refusals(&answer);
    assert_eq!(refused.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [2, 5, 6]);
    assert_outcome(&refused[0].1, "too-long");
    // It names the line's length (with its newline) and the server's limit, not another one.
    let why = refused[0].1["issue"][0]["diagnostics"].as_str().unwrap();
    assert_eq!(why, format!("line of {} bytes is longer than the limit of 1000 bytes", long.to_string().len() + 1));
    assert_outcome(&refused[1].1, "structure");
    assert!(refused[1].1["issue"][0]["diagnostics"].as_str().unwrap().contains("UTF-8"), "{}", refused[1].1);
    assert_outcome(&refused[2].1, "not-found");
    assert_eq!(expressions(&refused[2].1), ["Encounter.subject.reference"]);

    // p1 and its Encounter are stored, nothing else.
    let persons = s.person_ids().await;
    assert_eq!(persons.len(), 1);
    s.grant_everyone().await;
    let (status, timeline) = s.get_json(&format!("/api/v1/persons/{}/timeline", persons[0])).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let list = timeline["entries"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{timeline}");
    assert_eq!(list[0]["resource"]["resourceType"], "Encounter");
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.entries), (1, 1));
}

/// Only NDJSON is taken.
async fn ingest_takes_only_ndjson(store: Arc<ProtectedStore>) {
    let s = Server::start(store.clone()).await;
    let line = format!("{}\n", chinese_patient("p1"));
    for content_type in [Some("text/plain"), Some("application/fhir+json"), Some("application/json"), None] {
        let mut r = s.request(Method::POST, "/api/v1/ingest", Some(&s.key)).body(line.clone());
        if let Some(ct) = content_type {
            r = r.header(CONTENT_TYPE, ct);
        }
        let (status, body) = read(r.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}: {body}");
        assert_api_error(&body, "unsupported_media_type");
    }
    assert_eq!(store.counts().await.unwrap().persons, 0);
    // The other NDJSON spellings, with parameters, are taken.
    for content_type in ["application/ndjson", "application/x-ndjson; charset=utf-8", "Application/FHIR+NDJSON"] {
        let r = s.request(Method::POST, "/api/v1/ingest", Some(&s.key)).header(CONTENT_TYPE, content_type).body(line.clone());
        let (status, body) = read(r.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{content_type}: {body}");
    }
    assert_eq!(store.counts().await.unwrap().persons, 1);
}

/// A body over the limit is answered 413 with the error JSON; the lines before the limit were
/// processed, as the message says, and none after.
async fn ingest_bodies_over_the_limit_are_refused(store: Arc<ProtectedStore>) {
    let s = Server::start_with(store.clone(), |state| state.limits.ndjson_body_bytes = 2000).await;
    let mut lines = vec![format!("{}\n", chinese_patient("p1"))];
    lines.extend((1..=9).map(|n| format!("{}\n", encounter(&format!("e{n}"), "Patient/p1"))));
    let mut total = 0;
    let taken = lines
        .iter()
        .take_while(|l| {
            total += l.len();
            total <= 2000
        })
        .count();
    assert!((2..lines.len()).contains(&taken), "the limit falls inside the body");

    let (status, body) = s.ingest(lines.concat().as_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_api_error(&body, "body_too_large");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("2000 bytes"), "{message}");
    assert!(message.contains(&format!("lines 1 to {taken} were processed")), "{message}");
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.entries), (1, taken as i64 - 1));
}

tongdang_testkit::backend_tests!(
    synthea_streams_in_whole_and_once,
    bad_lines_are_refused_and_the_rest_stored,
    ingest_takes_only_ndjson,
    ingest_bodies_over_the_limit_are_refused,
);
