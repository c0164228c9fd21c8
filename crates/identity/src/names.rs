//! Personal names folded into one spelling for matching: full-width to half-width, traditional
//! to simplified (OpenCC's `t2s` tables), separators of minority names ("·", "•", "．") and
//! spaces removed, Latin letters lower-cased; and the pinyin of Chinese names, with the surname
//! read as a surname (单 is Shan, not Dan), so homophones such as 张伟/章伟 compare equal.

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;
use pinyin::ToPinyin;
use std::sync::OnceLock;

/// Two-character surnames, longest match first when splitting a name written as one string.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐", "西门",
    "南宫", "独孤", "端木", "万俟", "闻人", "轩辕", "申屠", "太史", "钟离", "澹台", "公冶", "濮阳", "淳于", "单于", "呼延",
    "司空", "第五",
];

/// Surname readings that differ from the character's common reading (`pinyin` gives the latter).
const SURNAME_READINGS: &[(&str, &str)] = &[
    ("单", "shan"),
    ("曾", "zeng"),
    ("解", "xie"),
    ("仇", "qiu"),
    ("区", "ou"),
    ("朴", "piao"),
    ("乐", "yue"),
    ("查", "zha"),
    ("盖", "ge"),
    ("任", "ren"),
    ("覃", "qin"),
    ("缪", "miao"),
    ("翟", "zhai"),
    ("柏", "bai"),
    ("秘", "bi"),
    ("繁", "po"),
    ("员", "yun"),
    ("句", "gou"),
    ("长孙", "zhangsun"),
    ("尉迟", "yuchi"),
    ("万俟", "moqi"),
    ("单于", "chanyu"),
    ("澹台", "tantai"),
    ("种", "chong"),
    ("召", "shao"),
    ("隗", "wei"),
    ("藏", "zang"),
    ("燕", "yan"),
    ("宿", "su"),
    ("尉", "yu"),
    ("华", "hua"),
    ("纪", "ji"),
    ("那", "na"),
    ("阚", "kan"),
    ("折", "she"),
    ("粘", "nian"),
    ("谌", "chen"),
];

/// Characters that separate the parts of a transliterated minority name, or are noise.
fn is_separator(c: char) -> bool {
    matches!(c, '·' | '•' | '．' | '.' | '・' | '‧' | '∙' | '-' | '_' | '\'' | ',' | '，' | '、') || c.is_whitespace()
}

fn t2s() -> &'static OpenCC {
    static T2S: OnceLock<OpenCC> = OnceLock::new();
    T2S.get_or_init(|| OpenCC::from_config(BuiltinConfig::T2s).expect("the built-in t2s configuration loads"))
}

/// Groups of characters that look alike (形近字), confused in handwriting, OCR and hurried typing
/// with a shape-based input method. A given name one character apart by such a pair is far
/// more likely a typo than a sibling.
const LOOK_ALIKE: &[&str] = &[
    "己已巳",
    "天夭",
    "国固圄",
    "怡恰洽",
    "宇字",
    "未末",
    "土士",
    "日曰",
    "戊戌戍",
    "王玉主",
    "干千于",
    "人入八",
    "大太犬",
    "贝见",
    "田由甲申",
    "刀力",
    "开井",
    "木术本",
    "问间",
    "晴睛",
    "辩辨瓣",
    "侯候",
    "拔拨",
    "余佘",
    "崇祟",
    "徒徙",
    "祇祗",
    "茵菌",
    "兔免",
    "乌鸟",
    "壁璧",
    "墨黑",
    "淼森",
    "鑫鍂",
    "玲铃",
    "琳淋",
    "婷停",
    "萍苹",
    "莹萤",
    "莉利",
    "浩皓",
    "涛祷",
    "彬杉",
    "斌赋",
    "昊吴",
    "旭加",
    "晨晟",
    "瑶谣",
    "瑜喻",
    "璐露",
    "睿壑",
    "祺棋",
    "秀委",
    "竣峻",
    "绮倚",
    "若苦",
    "菁箐",
    "蓉容",
    "雯雲",
    "霖森",
    "颖颍",
    "鹏朋",
    "龙尤",
    "丽丰",
    "佳桂",
    "俊後",
    "倩清",
    "勇男",
    "华毕",
    "卉开",
    "博傅",
    "娟涓",
];

/// Whether two characters look alike.
pub fn look_alike(a: char, b: char) -> bool {
    a != b && LOOK_ALIKE.iter().any(|g| g.contains(a) && g.contains(b))
}

/// Whether a character is a CJK ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// Full-width forms to their ASCII counterparts (U+FF01–U+FF5E, the ideographic space).
fn half_width(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// A name in its one matching spelling: half-width, simplified, no separators or spaces,
/// Latin letters lower-case.
pub fn fold(name: &str) -> String {
    let half: String = name.chars().map(half_width).filter(|c| !is_separator(*c)).collect();
    let simplified = if half.chars().any(is_han) { t2s().convert(&half) } else { half };
    simplified.chars().flat_map(char::to_lowercase).collect()
}

/// Whether a folded name is Chinese (has any ideograph).
pub fn is_chinese(folded: &str) -> bool {
    folded.chars().any(is_han)
}

/// Split a folded Chinese full name into surname and given name (compound surnames first).
pub fn split_chinese(folded: &str) -> (String, String) {
    if let Some(s) = COMPOUND_SURNAMES.iter().find(|s| folded.starts_with(**s) && folded.len() > s.len()) {
        return (s.to_string(), folded[s.len()..].to_string());
    }
    let mut chars = folded.chars();
    match chars.next() {
        Some(first) => (first.to_string(), chars.collect()),
        None => (String::new(), String::new()),
    }
}

/// Pinyin without tones, syllables run together; ü written `v` (as in passports' LYU/LU
/// ambiguity, both `lv`). Characters without a reading (Latin letters) pass through.
pub fn pinyin_of(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len() * 2);
    for (c, p) in folded.chars().zip(folded.to_pinyin()) {
        match p {
            Some(p) => out.push_str(p.plain()),
            None => out.push(c),
        }
    }
    out.replace('ü', "v")
}

/// The pinyin of a surname, read as a surname.
pub fn surname_pinyin(folded: &str) -> String {
    match SURNAME_READINGS.iter().find(|(s, _)| *s == folded) {
        Some((_, r)) => r.to_string(),
        None => match SURNAME_READINGS.iter().find(|(s, _)| s.chars().count() == 1 && folded.starts_with(*s)) {
            Some((s, r)) => format!("{r}{}", pinyin_of(&folded[s.len()..])),
            None => pinyin_of(folded),
        },
    }
}

/// Latin spellings that pinyin romanizes two ways (Lü as LYU, LU or LV).
pub fn fold_latin(s: &str) -> String {
    s.replace("lyu", "lv").replace("nyu", "nv")
}

/// The birth order a placeholder name carries ("李丽之子2": twins numbered at birth).
pub fn placeholder_order(folded: &str) -> Option<i32> {
    let digits: String = folded.chars().rev().take_while(char::is_ascii_digit).collect();
    let base = &folded[..folded.len() - digits.len()];
    if digits.is_empty() || !is_newborn_placeholder(base) {
        return None;
    }
    digits.chars().rev().collect::<String>().parse().ok()
}

/// Placeholder names hospitals give newborns before they are named ("李丽之子", "李丽之女2",
/// "婴儿").
pub fn is_newborn_placeholder(folded: &str) -> bool {
    let folded = folded.trim_end_matches(|c: char| c.is_ascii_digit() || "一二三甲乙丙大小".contains(c));
    folded.ends_with("之子")
        || folded.ends_with("之女")
        || folded.ends_with("之婴")
        || folded.ends_with("之儿")
        || folded.contains("婴儿")
        || folded.contains("新生儿")
        || folded == "baby"
        || ["babyof", "babyboy", "babygirl"].iter().any(|p| folded.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_script_and_separators() {
        assert_eq!(fold("張 偉"), "张伟");
        assert_eq!(fold("陳麗華"), "陈丽华");
        assert_eq!(fold("买买提·艾力"), "买买提艾力");
        assert_eq!(fold("买买提•艾力"), "买买提艾力");
        assert_eq!(fold("买买提．艾力"), "买买提艾力");
        assert_eq!(fold("ＺＨＡＮＧ　Ｗｅｉ"), "zhangwei");
        assert_eq!(fold("O'Brien"), "obrien");
    }

    #[test]
    fn homophones_share_pinyin() {
        assert_eq!(pinyin_of("张伟"), pinyin_of("章玮"));
        assert_eq!(pinyin_of("吕"), "lv");
        assert_ne!(pinyin_of("张伟"), pinyin_of("张强"));
    }

    #[test]
    fn surnames_read_as_surnames() {
        assert_eq!(surname_pinyin("单"), "shan");
        assert_eq!(surname_pinyin("曾"), "zeng");
        assert_eq!(surname_pinyin("尉迟"), "yuchi");
        assert_eq!(surname_pinyin("张"), "zhang");
        assert_eq!(split_chinese("欧阳娜娜"), ("欧阳".to_string(), "娜娜".to_string()));
        assert_eq!(split_chinese("王芳"), ("王".to_string(), "芳".to_string()));
    }

    #[test]
    fn placeholders_are_recognized() {
        assert!(is_newborn_placeholder("李丽之子"));
        assert!(is_newborn_placeholder("李丽之女2"));
        assert_eq!(placeholder_order("李丽之女2"), Some(2));
        assert_eq!(placeholder_order("李丽之女"), None);
        assert!(!is_newborn_placeholder("李子涵"));
        assert!(is_newborn_placeholder("babyofwang"));
        assert!(!is_newborn_placeholder("babyak"), "a surname, not a placeholder");
    }
}
