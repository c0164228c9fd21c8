//! Arbitrary demographic text through normalization (folding, pinyin, dates, phones,
//! addresses), blocking keys, comparison and the match decision: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tongdang_identity::demographics::{Demographics, RawAddress, RawDemographics, RawName};
use tongdang_identity::matching::{Candidate, Parameters, compare, decide, index_keys, query_keys};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let f: Vec<&str> = text.split('\u{1f}').collect();
    let at = |i: usize| f.get(i).map(|s| s.to_string());
    let raw = RawDemographics {
        names: vec![RawName { text: at(0), family: at(1), given: at(2).into_iter().collect() }],
        gender: at(3),
        birth_date: at(4),
        phones: at(5).into_iter().collect(),
        addresses: vec![RawAddress { text: at(6), line: at(7).into_iter().collect(), city: at(8), district: at(9), postal_code: at(10) }],
        mother: at(11).map(|t| RawName { text: Some(t), ..Default::default() }),
        multiple_birth: f.get(12).and_then(|s| s.parse().ok()),
        identifiers: vec![(at(13).unwrap_or_default(), at(14).unwrap_or_default())],
    };
    let d = Demographics::from_raw(&raw);
    let _ = (index_keys(&d), query_keys(&d), compare(&d, &d));
    let round: Demographics = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(round, d);
    let other = Demographics::from_raw(&RawDemographics {
        names: vec![RawName { text: Some("张伟".into()), ..Default::default() }],
        birth_date: Some("1980-03-07".into()),
        ..Default::default()
    });
    let _ = decide(&Parameters::default(), &d, &[Candidate { person: tongdang_core::PersonId(1), record: 1, demographics: other }]);
});
