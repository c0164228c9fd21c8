//! Clinical vocabularies: diagnoses (ICD-10), operations (ICD-9-CM-3), laboratory tests (LOINC,
//! UCUM), drugs, vaccines of China's national immunization programme, allergens.

/// A coded diagnosis.
#[derive(Clone, Copy)]
pub(crate) struct Dx {
    pub code: &'static str,
    pub zh: &'static str,
}

const fn dx(code: &'static str, zh: &'static str) -> Dx {
    Dx { code, zh }
}

/// A drug product as a prescription names it.
#[derive(Clone, Copy)]
pub(crate) struct Drug {
    /// ATC code of the substance (products of one substance share it); TCM products have none, so
    /// they get a `TCM-` code.
    pub code: &'static str,
    pub name: &'static str,
    pub strength: &'static str,
    pub sig: &'static str,
}

const fn drug(code: &'static str, name: &'static str, strength: &'static str, sig: &'static str) -> Drug {
    Drug { code, name, strength, sig }
}

/// An operation, coded in ICD-9-CM-3 as Chinese hospitals do.
#[derive(Clone, Copy)]
pub(crate) struct Op {
    pub code: &'static str,
    pub zh: &'static str,
    /// Typical duration in minutes.
    pub minutes: u32,
}

const fn op(code: &'static str, zh: &'static str, minutes: u32) -> Op {
    Op { code, zh, minutes }
}

/// Sex restriction of a diagnosis.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sex {
    Any,
    Male,
    Female,
}

impl Sex {
    pub fn admits(self, male: bool) -> bool {
        match self {
            Sex::Any => true,
            Sex::Male => male,
            Sex::Female => !male,
        }
    }
}

/// Indexes into [`CHRONIC`].
pub(crate) const HYPERTENSION: usize = 0;
pub(crate) const DIABETES: usize = 1;
pub(crate) const HYPERLIPIDEMIA: usize = 2;

/// A long-term condition followed up in clinics.
pub(crate) struct Chronic {
    pub dx: Dx,
    pub sex: Sex,
    /// Youngest age at diagnosis.
    pub min_onset: i32,
    /// Prevalence by current age band: <30, 30–44, 45–59, 60–74, 75+.
    pub prevalence: [f64; 5],
    pub dept: &'static str,
    pub drugs: &'static [Drug],
    /// Panels checked at follow-up.
    pub panels: &'static [Panel],
}

pub(crate) static CHRONIC: [Chronic; 6] = [
    Chronic {
        dx: dx("I10", "原发性高血压"),
        sex: Sex::Any,
        min_onset: 30,
        prevalence: [0.005, 0.08, 0.25, 0.45, 0.55],
        dept: "心血管内科",
        drugs: &[
            drug("C08CA01", "苯磺酸氨氯地平片", "5mg", "每日一次，每次一片"),
            drug("C09CA03", "缬沙坦胶囊", "80mg", "每日一次，每次一粒"),
            drug("C09CA04", "厄贝沙坦片", "150mg", "每日一次，每次一片"),
            drug("C08CA05", "硝苯地平控释片", "30mg", "每日一次，每次一片"),
            drug("C07AB02", "酒石酸美托洛尔片", "25mg", "每日两次，每次一片"),
        ],
        panels: &[Panel::Renal],
    },
    Chronic {
        dx: dx("E11.9", "2型糖尿病"),
        sex: Sex::Any,
        min_onset: 30,
        prevalence: [0.003, 0.04, 0.12, 0.18, 0.18],
        dept: "内分泌科",
        drugs: &[
            drug("A10BA02", "二甲双胍缓释片", "0.5g", "每日两次，每次一片，随餐服用"),
            drug("A10BF01", "阿卡波糖片", "50mg", "每日三次，每次一片，随第一口饭嚼服"),
            drug("A10BB12", "格列美脲片", "2mg", "每日一次，每次一片，早餐前服用"),
        ],
        panels: &[Panel::Glucose, Panel::HbA1c],
    },
    Chronic {
        dx: dx("E78.5", "高脂血症"),
        sex: Sex::Any,
        min_onset: 25,
        prevalence: [0.01, 0.10, 0.20, 0.25, 0.22],
        dept: "心血管内科",
        drugs: &[
            drug("C10AA05", "阿托伐他汀钙片", "20mg", "每晚一次，每次一片"),
            drug("C10AA07", "瑞舒伐他汀钙片", "10mg", "每晚一次，每次一片"),
        ],
        panels: &[Panel::Lipids],
    },
    Chronic {
        dx: dx("I25.1", "动脉硬化性心脏病"),
        sex: Sex::Any,
        min_onset: 45,
        prevalence: [0.0, 0.0, 0.03, 0.10, 0.18],
        dept: "心血管内科",
        drugs: &[
            drug("B01AC06", "阿司匹林肠溶片", "100mg", "每日一次，每次一片"),
            drug("C01DA14", "单硝酸异山梨酯缓释片", "40mg", "每日一次，每次一片"),
            drug("B01AC04", "硫酸氢氯吡格雷片", "75mg", "每日一次，每次一片"),
        ],
        panels: &[Panel::Lipids],
    },
    Chronic {
        dx: dx("N40", "前列腺增生"),
        sex: Sex::Male,
        min_onset: 50,
        prevalence: [0.0, 0.0, 0.10, 0.35, 0.45],
        dept: "泌尿外科",
        drugs: &[
            drug("G04CA02", "盐酸坦索罗辛缓释胶囊", "0.2mg", "每晚一次，每次一粒"),
            drug("G04CB01", "非那雄胺片", "5mg", "每日一次，每次一片"),
        ],
        panels: &[],
    },
    Chronic {
        dx: dx("M17.9", "膝关节骨性关节病"),
        sex: Sex::Any,
        min_onset: 45,
        prevalence: [0.0, 0.0, 0.06, 0.15, 0.22],
        dept: "骨科",
        drugs: &[
            drug("M01AH01", "塞来昔布胶囊", "0.2g", "每日一次，每次一粒"),
            drug("M01AX05", "硫酸氨基葡萄糖胶囊", "0.25g", "每日三次，每次两粒"),
        ],
        panels: &[],
    },
];

/// A self-limiting illness seen in outpatient or emergency care.
pub(crate) struct Acute {
    pub dx: Dx,
    pub sex: Sex,
    pub min_age: i32,
    pub max_age: i32,
    /// Relative frequency among children (<14) and among adults.
    pub weight_child: u32,
    pub weight_adult: u32,
    pub dept: &'static str,
    pub drugs: &'static [Drug],
    pub child_drugs: &'static [Drug],
    /// Chance of a blood count being ordered.
    pub cbc: f64,
    /// Whether it is typically an emergency-department visit.
    pub emergency: bool,
}

const AMOXICILLIN: Drug = drug("J01CA04", "阿莫西林胶囊", "0.25g", "每日三次，每次两粒");
const PARACETAMOL: Drug = drug("N02BE01", "对乙酰氨基酚片", "0.5g", "发热时服用，每次一片，每日不超过四次");
const LIANHUA: Drug = drug("TCM-LHQW", "连花清瘟胶囊", "0.35g", "每日三次，每次四粒");
const AMOX_GRANULE: Drug = drug("J01CA04", "阿莫西林颗粒", "0.125g", "每日三次，每次一袋");
const IBUPROFEN_SUSP: Drug = drug("M01AE01", "布洛芬混悬液", "100ml:2g", "发热时服用，每次5ml");
const AMBROXOL: Drug = drug("R05CB06", "盐酸氨溴索片", "30mg", "每日三次，每次一片");
const AMBROXOL_SYRUP: Drug = drug("R05CB06", "盐酸氨溴索口服溶液", "100ml:0.6g", "每日两次，每次5ml");
const AZITHROMYCIN: Drug = drug("J01FA10", "阿奇霉素片", "0.25g", "每日一次，每次两片");
const OMEPRAZOLE: Drug = drug("A02BC01", "奥美拉唑肠溶胶囊", "20mg", "每日两次，每次一粒，饭前服用");
const HYDROTALCITE: Drug = drug("A02AD04", "铝碳酸镁咀嚼片", "0.5g", "每日三次，每次两片，嚼服");
const CELECOXIB: Drug = drug("M01AH01", "塞来昔布胶囊", "0.2g", "每日一次，每次一粒");
const DICLOFENAC: Drug = drug("M01AB05", "双氯芬酸钠缓释片", "75mg", "每日一次，每次一片");
const LEVOFLOXACIN: Drug = drug("J01MA12", "左氧氟沙星片", "0.5g", "每日一次，每次一片");
const FOSFOMYCIN: Drug = drug("J01XX01", "磷霉素氨丁三醇散", "3g", "单次空腹服用");
const CEFUROXIME: Drug = drug("J01DC02", "头孢呋辛酯片", "0.25g", "每日两次，每次一片");
const SMECTITE: Drug = drug("A07BC05", "蒙脱石散", "3g", "每日三次，每次一袋");
const ORS: Drug = drug("A07CA", "口服补液盐散(III)", "5.125g", "每袋溶于250ml温水，少量多次服用");
const IBUPROFEN: Drug = drug("M01AE01", "布洛芬缓释胶囊", "0.3g", "每日两次，每次一粒");

pub(crate) static ACUTE: [Acute; 11] = [
    Acute {
        dx: dx("J06.9", "急性上呼吸道感染"),
        sex: Sex::Any,
        min_age: 0,
        max_age: 120,
        weight_child: 40,
        weight_adult: 25,
        dept: "呼吸内科",
        drugs: &[AMOXICILLIN, PARACETAMOL, LIANHUA],
        child_drugs: &[AMOX_GRANULE, IBUPROFEN_SUSP],
        cbc: 0.4,
        emergency: false,
    },
    Acute {
        dx: dx("J20.9", "急性支气管炎"),
        sex: Sex::Any,
        min_age: 0,
        max_age: 120,
        weight_child: 18,
        weight_adult: 10,
        dept: "呼吸内科",
        drugs: &[AMBROXOL, AZITHROMYCIN],
        child_drugs: &[AMBROXOL_SYRUP],
        cbc: 0.5,
        emergency: false,
    },
    Acute {
        dx: dx("A09.9", "胃肠炎"),
        sex: Sex::Any,
        min_age: 0,
        max_age: 120,
        weight_child: 14,
        weight_adult: 8,
        dept: "消化内科",
        drugs: &[SMECTITE, ORS],
        child_drugs: &[SMECTITE, ORS],
        cbc: 0.3,
        emergency: false,
    },
    Acute {
        dx: dx("K29.7", "胃炎"),
        sex: Sex::Any,
        min_age: 16,
        max_age: 120,
        weight_child: 0,
        weight_adult: 14,
        dept: "消化内科",
        drugs: &[OMEPRAZOLE, HYDROTALCITE],
        child_drugs: &[],
        cbc: 0.1,
        emergency: false,
    },
    Acute {
        dx: dx("M54.5", "腰痛"),
        sex: Sex::Any,
        min_age: 20,
        max_age: 120,
        weight_child: 0,
        weight_adult: 12,
        dept: "骨科",
        drugs: &[CELECOXIB, DICLOFENAC],
        child_drugs: &[],
        cbc: 0.0,
        emergency: false,
    },
    Acute {
        dx: dx("N39.0", "泌尿道感染"),
        sex: Sex::Female,
        min_age: 16,
        max_age: 120,
        weight_child: 0,
        weight_adult: 8,
        dept: "泌尿外科",
        drugs: &[LEVOFLOXACIN, FOSFOMYCIN],
        child_drugs: &[],
        cbc: 0.5,
        emergency: false,
    },
    Acute {
        dx: dx("J18.9", "肺炎"),
        sex: Sex::Any,
        min_age: 0,
        max_age: 120,
        weight_child: 6,
        weight_adult: 3,
        dept: "呼吸内科",
        drugs: &[CEFUROXIME, LEVOFLOXACIN],
        child_drugs: &[AMOX_GRANULE],
        cbc: 0.9,
        emergency: false,
    },
    Acute {
        dx: dx("S93.4", "踝关节扭伤"),
        sex: Sex::Any,
        min_age: 6,
        max_age: 80,
        weight_child: 4,
        weight_adult: 4,
        dept: "急诊科",
        drugs: &[IBUPROFEN],
        child_drugs: &[IBUPROFEN_SUSP],
        cbc: 0.0,
        emergency: true,
    },
    Acute {
        dx: dx("R10.4", "腹痛"),
        sex: Sex::Any,
        min_age: 3,
        max_age: 120,
        weight_child: 3,
        weight_adult: 4,
        dept: "急诊科",
        drugs: &[OMEPRAZOLE],
        child_drugs: &[SMECTITE],
        cbc: 0.8,
        emergency: true,
    },
    Acute {
        dx: dx("R50.9", "发热"),
        sex: Sex::Any,
        min_age: 0,
        max_age: 120,
        weight_child: 8,
        weight_adult: 2,
        dept: "急诊科",
        drugs: &[PARACETAMOL],
        child_drugs: &[IBUPROFEN_SUSP],
        cbc: 0.9,
        emergency: true,
    },
    Acute {
        dx: dx("L23.9", "过敏性接触性皮炎"),
        sex: Sex::Any,
        min_age: 1,
        max_age: 120,
        weight_child: 4,
        weight_adult: 4,
        dept: "皮肤科",
        drugs: &[drug("R06AE07", "西替利嗪片", "10mg", "每日一次，每次一片")],
        child_drugs: &[drug("R06AE07", "西替利嗪滴剂", "10ml:0.1g", "每日一次，每次5滴")],
        cbc: 0.0,
        emergency: false,
    },
];

/// Whether a drug is a penicillin or cephalosporin, which an allergic patient must not get.
pub(crate) fn is_beta_lactam(d: &Drug) -> bool {
    d.code.starts_with("J01C") || d.code.starts_with("J01D")
}

/// A reason for admission.
pub(crate) struct Stay {
    pub dx: Dx,
    pub sex: Sex,
    pub min_age: i32,
    pub max_age: i32,
    pub weight: u32,
    pub los: (i32, i32),
    pub dept: &'static str,
    pub op: Option<Op>,
    pub drugs: &'static [Drug],
    /// Chance that blood products are given.
    pub transfusion: f64,
    /// Admissions for this reason only happen to patients with this chronic condition.
    pub requires: Option<usize>,
}

const CEFTRIAXONE: Drug = drug("J01DD04", "注射用头孢曲松钠", "1g", "静脉滴注，每日一次，每次2g");
const LEVO_IV: Drug = drug("J01MA12", "左氧氟沙星氯化钠注射液", "100ml:0.5g", "静脉滴注，每日一次");
const CEFAZOLIN: Drug = drug("J01DB04", "注射用头孢唑林钠", "1g", "术前30分钟静脉滴注，每次2g");
const ENOXAPARIN: Drug = drug("B01AB05", "依诺肝素钠注射液", "0.4ml:4000AxaIU", "皮下注射，每日一次");
const PANTOPRAZOLE_IV: Drug = drug("A02BC02", "注射用泮托拉唑钠", "40mg", "静脉滴注，每日两次");
const INSULIN: Drug = drug("A10AE04", "甘精胰岛素注射液", "3ml:300U", "睡前皮下注射，每次10单位");
const TOBRADEX: Drug = drug("S01CA01", "妥布霉素地塞米松滴眼液", "5ml", "滴眼，每日四次，每次1滴");
const ATORVA: Drug = drug("C10AA05", "阿托伐他汀钙片", "20mg", "每晚一次，每次一片");
const ASPIRIN: Drug = drug("B01AC06", "阿司匹林肠溶片", "100mg", "每日一次，每次一片");
const OXYTOCIN: Drug = drug("H01BB02", "缩宫素注射液", "1ml:10U", "产后肌内注射，每次10单位");

pub(crate) static STAYS: [Stay; 11] = [
    Stay {
        dx: dx("J18.9", "肺炎"),
        sex: Sex::Any,
        min_age: 0,
        max_age: 120,
        weight: 30,
        los: (5, 10),
        dept: "呼吸内科",
        op: None,
        drugs: &[CEFTRIAXONE, LEVO_IV, AMBROXOL],
        transfusion: 0.01,
        requires: None,
    },
    Stay {
        dx: dx("K35.8", "急性阑尾炎"),
        sex: Sex::Any,
        min_age: 6,
        max_age: 75,
        weight: 12,
        los: (3, 7),
        dept: "普通外科",
        op: Some(op("47.09", "阑尾切除术", 60)),
        drugs: &[CEFTRIAXONE],
        transfusion: 0.02,
        requires: None,
    },
    Stay {
        dx: dx("K80.2", "胆囊结石"),
        sex: Sex::Any,
        min_age: 30,
        max_age: 90,
        weight: 10,
        los: (4, 8),
        dept: "肝胆外科",
        op: Some(op("51.23", "腹腔镜下胆囊切除术", 90)),
        drugs: &[CEFAZOLIN],
        transfusion: 0.02,
        requires: None,
    },
    Stay {
        dx: dx("H25.9", "老年性白内障"),
        sex: Sex::Any,
        min_age: 55,
        max_age: 120,
        weight: 14,
        los: (1, 3),
        dept: "眼科",
        op: Some(op("13.41", "白内障超声乳化抽吸术", 30)),
        drugs: &[TOBRADEX],
        transfusion: 0.0,
        requires: None,
    },
    Stay {
        dx: dx("M17.9", "膝关节骨性关节病"),
        sex: Sex::Any,
        min_age: 55,
        max_age: 90,
        weight: 6,
        los: (7, 14),
        dept: "骨科",
        op: Some(op("81.54", "全膝关节置换术", 120)),
        drugs: &[CEFAZOLIN, ENOXAPARIN, CELECOXIB],
        transfusion: 0.35,
        requires: None,
    },
    Stay {
        dx: dx("I20.0", "不稳定型心绞痛"),
        sex: Sex::Any,
        min_age: 45,
        max_age: 120,
        weight: 10,
        los: (5, 10),
        dept: "心血管内科",
        op: Some(op("36.06", "冠状动脉支架置入术", 90)),
        drugs: &[ASPIRIN, ATORVA, drug("B01AC04", "硫酸氢氯吡格雷片", "75mg", "每日一次，每次一片")],
        transfusion: 0.03,
        requires: None,
    },
    Stay {
        dx: dx("I63.9", "脑梗死"),
        sex: Sex::Any,
        min_age: 50,
        max_age: 120,
        weight: 10,
        los: (10, 20),
        dept: "神经内科",
        op: None,
        drugs: &[ASPIRIN, ATORVA, drug("N06BX18", "依达拉奉注射液", "20ml:30mg", "静脉滴注，每日两次")],
        transfusion: 0.02,
        requires: None,
    },
    Stay {
        dx: dx("E11.9", "2型糖尿病"),
        sex: Sex::Any,
        min_age: 30,
        max_age: 120,
        weight: 12,
        los: (7, 12),
        dept: "内分泌科",
        op: None,
        drugs: &[INSULIN, drug("A10BA02", "二甲双胍缓释片", "0.5g", "每日两次，每次一片，随餐服用")],
        transfusion: 0.0,
        requires: Some(DIABETES),
    },
    Stay {
        dx: dx("S72.0", "股骨颈骨折"),
        sex: Sex::Any,
        min_age: 60,
        max_age: 120,
        weight: 5,
        los: (10, 20),
        dept: "骨科",
        op: Some(op("81.52", "部分髋关节置换术", 120)),
        drugs: &[CEFAZOLIN, ENOXAPARIN],
        transfusion: 0.5,
        requires: None,
    },
    Stay {
        dx: dx("K92.2", "消化道出血"),
        sex: Sex::Any,
        min_age: 40,
        max_age: 120,
        weight: 4,
        los: (5, 10),
        dept: "消化内科",
        op: Some(op("45.13", "胃镜检查", 20)),
        drugs: &[PANTOPRAZOLE_IV],
        transfusion: 0.6,
        requires: None,
    },
    Stay {
        dx: dx("J44.1", "慢性阻塞性肺疾病急性加重"),
        sex: Sex::Any,
        min_age: 50,
        max_age: 120,
        weight: 8,
        los: (7, 14),
        dept: "呼吸内科",
        op: None,
        drugs: &[LEVO_IV, drug("R03BB04", "噻托溴铵粉吸入剂", "18μg", "每日一次，每次吸入一粒")],
        transfusion: 0.01,
        requires: None,
    },
];

/// Childbirth, handled apart from other admissions because it follows the mother's age.
pub(crate) static VAGINAL_BIRTH: Stay = Stay {
    dx: dx("O80", "单胎顺产"),
    sex: Sex::Female,
    min_age: 18,
    max_age: 45,
    weight: 0,
    los: (2, 4),
    dept: "产科",
    op: Some(op("73.59", "手法助产", 40)),
    drugs: &[OXYTOCIN],
    transfusion: 0.02,
    requires: None,
};

/// See [`VAGINAL_BIRTH`].
pub(crate) static CAESAREAN: Stay = Stay {
    dx: dx("O82", "经剖宫产术的单胎分娩"),
    sex: Sex::Female,
    min_age: 18,
    max_age: 45,
    weight: 0,
    los: (4, 7),
    dept: "产科",
    op: Some(op("74.1", "低位子宫下段剖宫产", 60)),
    drugs: &[OXYTOCIN, CEFAZOLIN],
    transfusion: 0.04,
    requires: None,
};

/// Blood products given in transfusions, as the note records them.
pub(crate) const BLOOD_PRODUCTS: &[&str] =
    &["悬浮红细胞 2U", "悬浮红细胞 4U", "新鲜冰冻血浆 200ml", "新鲜冰冻血浆 400ml", "单采血小板 1治疗量"];

/// A laboratory test: LOINC code with Chinese display, UCUM unit, adult reference intervals.
pub(crate) struct Lab {
    pub loinc: &'static str,
    pub zh: &'static str,
    /// UCUM code; `unit` is what a Chinese report prints.
    pub ucum: &'static str,
    pub unit: &'static str,
    pub male: (Option<f64>, Option<f64>),
    pub female: (Option<f64>, Option<f64>),
    /// Mean and standard deviation in health, by sex (male, female).
    pub dist: [(f64, f64); 2],
    pub decimals: u8,
}

/// Indexes into [`LABS`].
pub(crate) const HB: usize = 0;
pub(crate) const WBC: usize = 1;
pub(crate) const PLT: usize = 2;
pub(crate) const RBC: usize = 3;
pub(crate) const ALT: usize = 4;
pub(crate) const AST: usize = 5;
pub(crate) const TBIL: usize = 6;
pub(crate) const CREA: usize = 7;
pub(crate) const UREA: usize = 8;
pub(crate) const URATE: usize = 9;
pub(crate) const GLU: usize = 10;
pub(crate) const HBA1C: usize = 11;
pub(crate) const CHOL: usize = 12;
pub(crate) const TG: usize = 13;
pub(crate) const HDL: usize = 14;

const fn both(low: Option<f64>, high: Option<f64>) -> (Option<f64>, Option<f64>) {
    (low, high)
}

// Glucose, creatinine and cholesterol are reported in molar units in China, so they carry the
// molar LOINC codes (14749-6, 14682-9, 14647-2) rather than the mass-concentration ones.
pub(crate) static LABS: [Lab; 15] = [
    Lab {
        loinc: "718-7",
        zh: "血红蛋白",
        ucum: "g/L",
        unit: "g/L",
        male: both(Some(130.0), Some(175.0)),
        female: both(Some(115.0), Some(150.0)),
        dist: [(148.0, 11.0), (128.0, 10.0)],
        decimals: 0,
    },
    Lab {
        loinc: "6690-2",
        zh: "白细胞计数",
        ucum: "10*9/L",
        unit: "10*9/L",
        male: both(Some(3.5), Some(9.5)),
        female: both(Some(3.5), Some(9.5)),
        dist: [(6.4, 1.6), (6.2, 1.6)],
        decimals: 2,
    },
    Lab {
        loinc: "777-3",
        zh: "血小板计数",
        ucum: "10*9/L",
        unit: "10*9/L",
        male: both(Some(125.0), Some(350.0)),
        female: both(Some(125.0), Some(350.0)),
        dist: [(225.0, 50.0), (240.0, 55.0)],
        decimals: 0,
    },
    Lab {
        loinc: "789-8",
        zh: "红细胞计数",
        ucum: "10*12/L",
        unit: "10*12/L",
        male: both(Some(4.3), Some(5.8)),
        female: both(Some(3.8), Some(5.1)),
        dist: [(5.0, 0.38), (4.4, 0.34)],
        decimals: 2,
    },
    Lab {
        loinc: "1742-6",
        zh: "丙氨酸氨基转移酶",
        ucum: "U/L",
        unit: "U/L",
        male: both(Some(9.0), Some(50.0)),
        female: both(Some(7.0), Some(40.0)),
        dist: [(26.0, 11.0), (19.0, 8.0)],
        decimals: 0,
    },
    Lab {
        loinc: "1920-8",
        zh: "天门冬氨酸氨基转移酶",
        ucum: "U/L",
        unit: "U/L",
        male: both(Some(15.0), Some(40.0)),
        female: both(Some(13.0), Some(35.0)),
        dist: [(24.0, 7.0), (21.0, 6.0)],
        decimals: 0,
    },
    Lab {
        loinc: "14631-6",
        zh: "总胆红素",
        ucum: "umol/L",
        unit: "μmol/L",
        male: both(Some(3.4), Some(20.5)),
        female: both(Some(3.4), Some(20.5)),
        dist: [(12.0, 4.2), (10.0, 3.8)],
        decimals: 1,
    },
    Lab {
        loinc: "14682-9",
        zh: "肌酐",
        ucum: "umol/L",
        unit: "μmol/L",
        male: both(Some(57.0), Some(111.0)),
        female: both(Some(41.0), Some(81.0)),
        dist: [(82.0, 13.0), (60.0, 10.0)],
        decimals: 0,
    },
    Lab {
        loinc: "22664-7",
        zh: "尿素",
        ucum: "mmol/L",
        unit: "mmol/L",
        male: both(Some(3.1), Some(8.0)),
        female: both(Some(2.6), Some(7.5)),
        dist: [(5.2, 1.2), (4.6, 1.1)],
        decimals: 2,
    },
    Lab {
        loinc: "14933-6",
        zh: "尿酸",
        ucum: "umol/L",
        unit: "μmol/L",
        male: both(Some(208.0), Some(428.0)),
        female: both(Some(155.0), Some(357.0)),
        dist: [(360.0, 70.0), (270.0, 55.0)],
        decimals: 0,
    },
    Lab {
        loinc: "14749-6",
        zh: "葡萄糖",
        ucum: "mmol/L",
        unit: "mmol/L",
        male: both(Some(3.9), Some(6.1)),
        female: both(Some(3.9), Some(6.1)),
        dist: [(5.1, 0.5), (5.0, 0.5)],
        decimals: 2,
    },
    Lab {
        loinc: "4548-4",
        zh: "糖化血红蛋白",
        ucum: "%",
        unit: "%",
        male: both(Some(4.0), Some(6.0)),
        female: both(Some(4.0), Some(6.0)),
        dist: [(5.4, 0.35), (5.3, 0.35)],
        decimals: 1,
    },
    Lab {
        loinc: "14647-2",
        zh: "总胆固醇",
        ucum: "mmol/L",
        unit: "mmol/L",
        male: both(None, Some(5.2)),
        female: both(None, Some(5.2)),
        dist: [(4.7, 0.75), (4.8, 0.75)],
        decimals: 2,
    },
    Lab {
        loinc: "14927-8",
        zh: "甘油三酯",
        ucum: "mmol/L",
        unit: "mmol/L",
        male: both(None, Some(1.7)),
        female: both(None, Some(1.7)),
        dist: [(1.45, 0.55), (1.2, 0.45)],
        decimals: 2,
    },
    Lab {
        loinc: "14646-4",
        zh: "高密度脂蛋白胆固醇",
        ucum: "mmol/L",
        unit: "mmol/L",
        male: both(Some(1.0), None),
        female: both(Some(1.0), None),
        dist: [(1.2, 0.25), (1.45, 0.3)],
        decimals: 2,
    },
];

/// A group of tests reported together as one DiagnosticReport.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Panel {
    Cbc,
    Liver,
    Renal,
    Lipids,
    Chemistry,
    Glucose,
    HbA1c,
}

impl Panel {
    /// LOINC code and Chinese name of the report.
    pub fn code(self) -> (&'static str, &'static str) {
        match self {
            Panel::Cbc => ("58410-2", "血常规"),
            Panel::Liver => ("24325-3", "肝功能"),
            Panel::Renal => ("24362-6", "肾功能"),
            Panel::Lipids => ("57698-3", "血脂"),
            Panel::Chemistry => ("24323-8", "生化全项"),
            Panel::Glucose => ("14749-6", "空腹血糖"),
            Panel::HbA1c => ("4548-4", "糖化血红蛋白"),
        }
    }

    /// The tests, as indexes into [`LABS`].
    pub fn tests(self) -> &'static [usize] {
        match self {
            Panel::Cbc => &[HB, WBC, PLT, RBC],
            Panel::Liver => &[ALT, AST, TBIL],
            Panel::Renal => &[CREA, UREA, URATE],
            Panel::Lipids => &[CHOL, TG, HDL],
            Panel::Chemistry => &[GLU, ALT, CREA, CHOL],
            Panel::Glucose => &[GLU],
            Panel::HbA1c => &[HBA1C],
        }
    }
}

/// A vital sign or body measurement.
pub(crate) struct Vital {
    pub loinc: &'static str,
    pub zh: &'static str,
    pub ucum: &'static str,
    pub unit: &'static str,
    pub range: (Option<f64>, Option<f64>),
    pub decimals: u8,
}

pub(crate) const SYSTOLIC: Vital =
    Vital { loinc: "8480-6", zh: "收缩压", ucum: "mm[Hg]", unit: "mmHg", range: (Some(90.0), Some(139.0)), decimals: 0 };
pub(crate) const DIASTOLIC: Vital =
    Vital { loinc: "8462-4", zh: "舒张压", ucum: "mm[Hg]", unit: "mmHg", range: (Some(60.0), Some(89.0)), decimals: 0 };
pub(crate) const HEIGHT: Vital =
    Vital { loinc: "8302-2", zh: "身高", ucum: "cm", unit: "cm", range: (None, None), decimals: 1 };
pub(crate) const WEIGHT: Vital =
    Vital { loinc: "29463-7", zh: "体重", ucum: "kg", unit: "kg", range: (None, None), decimals: 1 };
pub(crate) const BMI: Vital =
    Vital { loinc: "39156-5", zh: "体重指数", ucum: "kg/m2", unit: "kg/m2", range: (Some(18.5), Some(23.9)), decimals: 1 };
pub(crate) const HEART_RATE: Vital =
    Vital { loinc: "8867-4", zh: "心率", ucum: "/min", unit: "次/分", range: (Some(60.0), Some(100.0)), decimals: 0 };

/// ABO and RhD groups with their frequency among Han Chinese (per 10 000), SNOMED CT code, label.
pub(crate) const BLOOD_GROUPS: &[((&str, &str, &str), u32)] = &[
    (("278147001", "Blood group O Rh(D) positive", "O型 RhD阳性"), 3390),
    (("278149003", "Blood group A Rh(D) positive", "A型 RhD阳性"), 3090),
    (("278150003", "Blood group B Rh(D) positive", "B型 RhD阳性"), 2690),
    (("278151004", "Blood group AB Rh(D) positive", "AB型 RhD阳性"), 800),
    (("278148006", "Blood group O Rh(D) negative", "O型 RhD阴性"), 10),
    (("278152006", "Blood group A Rh(D) negative", "A型 RhD阴性"), 10),
    (("278153001", "Blood group B Rh(D) negative", "B型 RhD阴性"), 8),
    (("278154007", "Blood group AB Rh(D) negative", "AB型 RhD阴性"), 2),
];

/// A vaccine of China's immunization programme.
pub(crate) struct Vaccine {
    pub code: &'static str,
    pub zh: &'static str,
    pub text: &'static str,
    pub makers: &'static [&'static str],
}

pub(crate) static VACCINES: [Vaccine; 13] = [
    Vaccine {
        code: "HepB",
        zh: "乙肝疫苗",
        text: "重组乙型肝炎疫苗（酿酒酵母）",
        makers: &["深圳康泰生物制品股份有限公司", "大连汉信生物制药有限公司"],
    },
    Vaccine {
        code: "BCG", zh: "卡介苗", text: "皮内注射用卡介苗", makers: &["成都生物制品研究所有限责任公司"]
    },
    Vaccine {
        code: "IPV",
        zh: "脊灰灭活疫苗",
        text: "脊髓灰质炎灭活疫苗（Vero细胞）",
        makers: &["北京生物制品研究所有限责任公司", "中国医学科学院医学生物学研究所"],
    },
    Vaccine {
        code: "bOPV",
        zh: "脊灰减毒活疫苗",
        text: "二价脊髓灰质炎减毒活疫苗（人二倍体细胞）",
        makers: &["中国医学科学院医学生物学研究所"],
    },
    Vaccine {
        code: "DTaP",
        zh: "百白破疫苗",
        text: "吸附无细胞百白破联合疫苗",
        makers: &["武汉生物制品研究所有限责任公司", "成都欧林生物科技股份有限公司"],
    },
    Vaccine {
        code: "DT", zh: "白破疫苗", text: "吸附白喉破伤风联合疫苗", makers: &["武汉生物制品研究所有限责任公司"]
    },
    Vaccine {
        code: "MMR", zh: "麻腮风疫苗", text: "麻疹腮腺炎风疹联合减毒活疫苗", makers: &["北京生物制品研究所有限责任公司"]
    },
    Vaccine {
        code: "JE-L", zh: "乙脑减毒活疫苗", text: "乙型脑炎减毒活疫苗", makers: &["成都生物制品研究所有限责任公司"]
    },
    Vaccine {
        code: "MPSV-A", zh: "A群流脑多糖疫苗", text: "A群脑膜炎球菌多糖疫苗", makers: &["兰州生物制品研究所有限责任公司"]
    },
    Vaccine {
        code: "MPSV-AC",
        zh: "A群C群流脑多糖疫苗",
        text: "A群C群脑膜炎球菌多糖疫苗",
        makers: &["兰州生物制品研究所有限责任公司", "玉溪沃森生物技术有限公司"],
    },
    Vaccine {
        code: "HepA-L", zh: "甲肝减毒活疫苗", text: "甲型肝炎减毒活疫苗", makers: &["浙江普康生物技术股份有限公司"]
    },
    Vaccine {
        code: "Flu",
        zh: "流感疫苗",
        text: "流感病毒裂解疫苗",
        makers: &["华兰生物疫苗股份有限公司", "长春生物制品研究所有限责任公司"],
    },
    Vaccine {
        code: "COVID-19",
        zh: "新冠病毒疫苗",
        text: "新型冠状病毒灭活疫苗（Vero细胞）",
        makers: &["北京科兴中维生物技术有限公司", "北京生物制品研究所有限责任公司"],
    },
];

/// Indexes into [`VACCINES`] used outside the childhood schedule.
pub(crate) const FLU: usize = 11;
pub(crate) const COVID: usize = 12;

/// The childhood schedule: (vaccine index, dose number in its series, age in months). Polio is one
/// series of IPV then bOPV, so bOPV doses are numbered 3 and 4.
pub(crate) const CHILD_SCHEDULE: &[(usize, u32, i32)] = &[
    (0, 1, 0),
    (1, 1, 0),
    (0, 2, 1),
    (2, 1, 2),
    (2, 2, 3),
    (4, 1, 3),
    (3, 3, 4),
    (4, 2, 4),
    (4, 3, 5),
    (0, 3, 6),
    (8, 1, 6),
    (6, 1, 8),
    (7, 1, 8),
    (8, 2, 9),
    (4, 4, 18),
    (6, 2, 18),
    (10, 1, 18),
    (7, 2, 24),
    (9, 1, 36),
    (3, 4, 48),
    (9, 2, 72),
    (5, 1, 72),
];

/// An allergen with its AllergyIntolerance category and typical reactions.
pub(crate) struct Allergen {
    pub zh: &'static str,
    pub category: &'static str,
    pub reactions: &'static [&'static str],
}

pub(crate) static ALLERGENS: [(Allergen, u32); 8] = [
    (Allergen { zh: "青霉素", category: "medication", reactions: &["皮疹", "荨麻疹", "呼吸困难"] }, 30),
    (Allergen { zh: "头孢类", category: "medication", reactions: &["皮疹", "瘙痒"] }, 14),
    (Allergen { zh: "磺胺类", category: "medication", reactions: &["皮疹"] }, 6),
    (Allergen { zh: "海鲜", category: "food", reactions: &["荨麻疹", "皮疹", "腹泻"] }, 22),
    (Allergen { zh: "芒果", category: "food", reactions: &["口周皮疹", "瘙痒"] }, 8),
    (Allergen { zh: "花生", category: "food", reactions: &["荨麻疹", "呼吸困难"] }, 5),
    (Allergen { zh: "花粉", category: "environment", reactions: &["喷嚏、流涕", "皮疹"] }, 10),
    (Allergen { zh: "尘螨", category: "environment", reactions: &["喷嚏、流涕", "哮喘发作"] }, 8),
];

/// Whether an allergen rules out penicillins and cephalosporins.
pub(crate) fn excludes_beta_lactams(allergen: usize) -> bool {
    allergen < 2
}
