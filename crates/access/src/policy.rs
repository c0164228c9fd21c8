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
}

impl DenyReason {
    /// Plain words for the error message.
    pub fn message(self) -> &'static str {
        match self {
            DenyReason::NoReadScope => "this API key does not carry the read scope",
        }
    }
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Read allowed for these categories (all, when empty).
    Permit { categories: Vec<Category> },
    /// Read refused.
    Deny(DenyReason),
}

/// The rules.
#[derive(Debug, Clone, Default)]
pub struct Policy;

impl Policy {
    /// Decide whether `who` may read `person`'s record (or, for `None`, search across persons
    /// by identifier), for the `categories` asked (empty: all).
    pub fn decide(&self, who: &Requester, _person: Option<PersonId>, categories: &[Category]) -> Decision {
        if !who.scopes.contains(&Scope::Read) {
            return Decision::Deny(DenyReason::NoReadScope);
        }
        Decision::Permit { categories: categories.to_vec() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_needs_the_read_scope() {
        let code = InstitutionCode::new("12440100MB1234567X").unwrap();
        let submit_only = Requester { institution: code.clone(), scopes: vec![Scope::Submit] };
        assert_eq!(Policy.decide(&submit_only, None, &[]), Decision::Deny(DenyReason::NoReadScope));
        let reader = Requester { institution: code, scopes: vec![Scope::Read] };
        assert!(matches!(Policy.decide(&reader, Some(PersonId(1)), &[Category::Lab]), Decision::Permit { .. }));
    }
}
