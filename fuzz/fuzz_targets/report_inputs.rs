//! What reaches an evaluation report from outside: the period and city of a request, and the
//! names institutions registered (drawn into HTML, and into the PDF with the system's CJK font
//! when one is installed: width measuring, cutting, wrapping). Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tongdang_core::{City, ConnectionMode, Institution, InstitutionCode, InstitutionKind, Level, Ownership, Timestamp};
use tongdang_reports::{Font, Period, ReportInput, Scope, model};
use tongdang_store::QualityCounts;

fn font() -> Option<&'static Font> {
    static FONT: OnceLock<Option<Font>> = OnceLock::new();
    FONT.get_or_init(|| Font::find(None).ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = text.parse::<Period>();
    let _ = Scope::from_key(text);
    let _ = model::city_of(text);
    let mut institutions = Vec::new();
    let mut quality = Vec::new();
    for (i, name) in text.split('\n').take(40).enumerate() {
        let code = format!("FUZZ-{i:04}");
        let city = City::ALL[i % City::ALL.len()];
        institutions.push(Institution {
            code: InstitutionCode::new(&code).unwrap(),
            name: name.to_string(),
            city,
            level: Level::TertiaryA,
            ownership: Ownership::Public,
            kind: InstitutionKind::Hospital,
            connection: ConnectionMode::Direct,
        });
        let received = name.len() as i64;
        quality.push(QualityCounts { institution: code, city: city.area_code().to_string(), received, accepted: received / 2, ..Default::default() });
    }
    let input = ReportInput {
        period: "2024-10".parse().unwrap(),
        scope: Scope::Province,
        generated_at: Timestamp(1_730_419_200_000_000),
        institutions,
        quality,
        work_orders: vec![],
        rollups: vec![],
        problems: vec![("FUZZ-0000".into(), text.chars().take(64).collect(), 3)],
        rule_names: Default::default(),
    };
    let rendered = tongdang_reports::render(&input, font()).unwrap();
    assert!(!rendered.html.contains("<script"), "names are escaped");
});
