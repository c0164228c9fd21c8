use std::collections::BTreeMap;
use tongdang_synth::{Province, SynthConfig};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let cfg = SynthConfig { residents: n, ..SynthConfig::default() };
    let t = std::time::Instant::now();
    let p = Province::generate(&cfg);
    let generated = t.elapsed();
    let t = std::time::Instant::now();
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    let mut bytes = 0;
    let mut subs = 0;
    let mut max_lines = 0;
    for s in p.submissions() {
        subs += 1;
        max_lines = max_lines.max(s.lines.len());
        for l in &s.lines {
            total += 1;
            bytes += l.len();
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let rt = v["resourceType"].as_str().unwrap().to_owned();
            let sub = match rt.as_str() {
                "Observation" => v["category"][0]["coding"][0]["code"].as_str().unwrap_or("").to_owned(),
                "Encounter" => v["type"][0]["text"].as_str().unwrap_or("").to_owned(),
                "Immunization" => v["vaccineCode"]["coding"][0]["code"].as_str().unwrap_or("").to_owned(),
                "Procedure" => v["code"]["text"].as_str().unwrap_or("").to_owned(),
                "DocumentReference" => v["type"]["text"].as_str().unwrap_or("").to_owned(),
                _ => String::new(),
            };
            *by_type.entry(rt.clone()).or_default() += 1;
            if !sub.is_empty() {
                *by_type.entry(format!("{rt}/{sub}")).or_default() += 1;
            }
        }
    }
    println!("generate {:?}, render+parse {:?}", generated, t.elapsed());
    println!(
        "institutions {} (submitting {subs}), residents {}, lines {total}, bytes {bytes}, max lines/inst {max_lines}",
        p.institutions.len(),
        p.residents.len()
    );
    for (k, v) in &by_type {
        println!("  {k}: {v}");
    }
    let clinical = total - by_type["Patient"];
    let mut ages = [0usize; 10];
    for r in &p.residents {
        let a = (2026 - r.birth_date.year()) as usize / 10;
        ages[a.min(9)] += 1;
    }
    println!("ages by decade {:?}", ages);
    println!("clinical per resident {:.1}", clinical as f64 / n as f64);
    let mut levels: BTreeMap<String, usize> = BTreeMap::new();
    for i in &p.institutions {
        *levels.entry(format!("{:?}/{:?}/{:?}", i.kind, i.level, i.ownership)).or_default() += 1;
    }
    for (k, v) in &levels {
        println!("  {k}: {v}");
    }
}
