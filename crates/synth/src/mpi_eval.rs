//! A record-linkage evaluation set for the master patient index: true persons of Guangdong as
//! several institutions registered them, with the mistakes real registration desks make, and the
//! truth of who is who.
//!
//! The population is built to be hard. Common names repeat (several 陈伟 born the same year, the
//! same name and birth date in two cities); twins share surname, birth date, mother, address and
//! phone; newborns are registered as "<mother>之子" before they have a name or an ID number, under
//! their mother's phone, and some of those mothers are in the set themselves. Each person's first
//! registration is clean; every later one is corrupted independently, by the probabilities of
//! `CORRUPTIONS` below.
//!
//! Everything depends on `(persons, seed)` alone: institutions, each person and each person's
//! registrations have their own generator, and each institution's patient order is shuffled by
//! its own, so no link can be read from the order of lines or the numbering of local ids.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use rand::RngExt;
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};
use time::{Date, Month};
use tongdang_identity::gb11643::{self, InvalidNationalId, NationalId};
use tongdang_identity::systems;

use crate::data::{self, CITIES};
use crate::people;
use crate::util::{SynthRng, add_months, age_on, date_compact, date_of, jd, pick, pick_index, pick_weighted, sub_rng};

/// A mistake an institution can make when it registers a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Corruption {
    /// One name character replaced by one read alike (张/章, 伟/玮; 黄/王 in Cantonese).
    Homophone,
    /// One character of the given name replaced by one that looks alike (己/已, 宇/字).
    Lookalike,
    /// The whole name in traditional characters (张伟 → 張偉), as 港澳 patients and some systems write it.
    Traditional,
    /// Spaces in the name: ASCII or the full-width U+3000 between surname and given name, or a trailing one.
    Spacing,
    /// A minority name's middle dot written as •, ． or left out.
    Separator,
    /// Day and month of birth swapped.
    SwapDayMonth,
    /// Year of birth off by one.
    YearOff,
    /// No national ID number recorded.
    NoNationalId,
    /// One character of the national ID number mistyped, so that its check character fails.
    NationalIdTypo,
    /// No phone number recorded.
    PhoneMissing,
    /// Another phone number: the person has a new one.
    PhoneChanged,
    /// Another address: moved to another district of the same city or to another city.
    AddressChanged,
    /// No gender recorded.
    GenderMissing,
}

/// The probability of each corruption on a registration other than a person's first, among the
/// registrations it can apply to: name corruptions need a character with a homophone, lookalike
/// (given name only) or traditional form; the separator needs a minority name; a day–month swap
/// needs a day of at most 12 that differs from the month; a mistyped ID needs an ID still
/// recorded; a changed phone needs a phone still recorded. Rolled independently, in this order,
/// which must be the order of [`Corruption`].
const CORRUPTIONS: [(Corruption, f64); 13] = [
    (Corruption::Homophone, 0.06),
    (Corruption::Lookalike, 0.03),
    (Corruption::Traditional, 0.02),
    (Corruption::Spacing, 0.03),
    (Corruption::Separator, 0.40),
    (Corruption::SwapDayMonth, 0.03),
    (Corruption::YearOff, 0.02),
    (Corruption::NoNationalId, 0.30),
    (Corruption::NationalIdTypo, 0.03),
    (Corruption::PhoneMissing, 0.08),
    (Corruption::PhoneChanged, 0.12),
    (Corruption::AddressChanged, 0.10),
    (Corruption::GenderMissing, 0.01),
];

/// What kind of true person to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ordinary,
    TwinPair,
    Newborn,
    Minority,
    /// Same name and birth year as an earlier person, another birth date.
    SameNameYear,
    /// Same name and birth date as an earlier person, in the same city (half) or another.
    SameNameDate,
}

/// Kinds of true persons, per mille of draws. A twin draw makes two persons, so about 1% of persons
/// are twins; a fifth of twins are newborns too, so a little over 3% of persons are newborns.
const KINDS: &[(Kind, u32)] = &[
    (Kind::Ordinary, 940),
    (Kind::TwinPair, 5),
    (Kind::Newborn, 30),
    (Kind::Minority, 10),
    (Kind::SameNameYear, 10),
    (Kind::SameNameDate, 5),
];

/// Institutions a person is registered at (1 to 4), per cent.
const REGISTRATIONS: &[(usize, u32)] = &[(1, 35), (2, 35), (3, 20), (4, 10)];

/// Share of newborns and twins whose mother is herself a person of the set, when one fits.
const MOTHER_IN_SET: f64 = 0.5;

/// Independent generator streams of this module, apart from those of the province.
const STREAM_INSTITUTIONS: u64 = 101;
const STREAM_PERSON: u64 = 102;
const STREAM_REGISTRATIONS: u64 = 103;
const STREAM_ORDER: u64 = 104;

/// Characters read alike in Mandarin (黄/王: alike in Cantonese), confused when a name is said aloud
/// at the desk. Each character is in one group at most.
const HOMOPHONES: &str = "张章 伟玮炜韦 丽莉俪 明铭 华桦骅 杰洁 静婧 芳方 军君 敏闽 霞侠 勇咏 林琳霖 玲铃 \
    红虹宏洪 辉晖 峰锋 涛韬 斌彬 娟涓 燕艳 萍平 健建 俊骏 婷亭 欣新馨 怡仪宜 涵晗 轩萱宣 \
    浩昊 宇雨羽 琪琦淇 梓子紫 瑶遥 彤桐 晨辰 鹏朋 磊垒 志智 秀绣 英瑛 兰岚 珍真贞 梅玫 \
    慧惠蕙 佳嘉家 黄王 杨阳 肖萧 于余俞 徐许 江姜 邱丘秋 叶业 罗骆 韩寒 曾增 何和 卢芦庐 \
    周州舟 郑正 蔡菜 赵照兆 朱珠诸 胡湖 梁良 吴吾";

/// Characters that look alike, confused when a name is copied from handwriting or a blurred card.
const LOOKALIKES: &str = "己已巳 玉王 未末 土士 日曰 戌戍 晴睛 字宇 恰怡 风凤 苦若 呜鸣 恩思 估佑 毫豪 患惠 \
    喜嘉 柴紫 烧晓 绵锦 柄炳 跟根 友发 姝妹 全金 水永 固国 起超 品晶 择泽 哪娜 师帅 夭天 \
    太大 傅博 阴阳 萤莹 乒兵 兔免 侯候 淮准 冶治 入人";

/// Simplified characters and their traditional forms, only where the two differ.
const TRADITIONAL: &str = "张張 陈陳 刘劉 杨楊 黄黃 赵趙 吴吳 郑鄭 伟偉 丽麗 华華 国國 东東 红紅 军軍 邓鄧 叶葉 \
    罗羅 谢謝 冯馮 钟鍾 卢盧 许許 苏蘇 谭譚 孙孫 马馬 蒋蔣 陆陸 邹鄒 韩韓 吕呂 韦韋 龙龍 \
    严嚴 汤湯 龚龔 万萬 贾賈 贺賀 顾顧 钱錢 闫閆 欧歐 阳陽 萧蕭 强強 荣榮 辉輝 发發 权權 \
    卫衛 锦錦 汉漢 杰傑 涛濤 鹏鵬 晓曉 栋棟 轩軒 鸣鳴 泽澤 远遠 铭銘 兰蘭 凤鳳 带帶 亚亞 \
    静靜 艳艷 洁潔 诗詩 咏詠 乐樂 瑶瑤 悦悅 买買 尔爾 热熱 逊遜 麦麥 玮瑋 炜煒 骅驊 桦樺 \
    俪儷 闽閩 侠俠 铃鈴 晖暉 锋鋒 韬韜 骏駿 仪儀 遥遙 贞貞 岚嵐 绣繡 庐廬 芦蘆 诸諸 骆駱 \
    业業 宝寶 庆慶 长長 飞飛 凯凱 刚剛 进進 达達 贤賢 伦倫 兴興 琼瓊 莲蓮 娇嬌 颖穎 钰鈺 \
    银銀 宁寧 灵靈 韵韻 丰豐 礼禮 梦夢 云雲 义義 爱愛";

/// Names parents give twins: alike, sharing a character. Mixed pairs list the boy first.
const TWIN_BOYS: &[(&str, &str)] = &[
    ("子轩", "子豪"),
    ("浩然", "浩宇"),
    ("宇轩", "宇航"),
    ("梓豪", "梓轩"),
    ("俊熙", "俊宇"),
    ("嘉豪", "嘉俊"),
    ("一鸣", "一航"),
];
const TWIN_GIRLS: &[(&str, &str)] = &[
    ("诗涵", "诗琪"),
    ("欣怡", "欣悦"),
    ("雨桐", "雨欣"),
    ("佳怡", "佳琪"),
    ("思琪", "思雨"),
    ("梓涵", "梓萱"),
    ("若曦", "若瑶"),
];
const TWIN_MIXED: &[(&str, &str)] = &[
    ("子轩", "子涵"),
    ("梓轩", "梓涵"),
    ("浩然", "欣然"),
    ("思远", "思琪"),
    ("嘉豪", "嘉欣"),
    ("佳豪", "佳怡"),
    ("雨泽", "雨桐"),
];

/// Uyghur and Kazakh given names beyond the pairs of data.rs, so minority namesakes are not all alike.
const MINORITY_MALE_GIVEN: &[&str] =
    &["买买提", "艾尔肯", "阿布都拉", "努尔兰", "麦麦提", "艾力", "吐尔逊", "热合曼", "艾山", "阿迪力", "库尔班", "伊力哈木"];
const MINORITY_FEMALE_GIVEN: &[&str] =
    &["阿依古丽", "古丽娜尔", "热依拉", "迪娜拉", "帕提古丽", "古丽米拉", "阿依努尔", "再努尔", "米热古丽", "祖丽菲亚"];

/// Xinjiang area codes: minority residents of Guangdong mostly keep the ID numbers of home.
const XINJIANG_AREAS: &[u32] = &[650102, 650103, 653101, 652901, 654002, 652801];

const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157", "158", "159", "176",
    "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199",
];

const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";

/// A record-linkage evaluation set: Patients as several institutions registered them, with corruption, and the truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiEvalSet {
    /// (institution code, NDJSON lines of Patient resources) per institution.
    pub institutions: Vec<(String, Vec<String>)>,
    /// (source_system, source_id, true_entity) per Patient; a person's rows are consecutive, the clean registration first.
    pub truth: Vec<(String, String, u64)>,
}

/// Generate `persons` true persons (deterministic for `seed`), each registered at 1..=4 institutions.
pub fn mpi_eval_set(persons: usize, seed: u64) -> MpiEvalSet {
    generate(persons, seed).0
}

/// One institution of the set.
struct Inst {
    code: String,
    city: usize,
    /// The first local patient number.
    base: u32,
    /// Exports only `name.text`, not family and given names.
    text_only_name: bool,
    /// Does not capture the health code.
    omit_health_code: bool,
}

/// Where someone lives.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Home {
    city: usize,
    /// Index into the city's districts.
    district: usize,
    /// Road, number and flat.
    line: String,
}

impl Home {
    fn text(&self) -> String {
        let cd = &CITIES[self.city];
        format!("广东省{}{}{}", cd.city.label_zh(), cd.districts[self.district].name, self.line)
    }
}

/// A newborn's or a child twin's mother, as the child's record names her.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mother {
    name: String,
    phone: String,
}

/// A true person.
#[derive(Debug, Clone)]
struct Person {
    family: String,
    given: String,
    /// A minority name: given name first, then the father's name as the family name, joined by "·".
    minority: bool,
    male: bool,
    /// Julian day.
    birth: i32,
    national_id: Option<String>,
    health_code: Option<String>,
    /// Newborns and child twins: their mother's.
    phone: String,
    home: Home,
    mother: Option<Mother>,
    /// Birth order of a twin, 1 or 2.
    twin: Option<u8>,
    /// 出生医学证明 number; newborns, and only they, have one.
    birth_certificate: Option<String>,
}

impl Person {
    fn full_name(&self) -> String {
        if self.minority { format!("{}·{}", self.given, self.family) } else { format!("{}{}", self.family, self.given) }
    }
}

/// What a person is named and born as, before where they live and their numbers are drawn.
struct Who {
    family: String,
    given: String,
    minority: bool,
    male: bool,
    birth: i32,
    city: usize,
}

/// The population under construction, with what later persons may copy or refer to.
#[derive(Default)]
struct Population {
    persons: Vec<Person>,
    national_ids: HashSet<String>,
    certificates: HashSet<String>,
    phones: HashSet<String>,
    /// Women who could be a later child's mother: (index, birth).
    women: Vec<(usize, i32)>,
    /// Ordinary persons whose name a later person may share.
    namesakes: Vec<usize>,
}

/// The generator's "now", the same as the province's.
fn today() -> i32 {
    jd(crate::SynthConfig::default().today)
}

fn given_name(rng: &mut SynthRng, male: bool, birth: i32) -> String {
    (*pick(rng, people::given_pool(male, date_of(birth).year()))).to_owned()
}

fn surname(rng: &mut SynthRng) -> String {
    (*pick_weighted(rng, data::SURNAMES)).to_owned()
}

/// A home city: mostly one with an institution of the set, so people are seen near home.
fn home_city(rng: &mut SynthRng, insts: &[Inst]) -> usize {
    if rng.random_bool(0.75) { pick(rng, insts).city } else { people::sample_city(rng) }
}

fn home_in(rng: &mut SynthRng, city: usize) -> Home {
    let cd = &CITIES[city];
    let district = rng.random_range(0..cd.districts.len());
    let road = if !cd.roads.is_empty() && rng.random_bool(0.5) { *pick(rng, cd.roads) } else { *pick(rng, data::COMMON_ROADS) };
    let number = rng.random_range(1..600);
    let line = if rng.random_bool(0.6) {
        format!("{road}{number}号{}栋{}{:02}房", rng.random_range(1..12), rng.random_range(1..33), rng.random_range(1..9))
    } else {
        format!("{road}{number}号")
    };
    Home { city, district, line }
}

/// A home elsewhere: another district of the same city, or another city.
fn moved(rng: &mut SynthRng, from: &Home) -> Home {
    loop {
        let city = if rng.random_bool(0.7) { from.city } else { people::sample_city(rng) };
        let home = home_in(rng, city);
        if (home.city, home.district) != (from.city, from.district) {
            return home;
        }
    }
}

fn health_code(rng: &mut SynthRng) -> String {
    (0..4).map(|_| format!("{:016x}", rng.random::<u64>())).collect()
}

fn random_phone(rng: &mut SynthRng) -> String {
    format!("{}{:08}", pick(rng, PHONE_PREFIXES), rng.random_range(0..100_000_000u32))
}

/// The 18-character ID number of sequence `seq` (its parity gives the sex), if `seq` fits.
fn id_with_seq(area: u32, birth: i32, seq: u32) -> Option<String> {
    if seq > 999 {
        return None;
    }
    let first17 = format!("{area}{}{seq:03}", date_compact(date_of(birth)));
    gb11643::check_char(&first17).map(|c| format!("{first17}{c}"))
}

/// A random sequence number of the right parity: odd for men (GB 11643).
fn random_seq(rng: &mut SynthRng, male: bool) -> u32 {
    rng.random_range(0..100) * 10 + 2 * rng.random_range(0..5) + u32::from(male)
}

/// `id` with one character mistyped so that only its check character fails, as a desk would type it.
fn mistype(rng: &mut SynthRng, id: &str) -> String {
    loop {
        let mut b = id.as_bytes().to_vec();
        let pos = rng.random_range(0..b.len());
        let new = if pos == 17 { b"0123456789X"[rng.random_range(0..11)] } else { b'0' + rng.random_range(0..10u8) };
        if new == b[pos] {
            continue;
        }
        b[pos] = new;
        let s = String::from_utf8(b).unwrap_or_default();
        // A typo in the date could make an impossible date instead, a different kind of invalid.
        if NationalId::parse(&s) == Err(InvalidNationalId::Check) {
            return s;
        }
    }
}

impl Population {
    fn unique_phone(&mut self, rng: &mut SynthRng) -> String {
        loop {
            let phone = random_phone(rng);
            if self.phones.insert(phone.clone()) {
                return phone;
            }
        }
    }

    fn national_id(&mut self, rng: &mut SynthRng, area: u32, birth: i32, male: bool) -> String {
        loop {
            if let Some(id) = id_with_seq(area, birth, random_seq(rng, male))
                && self.national_ids.insert(id.clone())
            {
                return id;
            }
        }
    }

    fn birth_certificate(&mut self, rng: &mut SynthRng) -> String {
        loop {
            let letter = char::from(b"NOPQR"[rng.random_range(0..5)]);
            let cert = format!("{letter}44{:07}", rng.random_range(0..10_000_000u32));
            if self.certificates.insert(cert.clone()) {
                return cert;
            }
        }
    }

    /// Someone with an ID number, a health code and a phone of their own.
    fn resident(&mut self, rng: &mut SynthRng, who: Who) -> Person {
        let home = home_in(rng, who.city);
        let area = if who.minority && rng.random_bool(0.8) {
            *pick(rng, XINJIANG_AREAS)
        } else {
            CITIES[home.city].districts[home.district].code
        };
        let national_id = Some(self.national_id(rng, area, who.birth, who.male));
        let phone = self.unique_phone(rng);
        Person {
            family: who.family,
            given: who.given,
            minority: who.minority,
            male: who.male,
            birth: who.birth,
            national_id,
            health_code: Some(health_code(rng)),
            phone,
            home,
            mother: None,
            twin: None,
            birth_certificate: None,
        }
    }

    fn ordinary(&mut self, rng: &mut SynthRng, insts: &[Inst], today: i32) -> Person {
        let male = rng.random_bool(0.51);
        let birth = add_months(today, -12 * people::sample_age(rng)) - rng.random_range(0..365);
        let who = Who {
            family: surname(rng),
            given: given_name(rng, male, birth),
            minority: false,
            male,
            birth,
            city: home_city(rng, insts),
        };
        self.resident(rng, who)
    }

    fn minority(&mut self, rng: &mut SynthRng, insts: &[Inst], today: i32) -> Person {
        let male = rng.random_bool(0.5);
        let birth = add_months(today, -12 * people::sample_age(rng)) - rng.random_range(0..365);
        let (given, family) = if rng.random_bool(0.5) {
            *pick(rng, if male { data::MINORITY_MALE } else { data::MINORITY_FEMALE })
        } else {
            let given = *pick(rng, if male { MINORITY_MALE_GIVEN } else { MINORITY_FEMALE_GIVEN });
            // A son is seldom named after his father.
            let father = loop {
                let f = *pick(rng, MINORITY_MALE_GIVEN);
                if f != given {
                    break f;
                }
            };
            (given, father)
        };
        let who =
            Who { family: family.to_owned(), given: given.to_owned(), minority: true, male, birth, city: home_city(rng, insts) };
        self.resident(rng, who)
    }

    /// Shares the name and birth year (and so often the fashion of the name) of an earlier person.
    fn same_name_year(&mut self, rng: &mut SynthRng, insts: &[Inst], of: usize) -> Person {
        let o = &self.persons[of];
        let year = date_of(o.birth).year();
        let (first, last) = year_bounds(year);
        let birth = loop {
            let b = rng.random_range(first..=last);
            if b != o.birth {
                break b;
            }
        };
        let who = Who {
            family: o.family.clone(),
            given: o.given.clone(),
            minority: false,
            male: o.male,
            birth,
            city: home_city(rng, insts),
        };
        self.resident(rng, who)
    }

    /// Shares the name and birth date of an earlier person, and lives in the same city (half of
    /// them: the hardest case, only a phone and a street apart) or another one.
    fn same_name_date(&mut self, rng: &mut SynthRng, of: usize) -> Person {
        let o = &self.persons[of];
        let city = if rng.random_bool(0.5) {
            o.home.city
        } else {
            loop {
                let c = people::sample_city(rng);
                if c != o.home.city {
                    break c;
                }
            }
        };
        let who = Who { family: o.family.clone(), given: o.given.clone(), minority: false, male: o.male, birth: o.birth, city };
        self.resident(rng, who)
    }

    /// A mother for a child born on `birth`: a woman of the set of the right age when one is found, else someone new.
    fn mother(&mut self, rng: &mut SynthRng, insts: &[Inst], birth: i32) -> (Mother, Home, String) {
        let (oldest, youngest) = (add_months(birth, -12 * 42), add_months(birth, -12 * 20));
        if !self.women.is_empty() && rng.random_bool(MOTHER_IN_SET) {
            for _ in 0..12 {
                let (w, b) = *pick(rng, &self.women);
                if (oldest..=youngest).contains(&b) {
                    let m = &self.persons[w];
                    return (Mother { name: m.full_name(), phone: m.phone.clone() }, m.home.clone(), m.family.clone());
                }
            }
        }
        let mother_birth = rng.random_range(oldest..=youngest);
        let (family, given) = (surname(rng), given_name(rng, false, mother_birth));
        let city = home_city(rng, insts);
        let home = home_in(rng, city);
        let phone = self.unique_phone(rng);
        (Mother { name: format!("{family}{given}"), phone }, home, family)
    }

    /// A baby of this year: no ID number or health code yet, a birth certificate, the mother's phone.
    fn newborn(&mut self, rng: &mut SynthRng, insts: &[Inst], today: i32) -> Person {
        let male = rng.random_bool(0.51);
        let birth = today - rng.random_range(0..300);
        let (mother, home, mother_family) = self.mother(rng, insts, birth);
        // Most children take the father's surname, some the mother's.
        let family = if rng.random_bool(0.1) { mother_family } else { surname(rng) };
        // Parents do not give a daughter the mother's own given name.
        let given = loop {
            let g = given_name(rng, male, birth);
            if !mother.name.ends_with(&g) {
                break g;
            }
        };
        Person {
            family,
            given,
            minority: false,
            male,
            birth,
            national_id: None,
            health_code: None,
            phone: mother.phone.clone(),
            home,
            mother: Some(mother),
            twin: None,
            birth_certificate: Some(self.birth_certificate(rng)),
        }
    }

    /// Two children of one mother born the same day, with alike names and, past infancy, ID
    /// numbers that differ only in the sequence number.
    fn twins(&mut self, rng: &mut SynthRng, insts: &[Inst], today: i32) -> [Person; 2] {
        let newborn = rng.random_bool(0.2);
        let birth = if newborn {
            today - rng.random_range(0..300)
        } else {
            add_months(today, -12 * rng.random_range(1..13)) - rng.random_range(0..365)
        };
        let (mother, home, _) = self.mother(rng, insts, birth);
        let family = surname(rng);
        let sexes = *pick(rng, &[[true, true], [false, false], [true, false]]);
        let similar = rng.random_bool(0.7);
        let table = match sexes {
            [true, true] => TWIN_BOYS,
            [false, false] => TWIN_GIRLS,
            _ => TWIN_MIXED,
        };
        let (a, b) = loop {
            let (a, b) = if similar {
                let (a, b) = *pick(rng, table);
                (a.to_owned(), b.to_owned())
            } else {
                (given_name(rng, sexes[0], birth), given_name(rng, sexes[1], birth))
            };
            if a != b && !mother.name.ends_with(&a) && !mother.name.ends_with(&b) {
                break (a, b);
            }
        };
        let mut names = [(sexes[0], a), (sexes[1], b)];
        if rng.random_bool(0.5) {
            names.swap(0, 1);
        }
        let area = CITIES[home.city].districts[home.district].code;
        // Registered together, so the second sequence number is the next one of the right parity.
        let ids = if newborn {
            None
        } else {
            loop {
                let first = random_seq(rng, names[0].0);
                let second = first + if (first % 2 == 1) == names[1].0 { 2 } else { 1 };
                if let (Some(x), Some(y)) = (id_with_seq(area, birth, first), id_with_seq(area, birth, second))
                    && !self.national_ids.contains(&x)
                    && !self.national_ids.contains(&y)
                {
                    self.national_ids.insert(x.clone());
                    self.national_ids.insert(y.clone());
                    break Some([x, y]);
                }
            }
        };
        let mut make = |order: usize, rng: &mut SynthRng| {
            let (male, given) = names[order].clone();
            Person {
                family: family.clone(),
                given,
                minority: false,
                male,
                birth,
                national_id: ids.as_ref().map(|ids| ids[order].clone()),
                health_code: (!newborn).then(|| health_code(rng)),
                phone: mother.phone.clone(),
                home: home.clone(),
                mother: Some(mother.clone()),
                twin: Some(order as u8 + 1),
                birth_certificate: newborn.then(|| self.birth_certificate(rng)),
            }
        };
        let first = make(0, rng);
        [first, make(1, rng)]
    }

    fn add(&mut self, person: Person, kind: Kind, today: i32) {
        let i = self.persons.len();
        if kind == Kind::Ordinary {
            self.namesakes.push(i);
            // Whether she was of age when a child was born is checked against the child.
            if !person.male && age_on(person.birth, today) >= 20 {
                self.women.push((i, person.birth));
            }
        }
        self.persons.push(person);
    }
}

/// The first and last Julian day of `year`.
fn year_bounds(year: i32) -> (i32, i32) {
    let first = Date::from_calendar_date(year, Month::January, 1).map(jd).unwrap_or_default();
    let last = Date::from_calendar_date(year, Month::December, 31).map(jd).unwrap_or(first);
    (first, last)
}

fn population(persons: usize, seed: u64, insts: &[Inst], today: i32) -> Vec<Person> {
    let mut pop = Population::default();
    while pop.persons.len() < persons {
        let i = pop.persons.len();
        let mut rng = sub_rng(seed, STREAM_PERSON, i as u64, 0);
        let kind = *pick_weighted(&mut rng, KINDS);
        match kind {
            Kind::TwinPair if i + 1 < persons => {
                for twin in pop.twins(&mut rng, insts, today) {
                    pop.add(twin, kind, today);
                }
            }
            Kind::Newborn => {
                let p = pop.newborn(&mut rng, insts, today);
                pop.add(p, kind, today);
            }
            Kind::Minority => {
                let p = pop.minority(&mut rng, insts, today);
                pop.add(p, kind, today);
            }
            Kind::SameNameYear | Kind::SameNameDate if !pop.namesakes.is_empty() => {
                let of = *pick(&mut rng, &pop.namesakes);
                let p = if kind == Kind::SameNameYear {
                    pop.same_name_year(&mut rng, insts, of)
                } else {
                    pop.same_name_date(&mut rng, of)
                };
                pop.add(p, kind, today);
            }
            _ => {
                let p = pop.ordinary(&mut rng, insts, today);
                pop.add(p, Kind::Ordinary, today);
            }
        }
    }
    pop.persons
}

fn institutions(seed: u64) -> Vec<Inst> {
    let mut rng = sub_rng(seed, STREAM_INSTITUTIONS, 0, 0);
    let n = rng.random_range(6..=10);
    let mut codes = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let city = people::sample_city(&mut rng);
        // "44", the city part of its area code and a serial: 44010123 is in 广州.
        let code = format!("{}{:04}", CITIES[city].city.area_code() / 100, rng.random_range(0..10_000));
        if codes.insert(code.clone()) {
            out.push(Inst {
                code,
                city,
                base: rng.random_range(100_000..900_000),
                text_only_name: rng.random_bool(0.25),
                omit_health_code: rng.random_bool(0.2),
            });
        }
    }
    out
}

/// How a name is written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    /// Surname then given name.
    Han,
    /// Given name, separator, father's name.
    Minority,
    /// A newborn not yet named: the mother's name (in `given`) and 之子 or 之女 (in `suffix`).
    Placeholder,
}

#[derive(Debug, Clone)]
struct NameView {
    kind: NameKind,
    family: String,
    given: String,
    suffix: String,
    sep: &'static str,
    /// Which kind of stray space, if any.
    spacing: Option<u8>,
}

impl NameView {
    fn text(&self) -> String {
        let (a, joint, b) = match self.kind {
            NameKind::Han => (&self.family, "", &self.given),
            NameKind::Minority => (&self.given, self.sep, &self.family),
            NameKind::Placeholder => (&self.given, "", &self.suffix),
        };
        match self.spacing {
            None => format!("{a}{joint}{b}"),
            Some(0) if joint.is_empty() => format!("{a} {b}"),
            Some(0) => format!("{a} {joint} {b}"),
            Some(1) => format!("{a}\u{3000}{joint}{b}"),
            Some(_) => format!("{a}{joint}{b} "),
        }
    }

    /// The characters that have another in their group of `table`, as (in `given`, index).
    fn positions(&self, table: Table, given_only: bool) -> Vec<(bool, usize)> {
        let family = if given_only { "" } else { self.family.as_str() };
        let f = family.chars().enumerate().filter(|(_, c)| group(table, *c).is_some()).map(|(i, _)| (false, i));
        let g = self.given.chars().enumerate().filter(|(_, c)| group(table, *c).is_some()).map(|(i, _)| (true, i));
        f.chain(g).collect()
    }

    /// Replaces one of the characters of `table` by another of its group.
    fn substitute(&mut self, rng: &mut SynthRng, table: Table, given_only: bool) {
        let positions = self.positions(table, given_only);
        if positions.is_empty() {
            return;
        }
        let (in_given, i) = *pick(rng, &positions);
        let part = if in_given { &mut self.given } else { &mut self.family };
        let mut chars: Vec<char> = part.chars().collect();
        if let Some(g) = group(table, chars[i]) {
            let others: Vec<char> = g.chars().filter(|&c| c != chars[i]).collect();
            chars[i] = *pick(rng, &others);
        }
        *part = chars.into_iter().collect();
    }

    fn has_traditional(&self) -> bool {
        self.family.chars().chain(self.given.chars()).any(|c| traditional(c).is_some())
    }

    fn traditionalize(&mut self) {
        let map = |s: &str| s.chars().map(|c| traditional(c).unwrap_or(c)).collect::<String>();
        self.family = map(&self.family);
        self.given = map(&self.given);
    }
}

/// A table of groups of characters confused with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Homophones,
    Lookalikes,
}

/// The character tables indexed by character, built once: names are looked up on every registration.
struct Index {
    homophones: HashMap<char, &'static str>,
    lookalikes: HashMap<char, &'static str>,
    traditional: HashMap<char, char>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let groups = |table: &'static str| table.split_whitespace().flat_map(|g| g.chars().map(move |c| (c, g))).collect();
        Index { homophones: groups(HOMOPHONES), lookalikes: groups(LOOKALIKES), traditional: traditional_pairs().collect() }
    })
}

/// The group of `table` that holds `c`.
fn group(table: Table, c: char) -> Option<&'static str> {
    let index = index();
    let groups = match table {
        Table::Homophones => &index.homophones,
        Table::Lookalikes => &index.lookalikes,
    };
    groups.get(&c).copied()
}

/// The (simplified, traditional) pairs of [`TRADITIONAL`].
fn traditional_pairs() -> impl Iterator<Item = (char, char)> {
    TRADITIONAL.split_whitespace().filter_map(|pair| {
        let mut chars = pair.chars();
        Some((chars.next()?, chars.next()?))
    })
}

fn traditional(c: char) -> Option<char> {
    index().traditional.get(&c).copied()
}

/// A Patient as one institution holds it, before its local id is known.
#[derive(Debug, Clone)]
struct View {
    name: NameView,
    birth: (i32, u8, u8),
    male: Option<bool>,
    phone: Option<String>,
    national_id: Option<String>,
    birth_certificate: bool,
    home: Home,
}

struct Registration {
    person: usize,
    inst: usize,
    view: View,
}

/// The `order`-th registration of `p` (0: the clean one).
fn view(rng: &mut SynthRng, p: &Person, order: usize, today: i32) -> View {
    let d = date_of(p.birth);
    let mut name = NameView {
        kind: if p.minority { NameKind::Minority } else { NameKind::Han },
        family: p.family.clone(),
        given: p.given.clone(),
        suffix: String::new(),
        sep: "·",
        spacing: None,
    };
    let mut birth_certificate = false;
    if let (Some(_), Some(mother)) = (&p.birth_certificate, &p.mother) {
        // The birth hospital registers the baby before it is named; later desks mostly have a name.
        if rng.random_bool(if order == 0 { 0.75 } else { 0.15 }) {
            let child = if p.male { "子" } else { "女" };
            let suffix = p.twin.map_or_else(|| format!("之{child}"), |t| format!("之{child}{t}"));
            name = NameView { kind: NameKind::Placeholder, family: String::new(), given: mother.name.clone(), suffix, ..name };
        }
        birth_certificate = rng.random_bool(if order == 0 { 0.4 } else { 0.6 });
    }
    let mut v = View {
        name,
        birth: (d.year(), u8::from(d.month()), d.day()),
        male: Some(p.male),
        phone: Some(p.phone.clone()),
        national_id: p.national_id.clone(),
        birth_certificate,
        home: p.home.clone(),
    };
    if order > 0 {
        corrupt(rng, &mut v, today);
    }
    v
}

/// Applies each corruption of [`CORRUPTIONS`] that fits, with its probability.
fn corrupt(rng: &mut SynthRng, v: &mut View, today: i32) {
    // Name corruptions are judged on the name as it was, so later ones do not change the odds of earlier ones.
    let homophone = !v.name.positions(Table::Homophones, false).is_empty();
    let lookalike = v.name.kind != NameKind::Placeholder && !v.name.positions(Table::Lookalikes, true).is_empty();
    let trad = v.name.has_traditional();
    for (c, p) in CORRUPTIONS {
        let (y, m, d) = v.birth;
        let eligible = match c {
            Corruption::Homophone => homophone,
            Corruption::Lookalike => lookalike,
            Corruption::Traditional => trad,
            Corruption::Spacing => true,
            Corruption::Separator => v.name.kind == NameKind::Minority,
            Corruption::SwapDayMonth => d <= 12 && d != m,
            Corruption::YearOff => true,
            Corruption::NoNationalId | Corruption::NationalIdTypo => v.national_id.is_some(),
            Corruption::PhoneMissing => true,
            Corruption::PhoneChanged => v.phone.is_some(),
            Corruption::AddressChanged => true,
            Corruption::GenderMissing => true,
        };
        if !eligible || !rng.random_bool(p) {
            continue;
        }
        match c {
            Corruption::Homophone => v.name.substitute(rng, Table::Homophones, false),
            Corruption::Lookalike => v.name.substitute(rng, Table::Lookalikes, true),
            Corruption::Traditional => v.name.traditionalize(),
            Corruption::Spacing => v.name.spacing = Some(rng.random_range(0..3)),
            Corruption::Separator => v.name.sep = *pick(rng, &["•", "．", ""]),
            Corruption::SwapDayMonth => v.birth = (y, d, m),
            Corruption::YearOff => {
                let month = Month::try_from(m).unwrap_or(Month::January);
                // 29 February has no counterpart in a common year.
                let on = |year: i32| Date::from_calendar_date(year, month, d.min(month.length(year))).map(jd).unwrap_or(today);
                // A year later would put a recent birth in the future, where any desk would notice.
                let year = if rng.random_bool(0.5) && on(y + 1) <= today { y + 1 } else { y - 1 };
                v.birth = (year, m, d.min(month.length(year)));
            }
            Corruption::NoNationalId => v.national_id = None,
            Corruption::NationalIdTypo => v.national_id = v.national_id.as_deref().map(|id| mistype(rng, id)),
            Corruption::PhoneMissing => v.phone = None,
            Corruption::PhoneChanged => {
                v.phone = Some(loop {
                    let phone = random_phone(rng);
                    if v.phone.as_ref() != Some(&phone) {
                        break phone;
                    }
                })
            }
            Corruption::AddressChanged => v.home = moved(rng, &v.home),
            Corruption::GenderMissing => v.male = None,
        }
    }
}

/// The Patient line, shaped as [`crate::emit::Emitter::patient`] shapes it, `resourceType` and `id` first.
fn patient_line(inst: &Inst, local_id: &str, p: &Person, v: &View) -> String {
    let mut identifier = vec![json!({
        "use": "usual",
        "type": { "coding": [{ "system": V2_0203, "code": "MR", "display": "Medical record number" }], "text": "院内患者号" },
        "system": systems::local_patient_system(&inst.code),
        "value": local_id,
    })];
    if let Some(id) = &v.national_id {
        identifier.push(json!({
            "use": "official",
            "type": { "coding": [{ "system": V2_0203, "code": "NI", "display": "National unique individual identifier" }], "text": "居民身份证" },
            "system": systems::NATIONAL_ID,
            "value": id,
        }));
    }
    if v.birth_certificate
        && let Some(cert) = &p.birth_certificate
    {
        identifier.push(json!({ "type": { "text": "出生医学证明" }, "system": systems::BIRTH_CERTIFICATE, "value": cert }));
    }
    if !inst.omit_health_code
        && let Some(code) = &p.health_code
    {
        identifier.push(json!({ "type": { "text": "居民电子健康码" }, "system": systems::HEALTH_CODE, "value": code }));
    }
    let text = v.name.text();
    let name = if inst.text_only_name || v.name.kind == NameKind::Placeholder {
        json!([{ "use": "official", "text": text }])
    } else {
        json!([{ "use": "official", "text": text, "family": v.name.family, "given": [v.name.given] }])
    };
    let cd = &CITIES[v.home.city];
    let mut m = Map::new();
    m.insert("identifier".into(), Value::Array(identifier));
    m.insert("active".into(), Value::Bool(true));
    m.insert("name".into(), name);
    if let Some(phone) = &v.phone {
        m.insert("telecom".into(), json!([{ "system": "phone", "value": phone, "use": "mobile" }]));
    }
    if let Some(male) = v.male {
        m.insert("gender".into(), json!(if male { "male" } else { "female" }));
    }
    let (y, mo, d) = v.birth;
    m.insert("birthDate".into(), json!(format!("{y:04}-{mo:02}-{d:02}")));
    if let Some(order) = p.twin {
        m.insert("multipleBirthInteger".into(), json!(order));
    }
    m.insert(
        "address".into(),
        json!([{
            "use": "home",
            "type": "physical",
            "text": v.home.text(),
            "line": [v.home.line],
            "city": cd.city.label_zh(),
            "district": cd.districts[v.home.district].name,
            "state": "广东省",
            "country": "CN",
        }]),
    );
    if let Some(mother) = &p.mother {
        m.insert(
            "contact".into(),
            json!([{
                "relationship": [{ "coding": [{ "system": ROLE_CODE, "code": "MTH", "display": "mother" }] }],
                "name": { "text": mother.name },
                "telecom": [{ "system": "phone", "value": mother.phone }],
            }]),
        );
    }
    let rest = serde_json::to_string(&Value::Object(m)).unwrap_or_default();
    format!("{{\"resourceType\":\"Patient\",\"id\":{},{}", Value::String(local_id.to_owned()), &rest[1..])
}

/// The set and the true persons behind it.
fn generate(persons: usize, seed: u64) -> (MpiEvalSet, Vec<Person>) {
    let today = today();
    let insts = institutions(seed);
    let people = population(persons, seed, &insts, today);
    let mut regs = Vec::with_capacity(persons * 2);
    for (i, p) in people.iter().enumerate() {
        let mut rng = sub_rng(seed, STREAM_REGISTRATIONS, i as u64, 0);
        let n = *pick_weighted(&mut rng, REGISTRATIONS);
        // People are mostly seen near home.
        let mut weights: Vec<f64> = insts.iter().map(|s| if s.city == p.home.city { 4.0 } else { 1.0 }).collect();
        for order in 0..n {
            let Some(inst) = pick_index(&mut rng, &weights) else { break };
            weights[inst] = 0.0;
            regs.push(Registration { person: i, inst, view: view(&mut rng, p, order, today) });
        }
    }

    let mut per_inst: Vec<Vec<usize>> = vec![Vec::new(); insts.len()];
    for (r, reg) in regs.iter().enumerate() {
        per_inst[reg.inst].push(r);
    }
    let mut local_ids = vec![String::new(); regs.len()];
    let mut institutions = Vec::with_capacity(insts.len());
    for (s, list) in per_inst.iter_mut().enumerate() {
        let inst = &insts[s];
        let mut rng = sub_rng(seed, STREAM_ORDER, s as u64, 0);
        // A desk's order says nothing about other desks', so the order of lines cannot give links away.
        list.shuffle(&mut rng);
        let mut lines = Vec::with_capacity(list.len());
        for (k, &r) in list.iter().enumerate() {
            // Numbers grow with registration but are not consecutive.
            let local_id = format!("P{}", inst.base + 3 * k as u32 + rng.random_range(0..3));
            let reg = &regs[r];
            lines.push(patient_line(inst, &local_id, &people[reg.person], &reg.view));
            local_ids[r] = local_id;
        }
        institutions.push((inst.code.clone(), lines));
    }
    let source_systems: Vec<String> = insts.iter().map(|s| systems::local_patient_system(&s.code)).collect();
    let truth = regs.iter().zip(local_ids).map(|(reg, id)| (source_systems[reg.inst].clone(), id, reg.person as u64)).collect();
    (MpiEvalSet { institutions, truth }, people)
}

#[cfg(test)]
mod tests {
    use tongdang_identity::names;

    use super::*;

    /// Each person's Patients, the clean registration first, with the person behind them.
    fn by_person(persons: usize, seed: u64) -> (MpiEvalSet, Vec<(Person, Vec<Value>)>) {
        let (set, people) = generate(persons, seed);
        let mut patients: HashMap<(String, String), Value> = HashMap::new();
        for (code, lines) in &set.institutions {
            let system = systems::local_patient_system(code);
            for line in lines {
                let v: Value = serde_json::from_str(line).unwrap();
                let id = v["id"].as_str().unwrap().to_owned();
                assert!(patients.insert((system.clone(), id), v).is_none(), "local ids are unique within an institution");
            }
        }
        let mut out: Vec<(Person, Vec<Value>)> = people.into_iter().map(|p| (p, Vec::new())).collect();
        for (system, id, entity) in &set.truth {
            let v = patients.remove(&(system.clone(), id.clone())).expect("every truth row names a Patient");
            out[*entity as usize].1.push(v);
        }
        assert!(patients.is_empty(), "every Patient has a truth row");
        (set, out)
    }

    fn identifier<'a>(p: &'a Value, system: &str) -> Option<&'a str> {
        p["identifier"].as_array()?.iter().find(|i| i["system"] == system)?["value"].as_str()
    }

    fn text(p: &Value) -> &str {
        p["name"][0]["text"].as_str().unwrap()
    }

    fn phone(p: &Value) -> Option<&str> {
        p["telecom"][0]["value"].as_str()
    }

    fn simplified(c: char) -> char {
        traditional_pairs().find(|&(_, t)| t == c).map_or(c, |(s, _)| s)
    }

    /// The name's characters in simplified form, without spaces or separators.
    fn bare(name: &str) -> Vec<char> {
        name.chars().filter(|c| !matches!(c, ' ' | '\u{3000}' | '·' | '•' | '．')).map(simplified).collect()
    }

    #[test]
    fn same_seed_same_set_and_another_seed_another() {
        let a = mpi_eval_set(300, 7);
        assert_eq!(a, mpi_eval_set(300, 7));
        assert_ne!(a, mpi_eval_set(300, 8));
        assert!(mpi_eval_set(0, 7).truth.is_empty());
    }

    #[test]
    fn every_line_is_a_patient_with_one_truth_row() {
        let persons = 2000;
        let (set, people) = by_person(persons, 11);
        assert!((6..=10).contains(&set.institutions.len()));
        let lines: usize = set.institutions.iter().map(|(_, l)| l.len()).sum();
        assert_eq!(set.truth.len(), lines);
        assert_eq!(people.len(), persons);
        for (code, _) in &set.institutions {
            assert!(code.len() == 8 && code.starts_with("44") && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
        for (person, patients) in &people {
            assert!((1..=4).contains(&patients.len()));
            let systems: HashSet<&str> = patients.iter().map(|p| p["identifier"][0]["system"].as_str().unwrap()).collect();
            assert_eq!(systems.len(), patients.len(), "one registration per institution");
            for p in patients {
                assert_eq!(p["resourceType"], "Patient");
                assert!(p["id"].as_str().unwrap().starts_with('P'));
                assert_eq!(p["identifier"][0]["value"], p["id"]);
                assert_eq!(p["name"][0]["use"], "official");
                assert!(!text(p).trim().is_empty());
                assert!(p.get("gender").is_none_or(|g| g == "male" || g == "female"));
                assert_eq!(p["birthDate"].as_str().unwrap().len(), 10);
                assert_eq!(p["address"][0]["state"], "广东省");
                assert_eq!(p["address"][0]["country"], "CN");
                assert!(phone(p).is_none_or(|t| t.len() == 11 && t.bytes().all(|b| b.is_ascii_digit())));
                if let Some(code) = identifier(p, systems::HEALTH_CODE) {
                    assert!(code.len() == 64 && code.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
                }
                if let Some(cert) = identifier(p, systems::BIRTH_CERTIFICATE) {
                    assert!(
                        cert.len() == 10
                            && cert.as_bytes()[0].is_ascii_uppercase()
                            && cert[1..].bytes().all(|b| b.is_ascii_digit())
                    );
                }
                assert_eq!(p.get("multipleBirthInteger").is_some(), person.twin.is_some());
            }
        }
        // 1.55 true pairs per person on average.
        let pairs: usize = people.iter().map(|(_, p)| p.len() * (p.len() - 1) / 2).sum();
        assert!((2400..3800).contains(&pairs), "{pairs}");
    }

    #[test]
    fn national_ids_are_valid_unless_mistyped_on_purpose() {
        let (_, people) = by_person(3000, 12);
        let (mut checked, mut mistyped) = (0, 0);
        for (person, patients) in &people {
            let clean = &patients[0];
            let Some(id) = identifier(clean, systems::NATIONAL_ID) else {
                assert!(person.national_id.is_none(), "the clean registration keeps the ID number");
                continue;
            };
            let parsed = NationalId::parse(id).unwrap();
            assert_eq!(parsed.birth_date(), clean["birthDate"].as_str().unwrap());
            assert_eq!(parsed.is_male(), clean["gender"] == "male");
            checked += 1;
            for p in &patients[1..] {
                match identifier(p, systems::NATIONAL_ID) {
                    Some(other) if other == id => {}
                    Some(other) => {
                        assert_eq!(NationalId::parse(other), Err(InvalidNationalId::Check), "{other}");
                        mistyped += 1;
                    }
                    None => {}
                }
            }
        }
        assert!(checked > 2500 && mistyped > 10, "{checked} {mistyped}");
    }

    #[test]
    fn twins_share_birth_mother_home_and_phone_but_not_given_name() {
        let (_, people) = by_person(5000, 13);
        let twins: Vec<&(Person, Vec<Value>)> = people.iter().filter(|(p, _)| p.twin.is_some()).collect();
        assert!((30..=80).contains(&twins.len()), "{}", twins.len());
        for pair in people.windows(2) {
            let [(a, pa), (b, pb)] = pair else { unreachable!() };
            if a.twin != Some(1) {
                continue;
            }
            assert_eq!(b.twin, Some(2));
            assert_eq!((&a.family, a.birth, &a.mother, &a.home, &a.phone), (&b.family, b.birth, &b.mother, &b.home, &b.phone));
            assert_ne!(a.given, b.given);
            assert!(pa.iter().all(|p| p["multipleBirthInteger"] == 1) && pb.iter().all(|p| p["multipleBirthInteger"] == 2));
            assert!(pa.iter().chain(pb).all(|p| p["contact"][0]["relationship"][0]["coding"][0]["code"] == "MTH"));
            if let (Some(x), Some(y)) = (&a.national_id, &b.national_id) {
                assert_eq!(x[..14], y[..14], "same area and birth date, consecutive sequence numbers");
            }
        }
    }

    #[test]
    fn newborns_have_no_numbers_but_a_mother_and_often_a_placeholder_name() {
        let persons = 5000;
        let (_, people) = by_person(persons, 14);
        let newborns: Vec<&(Person, Vec<Value>)> = people.iter().filter(|(p, _)| p.birth_certificate.is_some()).collect();
        let share = newborns.len() as f64 / persons as f64;
        assert!((0.02..0.045).contains(&share), "{share}");
        let (mut placeholders, mut named, mut certificates, mut in_set) = (0, 0, 0, 0);
        let phones: HashSet<&str> = people.iter().filter(|(p, _)| p.mother.is_none()).map(|(p, _)| p.phone.as_str()).collect();
        for (person, patients) in &newborns {
            let mother = person.mother.as_ref().unwrap();
            in_set += usize::from(phones.contains(mother.phone.as_str()));
            for p in patients.iter() {
                assert!(identifier(p, systems::NATIONAL_ID).is_none() && identifier(p, systems::HEALTH_CODE).is_none());
                certificates += usize::from(identifier(p, systems::BIRTH_CERTIFICATE).is_some());
                let contact = &p["contact"][0];
                assert_eq!(contact["relationship"][0]["coding"][0]["code"], "MTH");
                assert_eq!(contact["telecom"][0]["value"], mother.phone.as_str());
                assert_eq!(contact["name"]["text"], mother.name.as_str());
                if names::is_newborn_placeholder(&names::fold(text(p))) || text(p).contains('之') {
                    placeholders += 1;
                } else {
                    named += 1;
                }
            }
            assert_eq!(phone(&patients[0]), Some(mother.phone.as_str()), "a newborn is reached through the mother");
        }
        assert!(placeholders > 50 && named > 50 && certificates > 50, "{placeholders} {named} {certificates}");
        assert!(in_set > 20, "some mothers are in the set: {in_set}");
    }

    #[test]
    fn hard_negatives_exist() {
        let (_, people) = by_person(5000, 15);
        let mut by_name_year: HashMap<(String, i32), Vec<usize>> = HashMap::new();
        let mut by_name_date: HashMap<(String, i32), Vec<usize>> = HashMap::new();
        for (i, (p, _)) in people.iter().enumerate() {
            by_name_year.entry((p.full_name(), date_of(p.birth).year())).or_default().push(i);
            by_name_date.entry((p.full_name(), p.birth)).or_default().push(i);
        }
        let same_year = by_name_year.values().filter(|v| v.len() > 1).count();
        let namesakes: Vec<&Vec<usize>> = by_name_date.values().filter(|v| v.len() > 1).collect();
        let other_city =
            namesakes.iter().filter(|v| v.iter().any(|&i| people[i].0.home.city != people[v[0]].0.home.city)).count();
        let same_city =
            namesakes.iter().filter(|v| v.iter().skip(1).any(|&i| people[i].0.home.city == people[v[0]].0.home.city)).count();
        assert!(same_year > 50 && other_city > 5 && same_city > 5, "{same_year} {other_city} {same_city}");
        let minority: Vec<_> = people.iter().filter(|(p, _)| p.minority).collect();
        assert!((25..=80).contains(&minority.len()), "{}", minority.len());
        assert!(minority.iter().all(|(_, ps)| text(&ps[0]).contains('·')));
        assert!(minority.iter().flat_map(|(_, ps)| ps).any(|p| !text(p).contains('·')), "some separators are mangled");
    }

    #[test]
    fn corruption_shares_follow_the_table() {
        let (_, people) = by_person(5000, 16);
        let mut applied = [0usize; CORRUPTIONS.len()];
        let mut eligible = [0usize; CORRUPTIONS.len()];
        let mut count = |c: Corruption, is_eligible: bool, is_applied: bool| {
            if is_eligible {
                eligible[c as usize] += 1;
                applied[c as usize] += usize::from(is_applied);
            }
        };
        for (person, patients) in &people {
            // Newborns change names between registrations, so only the others say which name corruptions happened.
            if person.birth_certificate.is_some() {
                continue;
            }
            let clean = &patients[0];
            let clean_name = bare(text(clean));
            let date = |p: &Value| -> (String, String, String) {
                let s = p["birthDate"].as_str().unwrap();
                (s[..4].to_owned(), s[5..7].to_owned(), s[8..].to_owned())
            };
            let (y, m, d) = date(clean);
            let day: u8 = d.parse().unwrap();
            let month: u8 = m.parse().unwrap();
            for p in &patients[1..] {
                let name = bare(text(p));
                assert_eq!(name.len(), clean_name.len(), "{} {}", text(clean), text(p));
                let diffs: Vec<(char, char)> =
                    clean_name.iter().zip(&name).filter(|(a, b)| a != b).map(|(a, b)| (*a, *b)).collect();
                let same_group = |table: Table, (a, b): (char, char)| group(table, a).is_some_and(|g| g.contains(b));
                count(
                    Corruption::Homophone,
                    clean_name.iter().any(|&c| group(Table::Homophones, c).is_some()),
                    diffs.iter().any(|&x| same_group(Table::Homophones, x)),
                );
                count(
                    Corruption::Lookalike,
                    person.given.chars().any(|c| group(Table::Lookalikes, c).is_some()),
                    diffs.iter().any(|&x| same_group(Table::Lookalikes, x)),
                );
                count(
                    Corruption::Traditional,
                    clean_name.iter().any(|&c| traditional(c).is_some()),
                    text(p).chars().any(|c| simplified(c) != c),
                );
                count(Corruption::Spacing, true, text(p).contains([' ', '\u{3000}']));
                count(Corruption::Separator, person.minority, !text(p).contains('·'));
                let (y2, m2, d2) = date(p);
                count(
                    Corruption::SwapDayMonth,
                    day <= 12 && day != month,
                    (m2.as_str(), d2.as_str()) == (d.as_str(), m.as_str()),
                );
                count(Corruption::YearOff, true, y2 != y);
                let id = identifier(p, systems::NATIONAL_ID);
                count(Corruption::NoNationalId, person.national_id.is_some(), id.is_none());
                count(Corruption::NationalIdTypo, id.is_some(), id != person.national_id.as_deref());
                count(Corruption::PhoneMissing, true, phone(p).is_none());
                count(Corruption::PhoneChanged, phone(p).is_some(), phone(p) != Some(person.phone.as_str()));
                count(Corruption::AddressChanged, true, p["address"][0]["text"] != clean["address"][0]["text"]);
                count(Corruption::GenderMissing, true, p.get("gender").is_none());
            }
        }
        for (c, p) in CORRUPTIONS {
            let (n, k) = (eligible[c as usize], applied[c as usize]);
            assert!(n >= 40, "{c:?}: only {n} registrations could have it");
            let share = k as f64 / n as f64;
            let tolerance = 4.0 * (p * (1.0 - p) / n as f64).sqrt() + 0.005;
            assert!((share - p).abs() <= tolerance, "{c:?}: {k} of {n} = {share:.4}, configured {p}");
        }
    }

    #[test]
    fn character_tables_are_sound() {
        for (i, (c, _)) in CORRUPTIONS.iter().enumerate() {
            assert_eq!(*c as usize, i, "the table follows the enum");
        }
        for table in [HOMOPHONES, LOOKALIKES] {
            let mut seen = HashSet::new();
            for g in table.split_whitespace() {
                assert!(g.chars().count() >= 2, "{g}");
                for c in g.chars() {
                    assert!(seen.insert(c), "{c} is in two groups");
                }
            }
        }
        let pairs = |table: &str| table.split_whitespace().map(|g| g.chars().count()).map(|n| n * (n - 1) / 2).sum::<usize>();
        assert!(pairs(HOMOPHONES) >= 40 && pairs(LOOKALIKES) >= 15);
        assert!(TRADITIONAL.split_whitespace().all(|p| p.chars().count() == 2));
        let n = TRADITIONAL.split_whitespace().count();
        assert!(n >= 60);
        let simple: HashSet<char> = traditional_pairs().map(|(s, _)| s).collect();
        let trad: HashSet<char> = traditional_pairs().map(|(_, t)| t).collect();
        assert_eq!((simple.len(), trad.len()), (n, n));
        assert!(simple.is_disjoint(&trad));
        for (s, t) in traditional_pairs() {
            // The platform folds names with OpenCC's t2s; every traditional form here must fold back.
            assert_eq!(names::fold(&t.to_string()), s.to_string(), "{t}");
        }
        // Mistyped ID numbers fail only their check character.
        let mut rng = sub_rng(1, 2, 3, 4);
        let id = id_with_seq(440106, jd(time::macros::date!(1990 - 03 - 07)), 123).unwrap();
        for _ in 0..200 {
            assert_eq!(NationalId::parse(&mistype(&mut rng, &id)), Err(InvalidNationalId::Check));
        }
    }
}
