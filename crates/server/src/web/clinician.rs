//! The clinician's portal (医生端), dense and keyboard-first: find a patient by health code
//! (typed, or the content of a scanned QR code), ID number, or name and birth date; ask for
//! authorization (an SMS code the patient reads out, or approval in the app); read the record
//! of every institution in time order with its sources, by category, under a summary of recent
//! diagnoses, allergies, vaccinations and abnormal results; or declare an emergency.

use super::describe::{EntryView, describe};
use super::{Page, denied, error_page, render, short_time};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use tongdang_access::DemographicQuery;
use tongdang_access::{AccessError, TimelineFilter};
use tongdang_core::{Category, PersonId, Role};

pub(crate) fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new().route("/clinic", get(search_page).post(search)).route("/clinic/patients/{id}", get(record))
}

fn clinician(page: &Page) -> Result<(), Box<Response>> {
    if page.caller.role != Role::Clinician {
        return Err(Box::new(error_page(page, StatusCode::FORBIDDEN, "这里是医生端，请使用您的门户。")));
    }
    Ok(())
}

/// A patient as a search result or record header shows them (masked for the clinician's role).
#[derive(Serialize, Default)]
struct PatientLine {
    id: String,
    name: String,
    gender: String,
    birth_date: String,
    identifiers: Vec<String>,
}

fn patient_line(person: PersonId, p: &Value) -> PatientLine {
    let name = p
        .get("name")
        .and_then(Value::as_array)
        .and_then(|n| n.first())
        .map(|n| {
            n.get("text").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| {
                let family = n.get("family").and_then(Value::as_str).unwrap_or("");
                let given: Vec<&str> =
                    n.get("given").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
                format!("{family}{}", given.join(""))
            })
        })
        .unwrap_or_default();
    let gender = match p.get("gender").and_then(Value::as_str) {
        Some("male") => "男",
        Some("female") => "女",
        Some(_) => "其他",
        None => "",
    };
    let identifiers = p
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            let v = i.get("value").and_then(Value::as_str)?;
            let label = match i.get("system").and_then(Value::as_str) {
                Some(tongdang_identity::systems::NATIONAL_ID) => "身份证",
                Some(tongdang_identity::systems::HEALTH_CODE) => "健康码",
                _ => return None,
            };
            Some(format!("{label} {v}"))
        })
        .collect();
    PatientLine {
        id: person.0.to_string(),
        name,
        gender: gender.into(),
        birth_date: p.get("birthDate").and_then(Value::as_str).unwrap_or("").into(),
        identifiers,
    }
}

/// A search, posted (an ID number or a name never goes into a URL, a browser's history or a
/// proxy's log), with the session's CSRF token as a form field.
#[derive(Deserialize, Default)]
pub(crate) struct SearchQuery {
    q: Option<String>,
    name: Option<String>,
    birthdate: Option<String>,
    csrf: Option<String>,
}

async fn search_page(State(state): State<Arc<AppState>>, page: Page) -> Response {
    search_with(&state, page, SearchQuery::default()).await
}

async fn search(State(state): State<Arc<AppState>>, page: Page, axum::Form(q): axum::Form<SearchQuery>) -> Response {
    let sent = q.csrf.as_deref().unwrap_or("");
    if !tongdang_access::signin::constant_time_eq(sent.as_bytes(), page.csrf.as_bytes()) {
        return error_page(&page, StatusCode::FORBIDDEN, "页面已过期，请刷新后重新查找。");
    }
    search_with(&state, page, q).await
}

/// What the search box holds: a health code (64 hex, possibly inside scanned QR text), an ID
/// number, or nothing usable.
fn identifier_of(q: &str) -> Option<(&'static str, String)> {
    // Full-width digits and letters (a Chinese input method's) read as their ASCII forms.
    let q: String = q
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            c => c,
        })
        .collect();
    let hex: Vec<char> = q.chars().collect();
    for start in 0..hex.len().saturating_sub(63) {
        let window: String = hex[start..start + 64].iter().collect();
        let bounded =
            (start == 0 || !hex[start - 1].is_ascii_hexdigit()) && hex.get(start + 64).is_none_or(|c| !c.is_ascii_hexdigit());
        if bounded && window.chars().all(|c| c.is_ascii_hexdigit()) {
            return Some((tongdang_identity::systems::HEALTH_CODE, window.to_ascii_lowercase()));
        }
    }
    let compact: Vec<char> = q.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() == 18
        && compact[..17].iter().all(char::is_ascii_digit)
        && (compact[17].is_ascii_digit() || compact[17] == 'x' || compact[17] == 'X')
    {
        return Some((tongdang_identity::systems::NATIONAL_ID, compact.iter().collect::<String>().to_ascii_uppercase()));
    }
    None
}

async fn search_with(state: &AppState, page: Page, q: SearchQuery) -> Response {
    if let Err(r) = clinician(&page) {
        return *r;
    }
    let who = page.caller.requester();
    let text = q.q.clone().unwrap_or_default();
    let name = q.name.clone().unwrap_or_default();
    let birthdate = q.birthdate.clone().unwrap_or_default();
    let mut message = None;
    let mut results = Vec::new();
    let searched = !text.trim().is_empty() || !name.trim().is_empty();
    if !text.trim().is_empty() {
        match identifier_of(&text) {
            Some((system, value)) => match state.reader.find_persons(&who, Some(system), &value).await {
                Ok(found) => results = found.iter().map(|(p, v)| patient_line(*p, v)).collect(),
                Err(e) => {
                    message = {
                        tracing::warn!(error = %e, "patient search failed");
                        Some("查询未完成，请稍后再试。".to_string())
                    }
                }
            },
            None => message = Some("请输入健康码（64位）或18位身份证号，或按姓名和出生日期查找。".to_string()),
        }
    } else if !name.trim().is_empty() {
        let query = DemographicQuery {
            name: Some(name.trim().to_string()),
            birthdate: Some(birthdate.trim().to_string()).filter(|b| !b.is_empty()),
            ..Default::default()
        };
        match state.reader.search_demographics(&who, &query, 20).await {
            Ok(Ok(found)) => results = found.iter().map(|(p, v)| patient_line(*p, v)).collect(),
            Ok(Err(_)) => message = Some("按姓名查找时请同时填写出生日期。".to_string()),
            Err(e) => {
                message = {
                    tracing::warn!(error = %e, "patient search failed");
                    Some("查询未完成，请稍后再试。".to_string())
                }
            }
        }
    }
    render(
        "clinic/search.html",
        context! {
            q => text, name => name, birthdate => birthdate, searched => searched, message => message,
            results => Serde(&results), ..page.frame("查找患者", "/clinic")
        },
    )
}

#[derive(Deserialize, Default)]
pub(crate) struct RecordQuery {
    category: Option<String>,
    request: Option<String>,
    wait: Option<String>,
}

/// A row of the record table.
#[derive(Serialize)]
struct Row {
    entry: EntryView,
    category: &'static str,
    when: String,
    source: String,
    collected: String,
}

/// The compact summary above the record.
#[derive(Serialize, Default)]
struct Summary {
    diagnoses: Vec<Row>,
    allergies: Vec<Row>,
    vaccinations: Vec<Row>,
    abnormal: Vec<Row>,
}

/// How many of each the summary lists.
const SUMMARY_ITEMS: usize = 5;
/// The most entries the record view shows at once (then by category or period).
const RECORD_LIMIT: u32 = 1000;

async fn record(
    State(state): State<Arc<AppState>>,
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<RecordQuery>,
) -> Response {
    if let Err(r) = clinician(&page) {
        return *r;
    }
    let Ok(person) = id.parse::<i64>().map(PersonId) else {
        return error_page(&page, StatusCode::NOT_FOUND, "没有这位患者。");
    };
    let who = page.caller.requester();
    let patient = match state.reader.patient(&who, person).await {
        Ok(p) => patient_line(person, &p),
        Err(AccessError::NotFound(_)) => return error_page(&page, StatusCode::NOT_FOUND, "没有这位患者。"),
        Err(e) => return denied(&page, &e),
    };
    let category = q.category.clone().filter(|c| !c.is_empty());
    let mut filter = TimelineFilter { limit: RECORD_LIMIT, ..Default::default() };
    if let Some(c) = &category {
        match c.parse::<Category>() {
            Ok(c) => filter.categories.push(c),
            Err(_) => return error_page(&page, StatusCode::BAD_REQUEST, "没有这个类别。"),
        }
    }
    let entries = match state.reader.timeline(&who, person, &filter).await {
        Ok(p) => p.entries,
        Err(AccessError::Denied(_)) => {
            // No grant in force: the ways to get one. A request named in the URL is shown only
            // if it is this clinician's, for this patient, still waiting.
            let request = match q.request.as_deref().and_then(|r| r.parse::<i64>().ok()) {
                Some(id) => match state.store.grant(id).await {
                    Ok(Some(g)) if g.person == person && g.requested_by == page.caller.actor && g.status == "requested" => {
                        id.to_string()
                    }
                    _ => String::new(),
                },
                None => String::new(),
            };
            return render(
                "clinic/authorize.html",
                context! {
                    patient => Serde(&patient), request => request, wait => q.wait.is_some(),
                    ..page.frame("需要患者授权", "/clinic")
                },
            );
        }
        Err(e) => return denied(&page, &e),
    };
    let mut rows = Vec::with_capacity(entries.len());
    let mut names: std::collections::HashMap<String, String> = Default::default();
    for e in &entries {
        let source = match names.get(&e.institution) {
            Some(n) => n.clone(),
            None => {
                let n = state.reader.institution_name(&e.institution).await;
                let n = if n.is_empty() { e.institution.clone() } else { n };
                names.insert(e.institution.clone(), n.clone());
                n
            }
        };
        rows.push(Row {
            entry: describe(&e.resource_type, &e.id.to_string(), e.category, &e.resource),
            category: e.category.label_zh(),
            when: e.clinical_time.as_deref().map(short_time).unwrap_or_else(|| "—".into()),
            source,
            collected: short_time(&e.collected_at.to_rfc3339_cst()),
        });
    }
    let mut summary = Summary::default();
    if category.is_none() {
        for (e, r) in entries.iter().zip(&rows) {
            let list = match e.resource_type.as_str() {
                "Condition" => &mut summary.diagnoses,
                "AllergyIntolerance" => &mut summary.allergies,
                "Immunization" => &mut summary.vaccinations,
                "Observation" if r.entry.flag.is_some() => &mut summary.abnormal,
                _ => continue,
            };
            if list.len() < SUMMARY_ITEMS {
                list.push(Row {
                    entry: r.entry.clone(),
                    category: r.category,
                    when: r.when.clone(),
                    source: r.source.clone(),
                    collected: r.collected.clone(),
                });
            }
        }
    }
    let tabs: Vec<(&str, &str)> = Category::ALL.iter().map(|c| (c.code(), c.label_zh())).collect();
    render(
        "clinic/record.html",
        context! {
            patient => Serde(&patient), rows => Serde(&rows), summary => Serde(&summary), tabs => tabs,
            category => category.unwrap_or_default(), full => rows.len() as u32 == RECORD_LIMIT,
            ..page.frame("患者档案", "/clinic")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::identifier_of;

    #[test]
    fn the_search_box_reads_health_codes_qr_text_and_id_numbers() {
        let code = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(identifier_of(code).unwrap().1, code);
        let qr = format!("https://ehc.example/qr?ehc={}&t=1", code.to_uppercase());
        assert_eq!(identifier_of(&qr).unwrap().1, code, "the code inside scanned QR text");
        assert_eq!(identifier_of(" 11010519491231002x ").unwrap().1, "11010519491231002X");
        assert!(identifier_of("张三").is_none());
        assert!(identifier_of(&format!("{code}0")).is_none(), "65 hex digits are not a health code");
        assert_eq!(identifier_of("１１０１０５１９４９１２３１００２Ｘ").unwrap().1, "11010519491231002X", "full-width input");
        // A full-width digit inside is read as ASCII: seventeen characters are not an ID number,
        // eighteen are.
        assert!(identifier_of("440106199003071２3").is_none());
        assert_eq!(identifier_of("4401061990030712３1").unwrap().1, "440106199003071231");
        assert!(identifier_of("44010619900307123张").is_none());
    }
}
