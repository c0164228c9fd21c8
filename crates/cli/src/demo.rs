//! `tongdang demo`: a synthetic Guangdong province, submitted through the same ingest pipeline as
//! real NDJSON submissions, then served.

use anyhow::anyhow;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;
use tongdang_core::{City, InstitutionKind, Level, Scope};
use tongdang_ingest::{Channel, Ingestor, Session};
use tongdang_store::Location;
use tongdang_store::Store;
use tongdang_synth::{Province, SynthConfig};

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Residents to generate.
    #[arg(long, default_value_t = 2000)]
    residents: usize,
    /// Seed of the generator (the same seed gives the same province).
    #[arg(long, default_value_t = 20241001)]
    seed: u64,
    #[command(flatten)]
    serve: crate::ServeArgs,
    /// Fill the data directory and exit instead of serving.
    #[arg(long)]
    no_serve: bool,
}

/// Lines per chunk handed to the pipeline.
const CHUNK: usize = 2000;

pub(crate) async fn run(location: &Location, args: &DemoArgs) -> anyhow::Result<()> {
    let store = crate::open(location).await?;
    let config = SynthConfig { residents: args.residents, seed: args.seed, ..SynthConfig::default() };
    let province = Province::generate(&config);
    let existing = store.counts().await?;
    if existing.persons == 0 {
        let started = Instant::now();
        for i in &province.institutions {
            store.upsert_institution(i).await?;
        }
        let ingestor = Ingestor::new(store.clone());
        let bar = ProgressBar::new(province.institutions.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} 生成演示数据 {wide_bar} {pos}/{len} 机构 {msg}")
                .map_err(|e| anyhow!("{e}"))?,
        );
        let mut resources = 0u64;
        let mut refused = 0u64;
        for submission in province.submissions() {
            let sub = ingestor.begin(submission.institution.clone(), Channel::Ndjson).await?;
            let mut session = Session::new(ingestor.clone(), sub, 10);
            let mut line = 0u64;
            for chunk in submission.lines.chunks(CHUNK) {
                let lines = chunk
                    .iter()
                    .map(|l| {
                        line += 1;
                        (line, Ok(l.clone()))
                    })
                    .collect();
                session.push(lines).await?;
            }
            let (summary, refusals) = session.finish().await?;
            let t = summary.totals();
            resources += t.read;
            refused += t.refused;
            if let Some((pos, issues)) = refusals.first() {
                tracing::warn!(?pos, reason = %issues[0], "a synthetic resource was refused");
            }
            bar.inc(1);
            bar.set_message(format!("{resources} 条资源"));
        }
        bar.finish_and_clear();
        let returned = submit_faulty(&ingestor, &province).await?;
        println!("通档 demo: {returned} faulty resources submitted by one hospital, returned to it (质控退还)");
        let checkpoint = store.checkpoint().await?;
        let counts = store.counts().await?;
        println!("通档 demo: ledger checkpoint of {} leaves signed", checkpoint.size);
        println!(
            "通档 demo: generated {} institutions, {} persons, {} entries from {resources} resources ({refused} refused) in {:.1} s",
            counts.institutions,
            counts.persons,
            counts.entries,
            started.elapsed().as_secs_f64()
        );
    } else {
        println!(
            "通档 demo: using the existing data in this directory ({} persons, {} entries)",
            existing.persons, existing.entries
        );
    }

    // The demo sign-in: a fresh key for a large hospital, printed once.
    let hospital = demo_hospital(&province).ok_or_else(|| anyhow!("the synthetic province has no institutions"))?;
    let key = crate::institution::issue_key(&*store, &hospital.code, &[Scope::Submit, Scope::Read], true).await?;
    // The provincial platform's operators run the patient index (review queue, merges).
    let platform = tongdang_core::Institution {
        code: tongdang_core::InstitutionCode::new("GD-PLATFORM").map_err(|e| anyhow!("{e}"))?,
        name: "广东省全民健康信息综合管理平台".into(),
        city: City::Guangzhou,
        level: Level::TertiaryA,
        ownership: tongdang_core::Ownership::Public,
        kind: InstitutionKind::ProvincialPlatform,
        connection: tongdang_core::ConnectionMode::Direct,
    };
    store.upsert_institution(&platform).await?;
    let operator = crate::institution::issue_key(&*store, &platform.code, &[Scope::Read, Scope::Mpi], true).await?;
    let index = store.mpi_counts().await?;
    let sample = match province.residents.first() {
        Some(r) => {
            store.persons_by_identifier(Some(tongdang_identity::systems::HEALTH_CODE), &r.health_code).await?.first().copied()
        }
        None => None,
    };
    let base = format!("http://{}", args.serve.listen);
    println!();
    println!("  网页 Web          {base}/");
    println!("  门户 Portals      {base}/signin   (sign in with the demo accounts below; docs/portals.md)");
    println!("  FHIR R4           {base}/fhir/metadata");
    println!("  API (OpenAPI)     {base}/api/v1/openapi.json");
    println!();
    println!("  演示登录 Demo sign-in: API key of {} ({}), scopes submit + read", hospital.name, hospital.code);
    println!("  export TONGDANG_KEY={key}");
    if let Some(p) = sample {
        println!("  # reads need the resident's authorization: post the booking below (or use an SMS code), then");
        println!("  curl -H \"Authorization: Bearer $TONGDANG_KEY\" '{base}/api/v1/persons/{p}/timeline?limit=5'");
        println!("  curl -H \"Authorization: Bearer $TONGDANG_KEY\" '{base}/fhir/Patient/{p}/$everything'");
    }
    println!("  # data governance (docs/governance.md): this hospital's returns and quality figures");
    println!("  curl -H \"Authorization: Bearer $TONGDANG_KEY\" '{base}/api/v1/returns?status=open'");
    println!("  curl -H \"Authorization: Bearer $TONGDANG_KEY\" '{base}/api/v1/quality/figures'");
    println!();
    println!(
        "  主索引运营 Patient-index operator: {} ({}), scopes read + mpi — {} persons, {} records, {} possible matches to review",
        platform.name, platform.code, index.persons, index.records, index.open_reviews
    );
    println!("  export TONGDANG_OPERATOR_KEY={operator}");
    println!("  curl -H \"Authorization: Bearer $TONGDANG_OPERATOR_KEY\" '{base}/api/v1/mpi/reviews?limit=5'");
    println!();
    // A booking platform of Guangzhou: posts appointments (with consent) for the city's institutions.
    let booking = tongdang_core::Institution {
        code: tongdang_core::InstitutionCode::new("GZ-BOOKING").map_err(|e| anyhow!("{e}"))?,
        name: "广州市预约挂号平台".into(),
        city: City::Guangzhou,
        level: Level::Primary,
        ownership: tongdang_core::Ownership::Public,
        kind: InstitutionKind::BookingPlatform,
        connection: tongdang_core::ConnectionMode::Direct,
    };
    store.upsert_institution(&booking).await?;
    // Guangzhou's city platform: its operator (gz-operator) sees the city's figures, orders, reports.
    let city_platform = tongdang_core::Institution {
        code: tongdang_core::InstitutionCode::new("GZ-CITY-PLATFORM").map_err(|e| anyhow!("{e}"))?,
        name: "广州市全民健康信息平台".into(),
        city: City::Guangzhou,
        level: Level::Primary,
        ownership: tongdang_core::Ownership::Public,
        kind: InstitutionKind::CityPlatform,
        connection: tongdang_core::ConnectionMode::Direct,
    };
    store.upsert_institution(&city_platform).await?;
    let booking_key = crate::institution::issue_key(&*store, &booking.code, &[Scope::Booking], true).await?;
    println!("  预约平台 Booking platform (simulated client): {} ({}), scope booking", booking.name, booking.code);
    println!("  export TONGDANG_BOOKING_KEY={booking_key}");
    if let Some(p) = sample {
        println!(
            "  curl -H \"Authorization: Bearer $TONGDANG_BOOKING_KEY\" -H 'Content-Type: application/json' -d '{{\"appointment_id\":\"A1\",\"patient\":\"{p}\",\"institution\":\"{}\",\"department\":\"全科医学科\",\"at\":\"{}\",\"consent\":true}}' {base}/api/v1/bookings",
            hospital.code.as_str(),
            tongdang_core::Timestamp::now().to_rfc3339_cst()
        );
    }
    println!();
    let mut serve = args.serve.clone();
    // The demo has no SMS gateway, app or police service to reach: it simulates them.
    serve.simulate_channels = true;
    if let (Location::DataDir(dir), Some(r), Some(p)) = (location, province.residents.first(), sample) {
        // The police simulator knows the demo resident's face: this file is the "live photo".
        // Neither file holds the ID number in plaintext.
        let photo = dir.join("demo-face.jpg");
        let bytes = format!("tongdang demo face of person {p}").into_bytes();
        std::fs::write(&photo, &bytes)?;
        let digest = data_encoding::HEXLOWER.encode(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let registry = dir.join("face-registry.json");
        let id_key = tongdang_access::channels::PoliceSimulator::id_key(r.national_id.as_deref().unwrap_or_default());
        std::fs::write(
            &registry,
            serde_json::to_string_pretty(&serde_json::json!([{ "id_sha256": id_key, "photo_sha256": digest }]))?,
        )?;
        if serve.face_registry.is_none() {
            serve.face_registry = Some(registry);
        }
        println!(
            "  人脸核验（模拟）Face verification (simulated police service): the demo resident's live photo is {}",
            photo.display()
        );
        println!();
    }
    // This month's provincial evaluation report, so the reports have one to show from the start.
    let month = tongdang_reports::Period::containing(tongdang_core::Timestamp::now());
    let font = tongdang_reports::Font::find(None).ok();
    let input =
        tongdang_reports::input(store.as_ref(), month, tongdang_reports::Scope::Province, tongdang_core::Timestamp::now())
            .await?;
    let rendered = tongdang_reports::render(&input, font.as_ref())?;
    store.insert_report(&rendered.record("demo", false, tongdang_core::Timestamp::now())).await?;
    println!(
        "  评估报告 Evaluation reports (docs/reports.md), as gd-operator: GET {base}/api/v1/reports, POST {base}/api/v1/reports {{\"period\":\"{month}\"}}"
    );
    println!(
        "    接入进度 roll-out: GET {base}/api/v1/rollout · 全链路监测 monitoring: GET {base}/api/v1/monitoring/overview · {base}/metrics"
    );
    if font.is_none() {
        println!("    (no CJK font installed: reports are kept as HTML only; apt-get install fonts-wqy-microhei for PDF)");
    }
    println!();
    let resident = province.residents.first().map(|r| r.phone.clone());
    let accounts = crate::account::demo_accounts(&store, &hospital.code, resident.as_deref().zip(sample)).await?;
    println!("  演示账号 Demo accounts (POST {base}/api/v1/auth/sign-in with login and password):");
    for (role, login, password) in &accounts {
        println!("    {role:<10} {login:<16} {password}");
    }
    if let Some(p) = sample {
        println!();
        println!("  授权调阅 Authorized reading (docs/access.md): as doctor01, ask the demo resident by SMS code,");
        println!("  read the code from the simulated SMS outbox, enter it, then read the record:");
        println!("    POST {base}/api/v1/access-requests {{\"patient\":\"{p}\",\"channel\":\"sms\"}}");
        println!("    GET  {base}/api/v1/simulators/sms/outbox");
        println!("    POST {base}/api/v1/access-requests/{{id}}/code {{\"code\":\"……\"}}");
        println!("    GET  {base}/api/v1/persons/{p}/timeline");
    }
    println!();
    if args.no_serve {
        return Ok(());
    }
    crate::serve(store, &serve).await
}

/// Resources with quality faults, as a careless hospital might send them, so the returns and the
/// quality figures of the demo hospital have something to show: a unit that is not UCUM, a
/// diagnosis code not written as ICD-10, a result dated in the future, a vaccination before birth.
async fn submit_faulty(ingestor: &Ingestor, province: &Province) -> anyhow::Result<u64> {
    let Some(hospital) = demo_hospital(province) else { return Ok(0) };
    let Some(submission) = province.submissions().find(|s| s.institution == hospital.code) else { return Ok(0) };
    let Some(patient) = submission.lines.iter().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["resourceType"] == "Patient").then(|| v["id"].as_str().map(str::to_string)).flatten()
    }) else {
        return Ok(0);
    };
    let subject = serde_json::json!({"reference": format!("Patient/{patient}")});
    let future = tongdang_core::Timestamp(tongdang_core::Timestamp::now().0 + 3 * 86_400_000_000).to_rfc3339_cst();
    let faulty = [
        serde_json::json!({"resourceType": "Observation", "id": "DEMO-QC-LAB-1", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "血糖"}]}, "subject": subject,
            "effectiveDateTime": "2026-11-20T08:00:00+08:00",
            "valueQuantity": {"value": 5.6, "unit": "毫摩尔/升", "system": "http://unitsofmeasure.org", "code": "毫摩尔/升"}}),
        serde_json::json!({"resourceType": "Condition", "id": "DEMO-QC-DX-1", "subject": subject,
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E119", "display": "2型糖尿病"}]},
            "recordedDate": "2026-11-20"}),
        serde_json::json!({"resourceType": "Observation", "id": "DEMO-QC-LAB-2", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5", "display": "体温"}]}, "subject": subject,
            "effectiveDateTime": future,
            "valueQuantity": {"value": 36.8, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"}}),
        serde_json::json!({"resourceType": "Immunization", "id": "DEMO-QC-VAC-1", "status": "completed",
            "vaccineCode": {"coding": [{"system": "urn:oid:2.16.156.10011.2.3.3.17", "code": "0201", "display": "乙肝疫苗"}]},
            "patient": subject, "occurrenceDateTime": "1900-01-01"}),
    ];
    let sub = ingestor.begin(hospital.code.clone(), Channel::Rest).await?;
    let mut session = Session::new(ingestor.clone(), sub, 10);
    session.push(faulty.iter().enumerate().map(|(n, r)| (n as u64 + 1, Ok(r.to_string()))).collect()).await?;
    let (summary, _) = session.finish().await?;
    Ok(summary.totals().refused)
}

/// The hospital the demo signs in as: a 三甲 hospital of Guangzhou.
fn demo_hospital(province: &Province) -> Option<&tongdang_core::Institution> {
    province
        .institutions
        .iter()
        .find(|i| i.city == City::Guangzhou && i.level == Level::TertiaryA && i.kind == InstitutionKind::Hospital)
        .or(province.institutions.first())
}
