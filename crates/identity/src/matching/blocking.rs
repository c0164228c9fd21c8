//! Blocking keys: the index holds a few keys per record, and a new record is compared only with
//! records sharing a key, so the work per decision depends on block sizes, not on the size of
//! the index. Keys are stable 64-bit FNV-1a hashes of a kind letter and a value.

use crate::demographics::{BirthDate, Demographics};

/// What a key is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A phone number.
    Phone,
    /// Birth date and surname.
    BirthFamily,
    /// Birth date and given name (catches a wrong surname character).
    BirthGiven,
    /// Full name and birth year (catches a wrong day or month).
    NameYear,
    /// Full name and month-day (catches a wrong year).
    NameMonthDay,
    /// A supporting identifier.
    WeakId,
    /// Mother's name and birth date (newborns).
    MotherBirth,
    /// District or postal code, surname, initial of the given name (Latin-script names only:
    /// Chinese districts hold too many people of one surname).
    PlaceFamily,
    /// Full name alone (search only).
    Name,
    /// Birth date alone (search only).
    Birth,
}

impl KeyKind {
    fn tag(self) -> u8 {
        match self {
            KeyKind::Phone => b'P',
            KeyKind::BirthFamily => b'F',
            KeyKind::BirthGiven => b'G',
            KeyKind::NameYear => b'N',
            KeyKind::NameMonthDay => b'M',
            KeyKind::WeakId => b'W',
            KeyKind::MotherBirth => b'B',
            KeyKind::PlaceFamily => b'Z',
            KeyKind::Name => b'n',
            KeyKind::Birth => b'd',
        }
    }

    /// Whether candidates for matching are looked up by this kind (the others serve search).
    pub fn for_matching(self) -> bool {
        !matches!(self, KeyKind::Name | KeyKind::Birth)
    }
}

/// A key as stored.
pub type BlockKey = i64;

/// The key of a kind and value.
pub fn search_key(kind: KeyKind, value: &str) -> BlockKey {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(kind.tag()).chain([0x1f]).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

fn keys_for(d: &Demographics, dates: &[BirthDate], out: &mut Vec<(KeyKind, BlockKey)>) {
    let name = d.name_key();
    for p in &d.phones {
        out.push((KeyKind::Phone, search_key(KeyKind::Phone, p)));
    }
    for w in &d.weak {
        out.push((KeyKind::WeakId, search_key(KeyKind::WeakId, w)));
    }
    for b in dates.iter().filter(|b| b.is_full()) {
        let date = b.compact();
        if !d.family_key.is_empty() {
            out.push((KeyKind::BirthFamily, search_key(KeyKind::BirthFamily, &format!("{date}{}", d.family_key))));
        }
        if !d.given_key.is_empty() {
            out.push((KeyKind::BirthGiven, search_key(KeyKind::BirthGiven, &format!("{date}{}", d.given_key))));
        }
        if !d.mother.is_empty() {
            out.push((KeyKind::MotherBirth, search_key(KeyKind::MotherBirth, &format!("{date}{}", d.mother))));
        }
        out.push((KeyKind::Birth, search_key(KeyKind::Birth, &date)));
    }
    if !d.family_key.is_empty() && !d.given_key.is_empty() {
        if let Some(b) = d.birth {
            out.push((KeyKind::NameYear, search_key(KeyKind::NameYear, &format!("{}{name}", b.year))));
            if b.is_full() {
                let md = format!("{:02}{:02}{name}", b.month, b.day);
                out.push((KeyKind::NameMonthDay, search_key(KeyKind::NameMonthDay, &md)));
            }
        }
        out.push((KeyKind::Name, search_key(KeyKind::Name, &name)));
    }
    if !d.chinese && !d.family_key.is_empty() {
        let initial: String = d.given_key.chars().take(1).collect();
        for place in [&d.postal_code, &d.locality].into_iter().filter(|p| !p.is_empty()) {
            let value = format!("{place}|{}|{initial}", d.family_key);
            out.push((KeyKind::PlaceFamily, search_key(KeyKind::PlaceFamily, &value)));
        }
    }
}

/// The keys a record is indexed under.
pub fn index_keys(d: &Demographics) -> Vec<BlockKey> {
    let mut out = Vec::new();
    keys_for(d, d.birth.as_slice(), &mut out);
    let mut keys: Vec<BlockKey> = out.into_iter().map(|(_, k)| k).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The keys a record shares with its matching candidates (the index keys without the
/// search-only ones), with the kind of each: the blocks EM estimates from.
pub fn pair_keys_by_kind(d: &Demographics) -> Vec<(KeyKind, BlockKey)> {
    let mut out = Vec::new();
    keys_for(d, d.birth.as_slice(), &mut out);
    out.retain(|(k, _)| k.for_matching());
    out.sort_unstable_by_key(|(_, k)| *k);
    out.dedup_by_key(|(_, k)| *k);
    out
}

/// The keys to look candidates up by: the record's matching keys, also with day and month
/// swapped.
pub fn query_keys(d: &Demographics) -> Vec<BlockKey> {
    let mut dates: Vec<BirthDate> = d.birth.into_iter().collect();
    dates.extend(d.birth.and_then(|b| b.swapped()));
    let mut out = Vec::new();
    keys_for(d, &dates, &mut out);
    let mut keys: Vec<BlockKey> = out.into_iter().filter(|(k, _)| k.for_matching()).map(|(_, k)| k).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demographics::{RawDemographics, RawName};

    fn person(name: &str, birth: &str) -> Demographics {
        Demographics::from_raw(&RawDemographics {
            names: vec![RawName { text: Some(name.into()), ..Default::default() }],
            birth_date: Some(birth.into()),
            ..Default::default()
        })
    }

    #[test]
    fn homophones_and_swapped_dates_share_a_block() {
        let stored = index_keys(&person("张伟", "1980-03-07"));
        let q = query_keys(&person("章玮", "1980-07-03"));
        assert!(q.iter().any(|k| stored.contains(k)));
    }

    #[test]
    fn strangers_do_not() {
        let stored = index_keys(&person("张伟", "1980-03-07"));
        let q = query_keys(&person("李娜", "1991-11-20"));
        assert!(!q.iter().any(|k| stored.contains(k)));
    }

    #[test]
    fn keys_are_stable() {
        assert_eq!(search_key(KeyKind::Phone, "13800138000"), search_key(KeyKind::Phone, "13800138000"));
        assert_ne!(search_key(KeyKind::Phone, "1"), search_key(KeyKind::WeakId, "1"));
    }
}
