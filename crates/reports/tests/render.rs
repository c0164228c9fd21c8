//! Rendering a report: the HTML escapes what institutions named themselves, the PDF embeds a
//! Chinese font subset whose text `pdftotext` (poppler-utils) reads back.

use std::process::Command;
use tongdang_core::{City, ConnectionMode, Institution, InstitutionCode, InstitutionKind, Level, Ownership, Timestamp};
use tongdang_reports::{Font, ReportInput, Scope, render};
use tongdang_store::{QualityCounts, WorkOrderStats};

fn hospital(code: &str, name: &str, city: City) -> Institution {
    Institution {
        code: InstitutionCode::new(code).unwrap(),
        name: name.into(),
        city,
        level: Level::TertiaryA,
        ownership: Ownership::Public,
        kind: InstitutionKind::Hospital,
        connection: ConnectionMode::Direct,
    }
}

fn input(n: usize) -> ReportInput {
    let mut institutions = vec![hospital("HOSP-0", "<script>alert(1)</script>医院", City::Guangzhou)];
    let mut quality = vec![QualityCounts {
        institution: "HOSP-0".into(),
        city: "440100".into(),
        received: 10,
        accepted: 9,
        ..Default::default()
    }];
    for i in 1..n {
        let city = City::ALL[i % City::ALL.len()];
        institutions.push(hospital(&format!("HOSP-{i}"), &format!("第{i}人民医院"), city));
        quality.push(QualityCounts {
            institution: format!("HOSP-{i}"),
            city: city.area_code().to_string(),
            received: 1000 + i as i64,
            accepted: 990,
            late: (i % 50) as i64,
            ..Default::default()
        });
    }
    ReportInput {
        period: "2024-10".parse().unwrap(),
        scope: Scope::Province,
        generated_at: Timestamp(1_730_419_200_000_000),
        institutions,
        quality,
        work_orders: vec![WorkOrderStats {
            source: "HOSP-1".into(),
            city: "shaoguan".into(),
            opened: 3,
            resolved: 2,
            handling_seconds: 2 * 30 * 3600,
            due: 3,
            overdue: 1,
            reopened: 1,
        }],
        rollups: vec![QualityCounts {
            institution: "city:440100".into(),
            city: "440100".into(),
            day: 20240915,
            received: 100,
            accepted: 97,
            ..Default::default()
        }],
        problems: vec![("HOSP-0".into(), "QC-LAB-003".into(), 4)],
        rule_names: [("QC-LAB-003".to_string(), "定量结果须使用UCUM计量单位".to_string())].into(),
    }
}

#[test]
fn html_escapes_names_and_carries_charts_and_formula() {
    let r = render(&input(40), None).unwrap();
    assert!(r.pdf.is_none());
    assert!(!r.html.contains("<script>"), "a name is shown, never run");
    assert!(r.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;医院"));
    assert_eq!(r.html.matches("<svg").count(), 2, "trend and city bars");
    assert!(r.html.contains("综合得分 = 0.7 × 上传质量得分"));
    assert!(r.html.contains("定量结果须使用UCUM计量单位"));
    assert!(
        !r.html.contains("http://") || r.html.matches("http://").all(|_| r.html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    );
}

#[test]
fn pdf_embeds_a_chinese_subset_that_reads_back() {
    let font = Font::find(None).unwrap_or_else(|e| panic!("{e} (scripts/test installs fonts-wqy-microhei)"));
    let r = render(&input(300), Some(&font)).unwrap();
    let pdf = r.pdf.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.len() < 2_000_000, "a subset, not the whole font: {} bytes", pdf.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .unwrap_or_else(|e| panic!("pdftotext: {e} (apt-get install poppler-utils; scripts/test installs it)"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "广东省健康档案数据质量与问题处置评估报告",
        "2024年10月",
        "地市排名",
        "第299人民医院",
        "评分方法",
        "定量结果须使用UCUM计量单位",
    ] {
        assert!(text.contains(want), "{want} missing from the PDF text");
    }
    assert!(text.matches("页").count() >= 5, "300 institutions take several pages");
}

#[test]
fn an_empty_period_renders_a_valid_empty_report() {
    let empty = ReportInput { quality: vec![], work_orders: vec![], rollups: vec![], problems: vec![], ..input(3) };
    let r = render(&empty, Font::find(None).ok().as_ref()).unwrap();
    assert!(r.report.is_empty());
    assert!(r.html.contains("这是一份有效的空报告"));
}
