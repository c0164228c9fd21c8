//! The comparison vector of two records: per field, the level of agreement (0 is best) or
//! missing when either side lacks the field.

use crate::demographics::Demographics;
use strsim::jaro_winkler;

/// The fields compared, in vector order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Surname: exact, same pinyin, similar, different.
    Family,
    /// Given name: exact, same pinyin, similar, different.
    Given,
    /// Birth date: exact, day and month swapped, one part different, different.
    BirthDate,
    /// Sex: same, different.
    Sex,
    /// Phone: one shared, none shared.
    Phone,
    /// Address: same district and street, same district or postal code, same city, different.
    Address,
    /// A supporting identifier (passport, birth certificate…): same, one character off (a typo),
    /// same system but different.
    WeakId,
    /// The mother's name (newborns): same pinyin, different.
    Mother,
}

/// All fields, in vector order.
pub const FIELDS: [Field; 8] =
    [Field::Family, Field::Given, Field::BirthDate, Field::Sex, Field::Phone, Field::Address, Field::WeakId, Field::Mother];

impl Field {
    /// Number of agreement levels.
    pub fn levels(self) -> usize {
        match self {
            Field::Family | Field::Given | Field::BirthDate | Field::Address => 4,
            Field::WeakId => 3,
            Field::Sex | Field::Phone | Field::Mother => 2,
        }
    }

    /// Short name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Field::Family => "family",
            Field::Given => "given",
            Field::BirthDate => "birthDate",
            Field::Sex => "sex",
            Field::Phone => "phone",
            Field::Address => "address",
            Field::WeakId => "identifier",
            Field::Mother => "mother",
        }
    }
}

/// The level of a field that one side lacks.
pub const MISSING: u8 = u8::MAX;

/// Agreement levels, one per field of [`FIELDS`].
pub type Comparison = [u8; 8];

/// Compare two records.
pub fn compare(a: &Demographics, b: &Demographics) -> Comparison {
    let (family, given) = names(a, b);
    [family, given, birth(a, b), sex(a, b), phone(a, b), address(a, b), weak(a, b), mother(a, b)]
}

/// Facts that make two records different persons whatever their scores: verified identity
/// documents of one system with different numbers (birth certificates included: one per child,
/// never reissued with a new number), or different birth orders of a multiple birth.
pub fn conflict(a: &Demographics, b: &Demographics) -> bool {
    let differs = |xs: &[String], ys: &[String], only: Option<&str>| {
        xs.iter().any(|x| {
            let system = x.split('|').next().unwrap_or("");
            only.is_none_or(|o| o == system) && ys.iter().any(|y| y.split('|').next() == Some(system) && y != x)
        })
    };
    differs(&a.strong, &b.strong, None)
        || differs(&a.weak, &b.weak, Some(crate::systems::BIRTH_CERTIFICATE))
        || matches!((a.multiple_birth, b.multiple_birth), (Some(x), Some(y)) if x != y)
}

fn name_level(a_text: &str, a_key: &str, b_text: &str, b_key: &str, chinese: bool) -> u8 {
    if a_key.is_empty() || b_key.is_empty() {
        return MISSING;
    }
    if a_text == b_text {
        return 0;
    }
    if a_key == b_key {
        return 1;
    }
    let similar = if chinese {
        let (x, y): (Vec<char>, Vec<char>) = (a_text.chars().collect(), b_text.chars().collect());
        let differing: Vec<(char, char)> = if x.len() == y.len() {
            x.iter().zip(&y).filter(|(p, q)| p != q).map(|(p, q)| (*p, *q)).collect()
        } else {
            Vec::new()
        };
        // One character replaced by a look-alike (天佑/夭佑) is a typo: as good as a homophone.
        if let [(p, q)] = differing.as_slice()
            && crate::names::look_alike(*p, *q)
        {
            return 1;
        }
        // One other character of a longer name replaced, or close pinyin.
        (differing.len() == 1 && x.len() >= 2) || jaro_winkler(a_key, b_key) >= 0.9
    } else {
        jaro_winkler(a_key, b_key) >= 0.85
    };
    if similar { 2 } else { 3 }
}

fn names(a: &Demographics, b: &Demographics) -> (u8, u8) {
    let chinese = a.chinese && b.chinese;
    let family = name_level(&a.family, &a.family_key, &b.family, &b.family_key, chinese);
    let given = name_level(&a.given, &a.given_key, &b.given, &b.given_key, chinese);
    // Surname and given name exchanged (common in Latin-script registrations).
    if family >= 2 && given >= 2 && !a.family_key.is_empty() && a.family_key == b.given_key && a.given_key == b.family_key {
        return (1, 1);
    }
    // The parts of a transliterated minority name in the other order (努尔兰·哈力木 / 哈力木·努尔兰):
    // the same characters, in a name too long to be a Han name.
    if chinese && family >= 2 {
        let sorted = |d: &Demographics| {
            let mut v: Vec<char> = d.family.chars().chain(d.given.chars()).collect();
            v.sort_unstable();
            v
        };
        let (x, y) = (sorted(a), sorted(b));
        if x.len() >= 4 && x == y {
            return (1, 1);
        }
    }
    (family, given)
}

fn birth(a: &Demographics, b: &Demographics) -> u8 {
    let (Some(x), Some(y)) = (a.birth, b.birth) else { return MISSING };
    if !x.is_full() || !y.is_full() {
        return if x.year == y.year && (x.month == 0 || y.month == 0 || x.month == y.month) { MISSING } else { 3 };
    }
    if x == y {
        0
    } else if x.swapped() == Some(y) {
        1
    } else if [x.year == y.year, x.month == y.month, x.day == y.day].iter().filter(|s| **s).count() == 2 {
        2
    } else {
        3
    }
}

fn sex(a: &Demographics, b: &Demographics) -> u8 {
    match (a.sex, b.sex) {
        (Some(x), Some(y)) => u8::from(x != y),
        _ => MISSING,
    }
}

fn phone(a: &Demographics, b: &Demographics) -> u8 {
    if a.phones.is_empty() || b.phones.is_empty() {
        return MISSING;
    }
    u8::from(!a.phones.iter().any(|p| b.phones.contains(p)))
}

fn address(a: &Demographics, b: &Demographics) -> u8 {
    let known = |d: &Demographics| !d.locality.is_empty() || !d.postal_code.is_empty() || !d.city.is_empty();
    if !known(a) || !known(b) {
        return MISSING;
    }
    let same = |x: &str, y: &str| !x.is_empty() && x == y;
    let locality = same(&a.locality, &b.locality) || same(&a.postal_code, &b.postal_code);
    let line = !a.line.is_empty() && !b.line.is_empty() && (a.line == b.line || jaro_winkler(&a.line, &b.line) >= 0.9);
    if locality && line {
        0
    } else if locality {
        1
    } else if same(&a.city, &b.city) {
        2
    } else {
        3
    }
}

fn weak(a: &Demographics, b: &Demographics) -> u8 {
    if a.weak.iter().any(|x| b.weak.contains(x)) {
        return 0;
    }
    let mut level = MISSING;
    for x in &a.weak {
        let (sx, vx) = x.split_once('|').unwrap_or(("", x));
        for y in &b.weak {
            let (sy, vy) = y.split_once('|').unwrap_or(("", y));
            if sx == sy {
                level = level.min(if one_typo_apart(vx, vy) { 1 } else { 2 });
            }
        }
    }
    level
}

/// One character replaced, or two neighbours exchanged.
fn one_typo_apart(a: &str, b: &str) -> bool {
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if x.len() != y.len() {
        return false;
    }
    let diff: Vec<usize> = (0..x.len()).filter(|&i| x[i] != y[i]).collect();
    match diff.as_slice() {
        [_] => true,
        [i, j] => *j == i + 1 && x[*i] == y[*j] && x[*j] == y[*i],
        _ => false,
    }
}

fn mother(a: &Demographics, b: &Demographics) -> u8 {
    if a.mother.is_empty() || b.mother.is_empty() {
        return MISSING;
    }
    u8::from(a.mother != b.mother)
}
