//! Preparation: everything about an item that depends on the item alone. Pure and parallel.

use std::sync::Arc;
use tongdang_core::{Category, InstitutionCode, Timestamp};
use tongdang_fhir::{
    Issue, IssueCode, ParsedResource, Reference, ReferenceSite, ResourceKind, Template, classify, parse_resource,
};
use tongdang_govern::{Context, Finding, Probe, RuleSet, Severity as RuleSeverity};
use tongdang_identity::demographics::Demographics;
use tongdang_identity::matching::{BlockKey, index_keys, query_keys};
use tongdang_identity::{IdentifierFacts, StrongIdentifier, systems};

/// Where an item came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Line of an NDJSON stream or file (1-based).
    Line(u64),
    /// Entry of a Bundle (0-based, as in `Bundle.entry[n]`).
    Entry(usize),
    /// A single resource (PUT or POST).
    Single,
}

/// What preparing needs besides the item: who submits it, the rule set in force, and when it
/// was received (the timeliness and not-in-the-future rules measure from it).
#[derive(Debug, Clone)]
pub struct Preparation {
    /// The submitting institution.
    pub institution: InstitutionCode,
    /// The quality rules in force.
    pub rules: Arc<RuleSet>,
    /// When the submission was received.
    pub received: Timestamp,
}

impl Preparation {
    /// For `institution`, under the built-in rules, received now.
    pub fn new(institution: InstitutionCode) -> Preparation {
        Preparation { institution, rules: Arc::new(RuleSet::builtin()), received: Timestamp::now() }
    }
}

/// An item's quality checks so far: the findings of the rules that need only the item, and the
/// probes of those that need its person (judged at commit).
#[derive(Debug, Clone)]
pub struct Checked {
    /// The rule set that checked it.
    pub rules: Arc<RuleSet>,
    /// Findings, errors and warnings.
    pub findings: Vec<Finding>,
    /// What the person-dependent rules will compare.
    pub probes: Vec<Probe>,
    /// The record category (entries).
    pub category: Option<Category>,
    /// When it was received.
    pub received: Timestamp,
}

impl Checked {
    /// Whether an error rule failed.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.severity == RuleSeverity::Error)
    }
}

/// A rule finding as an OperationOutcome issue: the rule id leads the message.
pub fn finding_issue(f: &Finding) -> Issue {
    let message = format!("[{}] {}", f.rule, f.message);
    match f.severity {
        RuleSeverity::Error => Issue::error(IssueCode::BusinessRule, f.path.clone(), message),
        RuleSeverity::Warning => Issue::warning(IssueCode::BusinessRule, f.path.clone(), message),
    }
}

/// A submitted resource before preparation.
#[derive(Debug)]
pub struct Item {
    /// Where it came from.
    pub position: Position,
    /// `Bundle.entry.fullUrl`, if any.
    pub full_url: Option<String>,
    /// The source id to use when the resource has none (a POST create).
    pub id_hint: Option<String>,
    /// The parsed resource, or why it could not be parsed.
    pub resource: Result<ParsedResource, Vec<Issue>>,
}

impl Item {
    /// Parse one line of NDJSON.
    pub fn from_line(line: u64, text: &str) -> Item {
        Item { position: Position::Line(line), full_url: None, id_hint: None, resource: parse_resource(text) }
    }
}

/// What a prepared resource is on the platform.
#[derive(Debug)]
pub enum Role {
    /// A Patient: the identifiers to index, the strong ones to link by, and its demographics
    /// for the patient index.
    Patient { identifiers: Vec<(String, String)>, strong: Vec<StrongIdentifier>, matching: Box<PatientMatch> },
    /// Directory data and its identifiers (for conditional references).
    Directory { identifiers: Vec<(String, String)> },
    /// A record entry.
    Entry {
        category: Category,
        clinical: Option<(String, Timestamp)>,
        codes: String,
        category_codes: String,
        withdrawn: bool,
        subject_path: String,
    },
}

/// A Patient in the form the patient index matches and stores it.
#[derive(Debug)]
pub struct PatientMatch {
    /// Normalized demographics.
    pub demographics: Demographics,
    /// Their stored form.
    pub serialized: String,
    /// Keys it is indexed under.
    pub index_keys: Vec<BlockKey>,
    /// Keys to look its candidates up by.
    pub query_keys: Vec<BlockKey>,
}

/// A valid item, ready to commit.
#[derive(Debug)]
pub struct Body {
    /// The stored form, with holes for what the commit decides.
    pub template: Template,
    /// The institution's id of it.
    pub source_id: String,
    /// Canonical digest of what was received.
    pub digest: [u8; 32],
    /// Its role.
    pub role: Role,
    /// Its references, understood.
    pub references: Vec<(ReferenceSite, Reference)>,
}

/// An item after preparation: a body to commit, or the problems that refuse it.
#[derive(Debug)]
pub struct Prepared {
    /// Where it came from.
    pub position: Position,
    /// `fullUrl` within a Bundle.
    pub full_url: Option<String>,
    /// Resource type ("" when unknown).
    pub resource_type: String,
    /// The body, or the refusal.
    pub body: Result<Body, Vec<Issue>>,
    /// Accepted-but-noted problems.
    pub warnings: Vec<Issue>,
    /// Size of the submitted text, for memory accounting of deferred items.
    pub size: usize,
    /// The institution's id of the resource, when it has one (also for refused items, whose
    /// returns name it).
    pub source_id: Option<String>,
    /// Quality checks, for items that parsed.
    pub checked: Option<Box<Checked>>,
}

/// Prepare one item.
pub fn prepare(item: Item, at: &Preparation, size: usize) -> Prepared {
    let Item { position, full_url, id_hint, resource } = item;
    let mut resource = match resource {
        Ok(r) => r,
        Err(issues) => {
            return Prepared {
                position,
                full_url,
                resource_type: String::new(),
                body: Err(issues),
                warnings: Vec::new(),
                size,
                source_id: None,
                checked: None,
            };
        }
    };
    let resource_type = resource.resource_type().to_string();
    let source_id = resource.id().map(str::to_string).or_else(|| id_hint.clone());
    let mut warnings = std::mem::take(&mut resource.warnings);
    let checked = check(&resource, at);
    let mut body = prepare_body(resource, id_hint, &at.institution, &mut warnings);
    if let Some(c) = &checked {
        let (errors, notes): (Vec<&Finding>, Vec<&Finding>) = c.findings.iter().partition(|f| f.severity == RuleSeverity::Error);
        warnings.extend(notes.into_iter().map(finding_issue));
        if !errors.is_empty() {
            let mut issues = match body {
                Ok(_) => Vec::new(),
                Err(issues) => issues,
            };
            issues.extend(errors.into_iter().map(finding_issue));
            body = Err(issues);
        }
    }
    Prepared { position, full_url, resource_type, body, warnings, size, source_id, checked }
}

/// Run the rules that need only the resource (Patients and entries: directory data has none).
fn check(resource: &ParsedResource, at: &Preparation) -> Option<Box<Checked>> {
    let category = match classify(resource.resource_type()) {
        ResourceKind::Entry(spec) => Some(resource.category(&spec)),
        ResourceKind::Patient => None,
        ResourceKind::Directory | ResourceKind::NotAccepted => return None,
    };
    let (findings, probes) = at.rules.check_alone(resource.node(), &Context::at(at.received));
    Some(Box::new(Checked { rules: at.rules.clone(), findings, probes, category, received: at.received }))
}

fn prepare_body(
    resource: ParsedResource,
    id_hint: Option<String>,
    institution: &InstitutionCode,
    warnings: &mut Vec<Issue>,
) -> Result<Body, Vec<Issue>> {
    let rt = resource.resource_type().to_string();
    let kind = classify(&rt);
    if kind == ResourceKind::NotAccepted {
        return Err(vec![Issue::error(
            IssueCode::NotSupported,
            "resourceType",
            format!("{rt} is valid FHIR but not part of a health record; see /fhir/metadata for the types Tongdang accepts"),
        )]);
    }
    let Some(source_id) = resource.id().map(str::to_string).or(id_hint) else {
        return Err(vec![Issue::error(
            IssueCode::Required,
            format!("{rt}.id"),
            "the institution's own id of the resource is required, so that resubmitting it updates instead of duplicating",
        )]);
    };
    // Everything that needs the tree, then the template (which consumes it) and its references.
    let digest = resource.digest();
    let role = match kind {
        ResourceKind::Patient => patient_role(&resource, institution, warnings).map_err(|e| vec![e])?,
        // NotAccepted was refused above.
        ResourceKind::Directory | ResourceKind::NotAccepted => Role::Directory { identifiers: identifiers(&resource, None) },
        ResourceKind::Entry(spec) => Role::Entry {
            category: resource.category(&spec),
            clinical: resource.time_at(spec.times),
            codes: resource.code_tokens(&spec),
            category_codes: resource.category_tokens(),
            withdrawn: resource.is_entered_in_error(),
            subject_path: format!("{rt}.{}", spec.subject),
        },
    };
    let template = resource.into_template(&systems::institution_source_uri(institution.as_str()));
    let mut errors = Vec::new();
    let references: Vec<(ReferenceSite, Reference)> = template
        .references()
        .iter()
        .map(|site| {
            let r = Reference::parse(&site.raw);
            if let Reference::Unsupported(why) = &r {
                errors.push(Issue::error(IssueCode::Value, format!("{}.reference", site.path), why.clone()));
            }
            (site.clone(), r)
        })
        .collect();
    if let Role::Entry { subject_path, .. } = &role
        && let Err(issue) = check_subject(subject_path, &references)
    {
        errors.push(issue);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Body { template, source_id, digest, role, references })
}

fn identifiers(resource: &ParsedResource, default_system: Option<&str>) -> Vec<(String, String)> {
    resource.identifiers().into_iter().map(|(s, v)| (s.or(default_system).unwrap_or("").to_string(), v.to_string())).collect()
}

/// A Patient's identifiers as indexed (an institution's own id given its system, identity
/// documents in their normalized spelling, sorted), and what was found checking them.
fn patient_identifiers(resource: &ParsedResource, institution: &InstitutionCode) -> (Vec<(String, String)>, IdentifierFacts) {
    let local = systems::local_patient_system(institution.as_str());
    let mut ids = identifiers(resource, Some(&local));
    let facts = IdentifierFacts::from_identifiers(ids.iter().map(|(s, v)| (s.as_str(), v.as_str())));
    for (index, value) in &facts.normalized {
        if let Some(slot) = ids.get_mut(*index) {
            slot.1 = value.clone();
        }
    }
    ids.sort();
    ids.dedup();
    (ids, facts)
}

/// A Patient's demographics in matching form, as the patient index sees it (also for `$match`).
pub fn patient_demographics(resource: &ParsedResource, institution: &InstitutionCode) -> Demographics {
    let (ids, _) = patient_identifiers(resource, institution);
    let mut raw = resource.patient_demographics();
    raw.identifiers = ids;
    Demographics::from_raw(&raw)
}

fn patient_role(resource: &ParsedResource, institution: &InstitutionCode, warnings: &mut Vec<Issue>) -> Result<Role, Issue> {
    let (ids, facts) = patient_identifiers(resource, institution);
    for f in &facts.findings {
        warnings.push(Issue::warning(
            IssueCode::Value,
            format!("Patient.identifier[{}]", f.index),
            format!("{}; this identifier is not used to link the record", f.message),
        ));
    }
    // Two different numbers of one identity document: which one is this person's cannot be
    // guessed, and linking on either could merge two people.
    for (i, a) in facts.strong.iter().enumerate() {
        if facts.strong[..i].iter().any(|b| b.system() == a.system() && b.value() != a.value()) {
            return Err(Issue::error(
                IssueCode::Invalid,
                "Patient.identifier",
                format!(
                    "two different numbers of the same identity document ({}); send the one that belongs to this patient",
                    a.system()
                ),
            ));
        }
    }
    let mut raw = resource.patient_demographics();
    raw.identifiers = ids.clone();
    let demographics = Demographics::from_raw(&raw);
    if facts.strong.is_empty() && !demographics.has_demographics() {
        warnings.push(Issue::warning(
            IssueCode::Required,
            "Patient",
            "no identity document and no name, birth date or phone: this patient cannot be matched to other institutions' records",
        ));
    }
    let matching = Box::new(PatientMatch {
        serialized: serde_json::to_string(&demographics).unwrap_or_default(),
        index_keys: index_keys(&demographics),
        query_keys: query_keys(&demographics),
        demographics,
    });
    Ok(Role::Patient { identifiers: ids, strong: facts.strong, matching })
}

fn check_subject(subject_path: &str, references: &[(ReferenceSite, Reference)]) -> Result<(), Issue> {
    let Some((_, subject)) = references.iter().find(|(site, _)| site.path == subject_path) else {
        return Err(Issue::error(
            IssueCode::Required,
            subject_path,
            "every record entry belongs to a person: give a reference to the Patient (Patient/id, a conditional reference or a Bundle fullUrl)",
        ));
    };
    if let Reference::Literal { resource_type, .. } | Reference::Conditional { resource_type, .. } = subject
        && resource_type != "Patient"
    {
        return Err(Issue::error(
            IssueCode::Value,
            format!("{subject_path}.reference"),
            format!("must reference a Patient, not a {resource_type}"),
        ));
    }
    if matches!(subject, Reference::Contained | Reference::External) {
        return Err(Issue::error(
            IssueCode::NotSupported,
            format!("{subject_path}.reference"),
            "the patient must be a Patient submitted by this institution, not a contained resource or another server's",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst() -> InstitutionCode {
        InstitutionCode::new("12440000455858116F").unwrap()
    }

    fn prep(text: &str) -> Prepared {
        prepare(Item::from_line(1, text), &Preparation::new(inst()), text.len())
    }

    #[test]
    fn entries_need_an_id_and_a_patient() {
        let no_id = prep(r#"{"resourceType":"Condition","subject":{"reference":"Patient/1"}}"#);
        assert_eq!(no_id.body.unwrap_err()[0].path, "Condition.id");
        let no_subject = prep(r#"{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"}}"#);
        assert_eq!(no_subject.body.unwrap_err()[0].path, "Observation.subject");
        let group = prep(
            r#"{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"Group/1"}}"#,
        );
        assert!(group.body.unwrap_err()[0].message.contains("Patient"));
        let claim = prep(
            r#"{"resourceType":"Claim","id":"c","status":"active","type":{"text":"x"},"use":"claim","patient":{"reference":"Patient/1"},"created":"2020-01-01","provider":{"reference":"Organization/1"},"priority":{"text":"x"},"insurance":[{"sequence":1,"focal":true,"coverage":{"reference":"Coverage/1"}}]}"#,
        );
        assert_eq!(claim.body.unwrap_err()[0].code, IssueCode::NotSupported);
    }

    #[test]
    fn patients_carry_normalized_strong_identifiers_and_findings() {
        let p = prep(&format!(
            r#"{{"resourceType":"Patient","id":"mrn1","name":[{{"text":"王芳"}}],"identifier":[{{"system":"{}","value":"11010519491231002x"}},{{"system":"{}","value":"110105194912310021"}},{{"value":"MRN1"}}]}}"#,
            systems::NATIONAL_ID,
            systems::NATIONAL_ID
        ));
        let own: Vec<_> = p.warnings.iter().filter(|w| w.code != IssueCode::BusinessRule).collect();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].path, "Patient.identifier[1]");
        assert!(p.warnings.iter().any(|w| w.message.starts_with("[QC-PAT-006]")), "the check digit is a rule finding too");
        let Role::Patient { identifiers, strong, .. } = p.body.unwrap().role else { panic!("not a patient") };
        assert_eq!(strong.len(), 1);
        assert!(identifiers.contains(&(systems::NATIONAL_ID.to_string(), "11010519491231002X".to_string())));
        assert!(identifiers.contains(&(systems::local_patient_system("12440000455858116F"), "MRN1".to_string())));
    }
}
