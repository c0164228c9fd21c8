//! The policy decision point. Today it admits holders of an API key with the `read` scope;
//! resident grants, self-access and emergency access replace this rule in one place.

use tongdang_core::{Category, InstitutionCode, PersonId, Scope};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// The institution whose credential made the request.
    pub institution: InstitutionCode,
    /// What the credential allows.
    pub scopes: Vec<Scope>,
}

/// Why a read is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// The credential lacks the `read` scope.
    NoReadScope,
    /// The credential lacks the `mpi` scope (operating the patient index).
    NoIndexScope,
}

impl DenyReason {
    /// Plain words for the error message.
    pub fn message(self) -> &'static str {
        match self {
            DenyReason::NoReadScope => "this API key does not carry the read scope",
            DenyReason::NoIndexScope => "this API key does not carry the mpi scope (patient index operations)",
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
    /// Decide whether `who` may read `person`'s record (or, for `None`, find persons by
    /// identifier), and which categories of it.
    pub fn decide(&self, who: &Requester, _person: Option<PersonId>) -> Decision {
        if !who.scopes.contains(&Scope::Read) {
            return Decision::Deny(DenyReason::NoReadScope);
        }
        Decision::Permit { categories: Categories::All }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_needs_the_read_scope() {
        let code = InstitutionCode::new("12440100MB1234567X").unwrap();
        let submit_only = Requester { institution: code.clone(), scopes: vec![Scope::Submit] };
        assert_eq!(Policy.decide(&submit_only, None), Decision::Deny(DenyReason::NoReadScope));
        let reader = Requester { institution: code, scopes: vec![Scope::Read] };
        assert!(matches!(Policy.decide(&reader, Some(PersonId(1))), Decision::Permit { .. }));
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
