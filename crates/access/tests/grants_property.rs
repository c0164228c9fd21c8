//! Random sequences of grants, revocations, time passing and reads by many clinicians, systems
//! and residents, against a model: no read is ever allowed without a grant in force that covers
//! the reader, self-access (verified) or a recorded emergency access, and every read produces
//! exactly one audit event, naming the grant it rests on.

use proptest::prelude::*;
use std::sync::Arc;
use tongdang_access::authorize::{Authorizations, GrantDefaults};
use tongdang_access::channels::Channels;
use tongdang_access::clock::{Clock, ManualClock};
use tongdang_access::grant::{Channel, Grant, Status, categories_to_text};
use tongdang_access::notify::{Notifier, NotifyConfig};
use tongdang_access::{AccessError, Categories, Policy, RecordReader, Requester, TimelineFilter};
use tongdang_core::{Category, InstitutionCode, PersonId, Role, Scope, Timestamp};
use tongdang_store::{GrantRecord, Store};

const INSTITUTIONS: [&str; 2] = ["12440100MB1234567X", "12440300MB7654321Y"];
const DEPARTMENTS: [&str; 2] = ["心内科", "骨科"];
const PERSONS: i64 = 3;
const MINUTE: i64 = 60_000_000;

/// The readers: clinicians (institution, department, account), an institution system, residents.
fn readers() -> Vec<Requester> {
    let clinician = |i: usize, d: usize, account: i64| Requester {
        role: Role::Clinician,
        institution: Some(InstitutionCode::new(INSTITUTIONS[i]).unwrap()),
        department: Some(DEPARTMENTS[d].into()),
        person: None,
        scopes: vec![Scope::Read],
        actor: format!("account:{account}"),
        account: Some(account),
        face_verified_at: None,
    };
    let resident = |p: i64, verified: bool| Requester {
        role: Role::Resident,
        institution: None,
        department: None,
        person: Some(PersonId(p)),
        scopes: vec![Scope::Read],
        actor: format!("account:{}", 100 + p),
        account: Some(100 + p),
        face_verified_at: verified.then_some(Timestamp(0)),
    };
    vec![
        clinician(0, 0, 1),
        clinician(0, 1, 2),
        clinician(1, 0, 3),
        Requester::institution_key(InstitutionCode::new(INSTITUTIONS[0]).unwrap(), vec![Scope::Read], "k0"),
        Requester::institution_key(InstitutionCode::new(INSTITUTIONS[1]).unwrap(), vec![Scope::Submit], "k1"),
        resident(1, true),
        resident(2, false),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Grant {
        person: i64,
        institution: usize,
        department: Option<usize>,
        clinician: Option<i64>,
        channel: usize,
        categories: Option<Vec<usize>>,
        minutes: i64,
    },
    Revoke {
        grant: usize,
    },
    Advance {
        minutes: i64,
    },
    Read {
        reader: usize,
        person: i64,
        categories: Vec<usize>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            1..=PERSONS,
            0..2usize,
            proptest::option::of(0..2usize),
            proptest::option::weighted(0.2, 1..=3i64),
            0..4usize,
            proptest::option::of(proptest::collection::vec(0..10usize, 1..3)),
            1..600i64
        )
            .prop_map(|(person, institution, department, clinician, channel, categories, minutes)| Op::Grant {
                person,
                institution,
                department,
                clinician,
                channel,
                categories,
                minutes
            }),
        (0..20usize).prop_map(|grant| Op::Revoke { grant }),
        (0..240i64).prop_map(|minutes| Op::Advance { minutes }),
        (0..7usize, 1..=PERSONS, proptest::collection::vec(0..10usize, 0..3)).prop_map(|(reader, person, categories)| Op::Read {
            reader,
            person,
            categories
        }),
    ]
}

/// What the model says: may `who` read `person` now, and under which grants. Written apart from
/// the policy (not through `Grant::in_force` or `covers`), so a slip in either shows here.
fn expected(who: &Requester, person: PersonId, grants: &[Grant], now: Timestamp) -> (bool, Vec<i64>) {
    match who.role {
        Role::Resident => (who.person == Some(person) && who.face_verified_at.is_some(), Vec::new()),
        _ if !who.scopes.contains(&Scope::Read) => (false, Vec::new()),
        role => {
            let institution = who.institution.as_ref().map(|i| i.as_str().to_string());
            let covering: Vec<i64> = grants
                .iter()
                .filter(|g| g.status == Status::Active && g.valid_from.0 <= now.0 && now.0 < g.valid_until.0)
                .filter(|g| g.person == person && Some(&g.institution) == institution.as_ref())
                .filter(|g| match role {
                    Role::Clinician => {
                        (g.department.is_none() || g.department == who.department)
                            && (g.clinician.is_none() || g.clinician == who.account)
                    }
                    _ => g.department.is_none() && g.clinician.is_none(),
                })
                .map(|g| g.id)
                .collect();
            (!covering.is_empty(), covering)
        }
    }
}

async fn run(ops: Vec<Op>) {
    let backend = tongdang_testkit::Backend::sqlite().await;
    let store: Arc<dyn Store> = backend.protected.clone();
    let clock = Arc::new(ManualClock::at(Timestamp(1_730_000_000_000_000)));
    let reader = RecordReader::new(store.clone(), Policy).with_clock(clock.clone());
    let notifier = Arc::new(Notifier::new(store.clone(), Channels::simulated(), NotifyConfig { first_read: false }));
    let auth =
        Authorizations::new(backend.protected.clone(), clock.clone(), notifier, Channels::simulated(), GrantDefaults::default());
    let readers = readers();
    let mut model: Vec<Grant> = Vec::new();
    let mut reads = 0usize;
    for op in ops {
        let now = clock.now();
        match op {
            Op::Grant { person, institution, department, clinician, channel, categories, minutes } => {
                let categories = match categories {
                    None => Categories::All,
                    Some(list) => Categories::Only(list.into_iter().map(|i| Category::ALL[i]).collect()),
                };
                let channel = Channel::ALL[channel];
                let record = GrantRecord {
                    department: department.map(|d| DEPARTMENTS[d].to_string()),
                    clinician,
                    categories: categories_to_text(&categories),
                    review_status: (channel == Channel::Emergency).then(|| "open".into()),
                    ..GrantRecord::new(
                        PersonId(person),
                        INSTITUTIONS[institution],
                        channel.code(),
                        "active",
                        now,
                        Timestamp(now.0 + minutes * MINUTE),
                        "test",
                    )
                };
                let (id, _) = store.insert_grant(&record).await.unwrap();
                model.push(Grant::from_record(&GrantRecord { id, ..record }).unwrap());
            }
            Op::Revoke { grant } => {
                let Some(g) = model.get_mut(grant) else { continue };
                let resident = Requester {
                    role: Role::Resident,
                    institution: None,
                    department: None,
                    person: Some(g.person),
                    scopes: vec![],
                    actor: "account:9".into(),
                    account: Some(9),
                    face_verified_at: None,
                };
                let revoked = auth.revoke(&resident, g.id).await;
                assert_eq!(revoked.is_ok(), g.status == Status::Active, "{revoked:?}");
                if revoked.is_ok() {
                    g.status = Status::Revoked;
                    g.valid_until = Timestamp(now.0.min(g.valid_until.0));
                }
            }
            Op::Advance { minutes } => clock.advance(minutes * MINUTE),
            Op::Read { reader: r, person, categories } => {
                let who = &readers[r];
                let person = PersonId(person);
                let filter = TimelineFilter {
                    categories: categories.iter().map(|i| Category::ALL[*i]).collect(),
                    limit: 10,
                    ..Default::default()
                };
                let before = store.audit_events(None, None, 100_000).await.unwrap();
                let outcome = reader.timeline(who, person, &filter).await;
                reads += 1;
                let (may, covering) = expected(who, person, &model, now);
                let allowed = match &outcome {
                    // Persons here have no Patient record: a permitted read finds no one.
                    Ok(_) | Err(AccessError::NotFound(_)) => true,
                    Err(AccessError::Denied(_)) => false,
                    Err(e) => panic!("{e}"),
                };
                assert_eq!(allowed, may, "{who:?} reading {person} at {now:?} with {model:#?}");
                // Exactly one new event, for this read, naming the grant it rests on.
                let after = store.audit_events(None, None, 100_000).await.unwrap();
                let new: Vec<_> = after.iter().filter(|e| !before.iter().any(|b| b.id == e.id)).collect();
                assert_eq!(new.len(), 1, "{new:?}");
                let e = new[0];
                assert_eq!((e.kind.as_str(), e.person, e.actor.as_str()), ("read.timeline", Some(person), who.actor.as_str()));
                assert_eq!(e.outcome, if may { "allowed" } else { "refused" });
                match who.role {
                    Role::Resident => assert_eq!(e.grant, None),
                    _ if may => assert!(covering.contains(&e.grant.expect("a grant is named")), "{e:?} {covering:?}"),
                    _ => assert_eq!(e.grant, None),
                }
            }
        }
    }
    let events = store.audit_events(None, None, 100_000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "read.timeline").count(), reads);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_read_without_a_grant_and_one_event_per_read(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(ops));
    }
}
