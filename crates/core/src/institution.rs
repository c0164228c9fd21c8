//! Institutions (数源单位): the registry of data sources and what an API key may do.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A value outside a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}; expected one of: {allowed}")]
pub struct UnknownValue {
    pub(crate) what: &'static str,
    pub(crate) allowed: String,
}

vocabulary!(
    /// Guangdong's 21 prefecture-level cities.
    City {
        Guangzhou = ("guangzhou", "广州市"),
        Shaoguan = ("shaoguan", "韶关市"),
        Shenzhen = ("shenzhen", "深圳市"),
        Zhuhai = ("zhuhai", "珠海市"),
        Shantou = ("shantou", "汕头市"),
        Foshan = ("foshan", "佛山市"),
        Jiangmen = ("jiangmen", "江门市"),
        Zhanjiang = ("zhanjiang", "湛江市"),
        Maoming = ("maoming", "茂名市"),
        Zhaoqing = ("zhaoqing", "肇庆市"),
        Huizhou = ("huizhou", "惠州市"),
        Meizhou = ("meizhou", "梅州市"),
        Shanwei = ("shanwei", "汕尾市"),
        Heyuan = ("heyuan", "河源市"),
        Yangjiang = ("yangjiang", "阳江市"),
        Qingyuan = ("qingyuan", "清远市"),
        Dongguan = ("dongguan", "东莞市"),
        Zhongshan = ("zhongshan", "中山市"),
        Chaozhou = ("chaozhou", "潮州市"),
        Jieyang = ("jieyang", "揭阳市"),
        Yunfu = ("yunfu", "云浮市"),
    }
);

impl City {
    /// The GB/T 2260 area code of the city (e.g. 440100 for 广州市).
    pub fn area_code(self) -> u32 {
        match self {
            City::Guangzhou => 440100,
            City::Shaoguan => 440200,
            City::Shenzhen => 440300,
            City::Zhuhai => 440400,
            City::Shantou => 440500,
            City::Foshan => 440600,
            City::Jiangmen => 440700,
            City::Zhanjiang => 440800,
            City::Maoming => 440900,
            City::Zhaoqing => 441200,
            City::Huizhou => 441300,
            City::Meizhou => 441400,
            City::Shanwei => 441500,
            City::Heyuan => 441600,
            City::Yangjiang => 441700,
            City::Qingyuan => 441800,
            City::Dongguan => 441900,
            City::Zhongshan => 442000,
            City::Chaozhou => 445100,
            City::Jieyang => 445200,
            City::Yunfu => 445300,
        }
    }
}

vocabulary!(
    /// Hospital grade (医院等级).
    Level {
        /// 三级甲等
        TertiaryA = ("tertiary_a", "三级甲等"),
        /// 三级
        Tertiary = ("tertiary", "三级"),
        /// 二级
        Secondary = ("secondary", "二级"),
        /// 一级 and primary care (基层)
        Primary = ("primary", "一级/基层"),
    }
);

vocabulary!(
    /// Public or private ownership.
    Ownership {
        Public = ("public", "公立"),
        Private = ("private", "民营"),
    }
);

vocabulary!(
    /// What kind of data source an institution is.
    InstitutionKind {
        Hospital = ("hospital", "医院"),
        PublicHealth = ("public_health", "公共卫生系统"),
        BloodCentre = ("blood_centre", "血液中心"),
        ExamCentre = ("exam_centre", "体检中心"),
        /// The provincial platform itself: its operators run the patient index.
        ProvincialPlatform = ("provincial_platform", "省级平台"),
        /// An appointment-booking platform (预约挂号平台): posts appointments with the resident's
        /// consent for the institutions of its city.
        BookingPlatform = ("booking_platform", "预约挂号平台"),
        /// A city's health-information platform (市级平台). In fused mode it submits for the
        /// member institutions that connect through it (`via_city_platform`).
        CityPlatform = ("city_platform", "市级平台"),
    }
);

vocabulary!(
    /// How an institution's data reaches the province.
    ConnectionMode {
        /// The institution connects to the provincial platform itself.
        Direct = ("direct", "直连"),
        /// Through its city's sharing platform.
        ViaCityPlatform = ("via_city_platform", "经市级平台"),
    }
);

vocabulary!(
    /// What an API key allows.
    Scope {
        /// Submit data.
        Submit = ("submit", "上传"),
        /// Read records (gated further by the access policy).
        Read = ("read", "调阅"),
        /// Operate the patient index: review possible matches, link, merge and undo.
        Mpi = ("mpi", "主索引管理"),
        /// Post appointments that carry the resident's consent (booking platforms).
        Booking = ("booking", "预约授权"),
    }
);

/// An institution's code: the 18-character unified social credit code (统一社会信用代码) or the
/// registration number of its practising licence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstitutionCode(String);

/// An institution code that cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("institution code must be 6 to 40 characters of A-Z, 0-9 and '-'")]
pub struct InvalidInstitutionCode;

impl InstitutionCode {
    /// Validate and upper-case a code.
    pub fn new(code: &str) -> Result<InstitutionCode, InvalidInstitutionCode> {
        let code = code.trim().to_ascii_uppercase();
        let ok = (6..=40).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok { Ok(InstitutionCode(code)) } else { Err(InvalidInstitutionCode) }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a unified social credit code whose check character (GB 32100) is right.
    pub fn is_valid_uscc(&self) -> bool {
        uscc_check_char(&self.0[..self.0.len().min(17)]).is_some_and(|c| self.0.len() == 18 && self.0.ends_with(c))
    }
}

impl fmt::Display for InstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// The GB 32100 check character for the first 17 characters of a unified social credit code.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (b, w) in first17.bytes().zip(USCC_WEIGHTS) {
        let v = USCC_CHARS.iter().position(|c| *c == b)? as u32;
        sum += v * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(USCC_CHARS[check as usize] as char)
}

/// A data source registered on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    /// Its code.
    pub code: InstitutionCode,
    /// Its registered name.
    pub name: String,
    /// The city it is in.
    pub city: City,
    /// Its grade.
    pub level: Level,
    /// Public or private.
    pub ownership: Ownership,
    /// Hospital, public-health system, blood centre or physical-exam centre.
    pub kind: InstitutionKind,
    /// Direct, or through its city's platform.
    pub connection: ConnectionMode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_parse_codes_and_chinese_labels() {
        assert_eq!("广州市".parse::<City>(), Ok(City::Guangzhou));
        assert_eq!("shenzhen".parse::<City>(), Ok(City::Shenzhen));
        assert_eq!(City::ALL.len(), 21);
        assert_eq!("三级甲等".parse::<Level>(), Ok(Level::TertiaryA));
        let err = "北京市".parse::<City>().unwrap_err().to_string();
        assert!(err.contains("广州市"), "{err}");
    }

    #[test]
    fn uscc_check_character_follows_gb_32100() {
        // A published example of a valid code.
        let code = InstitutionCode::new("91350100M000100Y43").unwrap();
        assert!(code.is_valid_uscc());
        assert!(!InstitutionCode::new("91350100M000100Y44").unwrap().is_valid_uscc());
        assert!(InstitutionCode::new("bad code!").is_err());
        assert_eq!(InstitutionCode::new(" 12440000455858116f ").unwrap().as_str(), "12440000455858116F");
    }
}
