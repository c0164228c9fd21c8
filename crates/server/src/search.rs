//! FHIR search parameters for record entries, turned into an entry query.

use crate::error::FhirError;
use axum::http::StatusCode;
use tongdang_core::{Category, PersonId, Timestamp};
use tongdang_fhir::IssueCode;
use tongdang_store::{EntryQuery, code_pattern};

/// Largest `_count`.
pub const MAX_COUNT: u32 = 1000;
/// `_count` when none is given.
pub const DEFAULT_COUNT: u32 = 50;

/// A parsed search.
#[derive(Debug, Default)]
pub struct EntrySearch {
    /// Whose record.
    pub person: Option<PersonId>,
    /// The store query.
    pub query: EntryQuery,
    /// The paging cursor.
    pub cursor: Option<String>,
}

fn bad(message: String) -> FhirError {
    FhirError::new(StatusCode::BAD_REQUEST, IssueCode::Value, message)
}

/// Apply a `date`-type parameter with its prefix to a `[from, to)` window.
pub(crate) fn narrow(name: &str, value: &str, from: &mut Option<Timestamp>, to: &mut Option<Timestamp>) -> Result<(), FhirError> {
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("eq" | "ne" | "lt" | "le" | "gt" | "ge" | "sa" | "eb" | "ap")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let (start, end) = Timestamp::parse_fhir_range(rest).ok_or_else(|| bad(format!("{name}: not a FHIR date or dateTime")))?;
    let (lo, hi) = match prefix {
        "eq" => (Some(start), Some(end)),
        "ge" => (Some(start), None),
        "gt" | "sa" => (Some(end), None),
        "lt" | "eb" => (None, Some(start)),
        "le" => (None, Some(end)),
        other => {
            return Err(FhirError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::NotSupported,
                format!("{name}: the prefix '{other}' is not supported"),
            ));
        }
    };
    if let Some(lo) = lo {
        *from = Some(from.map_or(lo, |f| f.max(lo)));
    }
    if let Some(hi) = hi {
        *to = Some(to.map_or(hi, |t| t.min(hi)));
    }
    Ok(())
}

fn person_param(value: &str) -> Result<PersonId, FhirError> {
    let id = value.strip_prefix("Patient/").unwrap_or(value);
    id.parse().map_err(|_| bad("patient: not a platform Patient id".to_string()))
}

/// `category=urn:tongdang:category|lab` names a record category; other tokens are FHIR codings.
const CATEGORY_SYSTEM_BAR: &str = "urn:tongdang:category|";

/// One parameter occurrence's comma-separated tokens as alternative `LIKE` patterns.
fn token_patterns(name: &str, value: &str) -> Result<Vec<String>, FhirError> {
    value
        .split(',')
        .map(|token| {
            let (system, code) = match token.split_once('|') {
                Some((sys, code)) => (Some(sys).filter(|s| !s.is_empty()), Some(code).filter(|c| !c.is_empty())),
                None => (None, Some(token).filter(|c| !c.is_empty())),
            };
            if system.is_none() && code.is_none() {
                return Err(bad(format!("{name}: empty token")));
            }
            Ok(code_pattern(system, code))
        })
        .collect()
}

/// Parse the query of `GET /fhir/{type}` for an entry type.
pub fn entry_search(resource_type: &str, params: &[(String, String)]) -> Result<EntrySearch, FhirError> {
    let mut s = EntrySearch::default();
    s.query.resource_type = Some(resource_type.to_string());
    s.query.limit = DEFAULT_COUNT;
    for (name, value) in params {
        match name.as_str() {
            "patient" | "subject" | "patient:Patient" | "subject:Patient" => s.person = Some(person_param(value)?),
            "date" => narrow("date", value, &mut s.query.from, &mut s.query.to)?,
            "_lastUpdated" => narrow("_lastUpdated", value, &mut s.query.updated_from, &mut s.query.updated_to)?,
            // Each occurrence of a parameter must match (AND); its comma-separated values are
            // alternatives (OR).
            "code" | "vaccine-code" => s.query.code_patterns.push(token_patterns(name, value)?),
            "category" => {
                let (platform, fhir): (Vec<&str>, Vec<&str>) = value.split(',').partition(|t| t.starts_with(CATEGORY_SYSTEM_BAR));
                if !platform.is_empty() && !fhir.is_empty() {
                    return Err(bad("category: give record categories and FHIR category codings in separate parameters".into()));
                }
                if fhir.is_empty() {
                    let mut wanted = Vec::new();
                    for t in platform {
                        wanted
                            .push(t[CATEGORY_SYSTEM_BAR.len()..].parse::<Category>().map_err(|e| bad(format!("category: {e}")))?);
                    }
                    // Repeated parameters intersect; disjoint ones leave nothing to match.
                    s.query.categories = Some(match s.query.categories.take() {
                        None => wanted,
                        Some(earlier) => earlier.into_iter().filter(|c| wanted.contains(c)).collect(),
                    });
                } else {
                    s.query.category_patterns.push(token_patterns(name, value)?);
                }
            }
            "_count" => {
                let n: u32 = value.parse().map_err(|_| bad("_count: not a number".to_string()))?;
                s.query.limit = n.clamp(1, MAX_COUNT);
            }
            "_cursor" => s.cursor = Some(value.clone()),
            "_format" | "_pretty" | "_summary" | "_total" => {}
            other => {
                return Err(FhirError::new(
                    StatusCode::BAD_REQUEST,
                    IssueCode::NotSupported,
                    format!("search parameter '{other}' is not supported for {resource_type}; see /fhir/metadata"),
                ));
            }
        }
    }
    if s.person.is_none() {
        return Err(FhirError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::Required,
            "searches of record entries need the patient (or subject) parameter: every read is of one person's record",
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn dates_narrow_to_a_window() {
        let s = entry_search("Observation", &p(&[("patient", "Patient/7"), ("date", "ge2020"), ("date", "lt2021-07")])).unwrap();
        assert_eq!(s.person, Some(PersonId(7)));
        assert_eq!(s.query.from.unwrap().to_rfc3339_cst(), "2020-01-01T00:00:00+08:00");
        assert_eq!(s.query.to.unwrap().to_rfc3339_cst(), "2021-07-01T00:00:00+08:00");
    }

    #[test]
    fn bad_searches_are_named() {
        assert!(entry_search("Observation", &p(&[("code", "x")])).unwrap_err().issues[0].message.contains("patient"));
        assert!(entry_search("Observation", &p(&[("patient", "1"), ("date", "ne2020")])).is_err());
        assert!(entry_search("Observation", &p(&[("patient", "1"), ("date", "yesterday")])).is_err());
        assert!(entry_search("Observation", &p(&[("patient", "1"), ("name", "x")])).is_err());
        assert!(entry_search("Observation", &p(&[("patient", "abc")])).is_err());
    }

    #[test]
    fn codes_and_categories_become_filters() {
        let s = entry_search(
            "Observation",
            &p(&[
                ("patient", "1"),
                ("code", "http://loinc.org|718-7,8480-6"),
                ("code", "x"),
                ("category", "urn:tongdang:category|lab"),
            ]),
        )
        .unwrap();
        assert_eq!(s.query.code_patterns.len(), 2, "one group per occurrence");
        assert_eq!(s.query.code_patterns[0].len(), 2, "alternatives within one");
        assert_eq!(s.query.categories, Some(vec![Category::Lab]));
        let fhir = entry_search("Observation", &p(&[("patient", "1"), ("category", "procedure")])).unwrap();
        assert_eq!(fhir.query.categories, None, "a bare token is a FHIR category coding");
        assert_eq!(fhir.query.category_patterns.len(), 1);
        assert!(
            entry_search("Observation", &p(&[("patient", "1"), ("category", "urn:tongdang:category|lab,laboratory")])).is_err()
        );
    }
}
