//! The policy decision point. Decides from who is asking (role, institution, scopes, own
//! person) and what is asked (demographics or clinical content, whose). Residents read their
//! own record; institution systems with the `read` scope and clinicians read records (resident
//! grants narrow this in one place, here); administrators, operators and auditors see masked
//! demographics and no clinical content.

use tongdang_core::{Category, InstitutionCode, PersonId, Role, Scope};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// Their role.
    pub role: Role,
    /// The institution of the credential or account, if any.
    pub institution: Option<InstitutionCode>,
    /// A clinician's department.
    pub department: Option<String>,
    /// A resident's own person.
    pub person: Option<PersonId>,
    /// What the credential allows.
    pub scopes: Vec<Scope>,
    /// Who, for the audit trail: `account:12` or `institution:CODE key:PREFIX`.
    pub actor: String,
}

impl Requester {
    /// An institution's system calling with an API key.
    pub fn institution_key(institution: InstitutionCode, scopes: Vec<Scope>, key_prefix: &str) -> Requester {
        let actor = format!("institution:{} key:{key_prefix}", institution.as_str());
        Requester { role: Role::InstitutionSystem, institution: Some(institution), department: None, person: None, scopes, actor }
    }
}

/// What a read discloses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Who a person is (Patient, identifiers, search by identifier or demographics), masked by role.
    Demographics,
    /// Record entries.
    Clinical,
}

/// Why a read is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// The credential lacks the `read` scope.
    NoReadScope,
    /// The credential lacks the `mpi` scope (operating the patient index).
    NoIndexScope,
    /// The role never sees clinical content.
    NoClinicalContent,
    /// A resident asked for someone else's record.
    NotOwnRecord,
}

impl DenyReason {
    /// Plain words for the error message.
    pub fn message(self) -> &'static str {
        match self {
            DenyReason::NoReadScope => "this API key does not carry the read scope",
            DenyReason::NoIndexScope => "this API key does not carry the mpi scope (patient index operations)",
            DenyReason::NoClinicalContent => "this role sees demographics (masked) but no clinical content",
            DenyReason::NotOwnRecord => "a resident reads only their own record",
        }
    }

    /// A stable code for the audit trail.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::NoReadScope => "no-read-scope",
            DenyReason::NoIndexScope => "no-mpi-scope",
            DenyReason::NoClinicalContent => "no-clinical-content",
            DenyReason::NotOwnRecord => "not-own-record",
        }
    }
}

/// Which categories a permit covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Categories {
    /// The whole record.
    All,
    /// Only these (possibly none).
    Only(Vec<Category>),
}

impl Categories {
    /// What may be read of `requested` (empty: everything asked): `None` when nothing may be,
    /// `Some(empty)` for the whole record. An empty intersection never widens to "all".
    pub fn allow(&self, requested: &[Category]) -> Option<Vec<Category>> {
        match self {
            Categories::All => Some(requested.to_vec()),
            Categories::Only(allowed) => {
                let granted: Vec<Category> = if requested.is_empty() {
                    allowed.clone()
                } else {
                    requested.iter().copied().filter(|c| allowed.contains(c)).collect()
                };
                if granted.is_empty() { None } else { Some(granted) }
            }
        }
    }
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Read allowed for these categories.
    Permit { categories: Categories },
    /// Read refused.
    Deny(DenyReason),
}

/// The rules.
#[derive(Debug, Clone, Default)]
pub struct Policy;

impl Policy {
    /// Decide whether `who` may read `person`'s record (or, for `None`, find persons), what it
    /// discloses, and which categories of it.
    pub fn decide(&self, who: &Requester, person: Option<PersonId>, disclosure: Disclosure) -> Decision {
        let all = Decision::Permit { categories: Categories::All };
        match who.role {
            Role::Resident => match (person, who.person) {
                (Some(p), Some(own)) if p == own => all,
                _ => Decision::Deny(DenyReason::NotOwnRecord),
            },
            Role::Clinician | Role::InstitutionSystem => {
                if who.scopes.contains(&Scope::Read) {
                    all
                } else {
                    Decision::Deny(DenyReason::NoReadScope)
                }
            }
            Role::InstitutionAdmin | Role::CityOperator | Role::ProvincialOperator | Role::Auditor => match disclosure {
                Disclosure::Demographics => all,
                Disclosure::Clinical => Decision::Deny(DenyReason::NoClinicalContent),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, person: Option<PersonId>) -> Requester {
        Requester { role, institution: None, department: None, person, scopes: vec![Scope::Read], actor: "account:1".into() }
    }

    #[test]
    fn read_needs_the_read_scope() {
        let code = InstitutionCode::new("12440100MB1234567X").unwrap();
        let submit_only = Requester::institution_key(code.clone(), vec![Scope::Submit], "k");
        assert_eq!(Policy.decide(&submit_only, None, Disclosure::Demographics), Decision::Deny(DenyReason::NoReadScope));
        let reader = Requester::institution_key(code, vec![Scope::Read], "k");
        assert!(matches!(Policy.decide(&reader, Some(PersonId(1)), Disclosure::Clinical), Decision::Permit { .. }));
    }

    /// Every role against its own record, another's, and a look-up, for both disclosures.
    #[test]
    fn every_role() {
        let own = PersonId(7);
        for role in Role::ALL {
            let who = user(*role, Some(own));
            for (person, disclosure) in [
                (Some(own), Disclosure::Clinical),
                (Some(PersonId(8)), Disclosure::Clinical),
                (Some(PersonId(8)), Disclosure::Demographics),
                (None, Disclosure::Demographics),
            ] {
                let permitted = matches!(Policy.decide(&who, person, disclosure), Decision::Permit { .. });
                let expected = match role {
                    Role::Resident => person == Some(own),
                    Role::Clinician | Role::InstitutionSystem => true,
                    _ => disclosure == Disclosure::Demographics,
                };
                assert_eq!(permitted, expected, "{role:?} {person:?} {disclosure:?}");
            }
        }
    }

    #[test]
    fn an_empty_intersection_never_widens_to_the_whole_record() {
        let only_lab = Categories::Only(vec![Category::Lab]);
        assert_eq!(only_lab.allow(&[Category::Vaccination]), None);
        assert_eq!(only_lab.allow(&[]), Some(vec![Category::Lab]));
        assert_eq!(only_lab.allow(&[Category::Lab, Category::Blood]), Some(vec![Category::Lab]));
        assert_eq!(Categories::Only(vec![]).allow(&[]), None);
        assert_eq!(Categories::All.allow(&[]), Some(vec![]));
    }
}
