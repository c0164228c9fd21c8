//! The policy decision point. Decides from who is asking (role, institution, department,
//! account, scopes, own person, face verification), what is asked (demographics or clinical
//! content, whose) and the resident's grants in force at the given time. Residents read their
//! own record once they have passed face verification; clinicians and institution systems (with
//! the `read` scope) read clinical content only under a grant that covers them, or an emergency
//! access; administrators, operators and auditors see masked demographics and no clinical
//! content. Pure: no I/O, no clock of its own.

use crate::grant::{Channel, Grant};
use tongdang_core::{Category, InstitutionCode, PersonId, Role, Scope, Timestamp};

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
    /// The account, for people signed in.
    pub account: Option<i64>,
    /// When a resident last passed face verification (real-name check).
    pub face_verified_at: Option<Timestamp>,
}

impl Requester {
    /// An institution's system calling with an API key.
    pub fn institution_key(institution: InstitutionCode, scopes: Vec<Scope>, key_prefix: &str) -> Requester {
        let actor = format!("institution:{} key:{key_prefix}", institution.as_str());
        Requester {
            role: Role::InstitutionSystem,
            institution: Some(institution),
            department: None,
            person: None,
            scopes,
            actor,
            account: None,
            face_verified_at: None,
        }
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
    /// No grant of the resident's (nor an emergency access) covers the requester now.
    NoGrant,
    /// A resident must pass face verification before reading their own record.
    FaceVerificationRequired,
}

impl DenyReason {
    /// Plain words for the error message.
    pub fn message(self) -> &'static str {
        match self {
            DenyReason::NoReadScope => "this API key does not carry the read scope",
            DenyReason::NoIndexScope => "this API key does not carry the mpi scope (patient index operations)",
            DenyReason::NoClinicalContent => "this role sees demographics (masked) but no clinical content",
            DenyReason::NotOwnRecord => "a resident reads only their own record",
            DenyReason::NoGrant => {
                "no authorization of the resident covers this read; request one (SMS code or app) or declare an emergency"
            }
            DenyReason::FaceVerificationRequired => "verify your identity (face verification) before reading your record",
        }
    }

    /// A stable code for the audit trail.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::NoReadScope => "no-read-scope",
            DenyReason::NoIndexScope => "no-mpi-scope",
            DenyReason::NoClinicalContent => "no-clinical-content",
            DenyReason::NotOwnRecord => "not-own-record",
            DenyReason::NoGrant => "no-grant",
            DenyReason::FaceVerificationRequired => "face-verification-required",
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

/// On what a permit rests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The resident's own record.
    Own,
    /// The role alone: demographics look-ups, directory data.
    Role,
    /// A grant of the resident's (or an emergency access): its id and channel.
    Grant(i64, Channel),
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Read allowed for these categories, on this basis.
    Permit { categories: Categories, basis: Basis },
    /// Read refused.
    Deny(DenyReason),
}

/// The rules.
#[derive(Debug, Clone, Default)]
pub struct Policy;

impl Policy {
    /// Decide whether `who` may read `person`'s record (or, for `None`, find persons or read
    /// the directory), what it discloses, and which categories of it, given the grants of the
    /// person to the requester's institution and the time. Grants of other persons or
    /// institutions, out of their window or not active, count for nothing.
    pub fn decide(
        &self,
        who: &Requester,
        person: Option<PersonId>,
        disclosure: Disclosure,
        grants: &[Grant],
        now: Timestamp,
    ) -> Decision {
        let by_role = Decision::Permit { categories: Categories::All, basis: Basis::Role };
        match who.role {
            Role::Resident => match (person, who.person) {
                (Some(p), Some(own)) if p == own => {
                    if who.face_verified_at.is_some() {
                        Decision::Permit { categories: Categories::All, basis: Basis::Own }
                    } else {
                        Decision::Deny(DenyReason::FaceVerificationRequired)
                    }
                }
                _ => Decision::Deny(DenyReason::NotOwnRecord),
            },
            // A booking platform finds the resident an appointment is for: demographics (masked
            // by its role), nothing clinical.
            Role::InstitutionSystem if !who.scopes.contains(&Scope::Read) && who.scopes.contains(&Scope::Booking) => {
                match disclosure {
                    Disclosure::Demographics => by_role,
                    Disclosure::Clinical => Decision::Deny(DenyReason::NoReadScope),
                }
            }
            Role::Clinician | Role::InstitutionSystem => {
                if !who.scopes.contains(&Scope::Read) {
                    return Decision::Deny(DenyReason::NoReadScope);
                }
                match (disclosure, person) {
                    (Disclosure::Demographics, _) | (Disclosure::Clinical, None) => by_role,
                    (Disclosure::Clinical, Some(p)) => under_grants(who, p, grants, now),
                }
            }
            Role::InstitutionAdmin | Role::CityOperator | Role::ProvincialOperator | Role::Auditor => match disclosure {
                Disclosure::Demographics => by_role,
                Disclosure::Clinical => Decision::Deny(DenyReason::NoClinicalContent),
            },
        }
    }
}

/// The union of the resident's grants that cover `who` now. Ordinary grants come first: an
/// emergency access is used (and so reviewed) only when the ordinary grants do not cover the
/// whole record, and then it covers the whole record (a clinician in an emergency is never held
/// to a lab-only grant).
fn under_grants(who: &Requester, person: PersonId, grants: &[Grant], now: Timestamp) -> Decision {
    let covering = |emergency: bool| {
        grants.iter().filter(move |g| (g.channel == Channel::Emergency) == emergency && g.in_force(now) && g.covers(who, person))
    };
    let ordinary = union(covering(false));
    if matches!(ordinary, Some((Categories::All, _))) {
        let (categories, basis) = ordinary.expect("matched");
        return Decision::Permit { categories, basis };
    }
    if let Some((categories, basis)) = union(covering(true)).or(ordinary) {
        return Decision::Permit { categories, basis };
    }
    Decision::Deny(DenyReason::NoGrant)
}

/// The categories a set of grants covers together, and the grant to name (one of the whole
/// record if there is one).
fn union<'a>(grants: impl Iterator<Item = &'a Grant>) -> Option<(Categories, Basis)> {
    let mut out: Option<(Categories, Basis)> = None;
    for g in grants {
        let basis = Basis::Grant(g.id, g.channel);
        out = Some(match out {
            None => (g.categories.clone(), basis),
            Some((Categories::All, b)) => (Categories::All, b),
            Some((Categories::Only(_), _)) if g.categories == Categories::All => (Categories::All, basis),
            Some((Categories::Only(mut a), b)) => {
                if let Categories::Only(more) = &g.categories {
                    for c in more {
                        if !a.contains(c) {
                            a.push(*c);
                        }
                    }
                }
                (Categories::Only(a), b)
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSPITAL: &str = "12440100MB1234567X";
    const OTHER: &str = "12440300MB7654321Y";
    const NOW: Timestamp = Timestamp(1_700_000_000_000_000);
    const HOUR: i64 = 3_600_000_000;

    fn user(role: Role, person: Option<PersonId>) -> Requester {
        Requester {
            role,
            institution: Some(InstitutionCode::new(HOSPITAL).unwrap()),
            department: Some("心内科".into()),
            person,
            scopes: vec![Scope::Read],
            actor: "account:1".into(),
            account: Some(1),
            face_verified_at: Some(Timestamp(0)),
        }
    }

    fn grant(id: i64, person: i64, channel: Channel, categories: Categories) -> Grant {
        Grant {
            id,
            person: PersonId(person),
            institution: HOSPITAL.into(),
            department: None,
            clinician: None,
            categories,
            channel,
            status: crate::grant::Status::Active,
            valid_from: Timestamp(NOW.0 - HOUR),
            valid_until: Timestamp(NOW.0 + HOUR),
        }
    }

    fn permitted(d: Decision) -> bool {
        matches!(d, Decision::Permit { .. })
    }

    #[test]
    fn read_needs_the_read_scope_and_a_grant() {
        let code = InstitutionCode::new(HOSPITAL).unwrap();
        let submit_only = Requester::institution_key(code.clone(), vec![Scope::Submit], "k");
        assert_eq!(
            Policy.decide(&submit_only, None, Disclosure::Demographics, &[], NOW),
            Decision::Deny(DenyReason::NoReadScope)
        );
        let reader = Requester::institution_key(code, vec![Scope::Read], "k");
        assert_eq!(
            Policy.decide(&reader, Some(PersonId(1)), Disclosure::Clinical, &[], NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
        let g = grant(5, 1, Channel::Sms, Categories::All);
        assert_eq!(
            Policy.decide(&reader, Some(PersonId(1)), Disclosure::Clinical, std::slice::from_ref(&g), NOW),
            Decision::Permit { categories: Categories::All, basis: Basis::Grant(5, Channel::Sms) }
        );
        // A department-narrowed grant is for clinicians of that department, not the system.
        let narrowed = Grant { department: Some("心内科".into()), ..g };
        assert!(!permitted(Policy.decide(&reader, Some(PersonId(1)), Disclosure::Clinical, &[narrowed], NOW)));
    }

    /// Every role against its own record, another's, and a look-up, for both disclosures, with
    /// no grant at all.
    #[test]
    fn every_role_without_grants() {
        let own = PersonId(7);
        for role in Role::ALL {
            let who = user(*role, Some(own));
            for (person, disclosure) in [
                (Some(own), Disclosure::Clinical),
                (Some(PersonId(8)), Disclosure::Clinical),
                (Some(PersonId(8)), Disclosure::Demographics),
                (None, Disclosure::Demographics),
            ] {
                let p = permitted(Policy.decide(&who, person, disclosure, &[], NOW));
                let expected = match role {
                    Role::Resident => person == Some(own),
                    _ => disclosure == Disclosure::Demographics,
                };
                assert_eq!(p, expected, "{role:?} {person:?} {disclosure:?}");
            }
        }
    }

    #[test]
    fn a_booking_platform_finds_residents_but_reads_nothing_clinical() {
        let booking = Requester::institution_key(InstitutionCode::new(OTHER).unwrap(), vec![Scope::Booking], "b");
        assert!(permitted(Policy.decide(&booking, None, Disclosure::Demographics, &[], NOW)));
        let g = Grant { institution: OTHER.into(), ..grant(1, 7, Channel::Booking, Categories::All) };
        assert_eq!(
            Policy.decide(&booking, Some(PersonId(7)), Disclosure::Clinical, &[g], NOW),
            Decision::Deny(DenyReason::NoReadScope)
        );
    }

    #[test]
    fn a_resident_verifies_their_face_first() {
        let who = Requester { face_verified_at: None, ..user(Role::Resident, Some(PersonId(7))) };
        assert_eq!(
            Policy.decide(&who, Some(PersonId(7)), Disclosure::Clinical, &[], NOW),
            Decision::Deny(DenyReason::FaceVerificationRequired)
        );
    }

    #[test]
    fn a_grant_covers_only_its_person_institution_department_clinician_and_window() {
        let who = user(Role::Clinician, None);
        let g = grant(1, 7, Channel::App, Categories::All);
        let read = |g: &Grant, at: Timestamp| {
            permitted(Policy.decide(&who, Some(PersonId(7)), Disclosure::Clinical, std::slice::from_ref(g), at))
        };
        assert!(read(&g, NOW));
        assert!(!read(&Grant { person: PersonId(8), ..g.clone() }, NOW), "another person's grant");
        assert!(!read(&Grant { institution: OTHER.into(), ..g.clone() }, NOW), "another institution's grant");
        assert!(read(&Grant { department: Some("心内科".into()), ..g.clone() }, NOW));
        assert!(!read(&Grant { department: Some("骨科".into()), ..g.clone() }, NOW), "another department");
        assert!(read(&Grant { clinician: Some(1), ..g.clone() }, NOW));
        assert!(!read(&Grant { clinician: Some(2), ..g.clone() }, NOW), "another clinician");
        for s in [
            crate::grant::Status::Requested,
            crate::grant::Status::Refused,
            crate::grant::Status::Revoked,
            crate::grant::Status::Locked,
        ] {
            assert!(!read(&Grant { status: s, ..g.clone() }, NOW), "{s:?}");
        }
        // The window: from inclusive, until exclusive, to the microsecond.
        assert!(read(&g, g.valid_from));
        assert!(!read(&g, Timestamp(g.valid_from.0 - 1)));
        assert!(read(&g, Timestamp(g.valid_until.0 - 1)));
        assert!(!read(&g, g.valid_until));
    }

    #[test]
    fn grants_add_up_and_emergency_access_is_the_last_resort() {
        let who = user(Role::Clinician, None);
        let lab = grant(1, 7, Channel::Sms, Categories::Only(vec![Category::Lab]));
        let vaccines = grant(2, 7, Channel::App, Categories::Only(vec![Category::Vaccination]));
        let emergency = grant(3, 7, Channel::Emergency, Categories::All);
        let d = Policy.decide(&who, Some(PersonId(7)), Disclosure::Clinical, &[lab.clone(), vaccines.clone()], NOW);
        assert_eq!(
            d,
            Decision::Permit {
                categories: Categories::Only(vec![Category::Lab, Category::Vaccination]),
                basis: Basis::Grant(1, Channel::Sms)
            }
        );
        // A whole-record grant makes the emergency access unneeded; a lab-only one does not.
        let whole = grant(9, 7, Channel::Booking, Categories::All);
        let d = Policy.decide(&who, Some(PersonId(7)), Disclosure::Clinical, &[emergency.clone(), lab.clone(), whole], NOW);
        assert_eq!(d, Decision::Permit { categories: Categories::All, basis: Basis::Grant(9, Channel::Booking) });
        let d = Policy.decide(&who, Some(PersonId(7)), Disclosure::Clinical, &[emergency.clone(), lab], NOW);
        assert_eq!(d, Decision::Permit { categories: Categories::All, basis: Basis::Grant(3, Channel::Emergency) });
        let d = Policy.decide(&who, Some(PersonId(7)), Disclosure::Clinical, &[emergency], NOW);
        assert_eq!(d, Decision::Permit { categories: Categories::All, basis: Basis::Grant(3, Channel::Emergency) });
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
