use tongdang_synth::{Province, SynthConfig};
fn main() {
    let which: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let p = Province::generate(&SynthConfig { residents: 300, ..SynthConfig::default() });
    for i in p.institutions.iter().take(40) {
        println!("{} {} {:?} {:?} {:?}", i.code, i.name, i.level, i.ownership, i.connection);
    }
    for r in p.residents.iter().take(12) {
        println!("{:?}", r);
    }
    let s = p.submissions().nth(which).unwrap();
    println!("== {} lines {}", s.institution, s.lines.len());
    for l in s.lines.iter().take(40) {
        println!("{l}");
    }
}
