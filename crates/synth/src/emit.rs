//! FHIR R4 resources, one compact JSON line each, and the clinical events that produce them.
//!
//! Every resource only refers to resources emitted before it (the Patient, an Encounter, the
//! Observations of a report), so any prefix of a submission is self-contained; the benchmark
//! stream relies on that when it cuts a person's events to an exact count.

use rand::RngExt;
use serde_json::{Value, json};
use tongdang_identity::systems;

use crate::Resident;
use crate::codes::{
    self, ACUTE, ALLERGENS, BLOOD_GROUPS, BLOOD_PRODUCTS, CHRONIC, Drug, Dx, LABS, Op, Panel, STAYS, Stay, VACCINES, Vital,
};
use crate::orgs::Tier;
use crate::people::Profile;
use crate::util::{self, Dt, SynthRng, age_on, base64, date_str, normal, office_time, pick, poisson, round_to};

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const V2_0074: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
const SNOMED: &str = "http://snomed.info/sct";
const CS_BLOOD: &str = "urn:tongdang:cs:blood";
const CS_VACCINE: &str = "urn:tongdang:cs:vaccine";
const CS_DRUG: &str = "urn:tongdang:cs:drug";
const CS_ICD9CM3: &str = "urn:tongdang:cs:icd-9-cm-3";

/// Resource kinds that get their own id sequence within an institution.
#[derive(Clone, Copy)]
enum K {
    Enc,
    Cond,
    Obs,
    Rpt,
    Med,
    Proc,
    Imm,
    Alg,
    Doc,
}

const PREFIX: [&str; 9] = ["enc", "cond", "obs", "rpt", "med", "proc", "imm", "alg", "doc"];

/// Collects the lines of one institution and numbers its resources.
#[derive(Default)]
pub(crate) struct Emitter {
    next: [u64; 9],
    pub lines: Vec<String>,
}

/// An institution and one of its patients.
pub(crate) struct Ctx<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub tier: Tier,
    pub text_only_name: bool,
    pub omit_health_code: bool,
    pub resident: &'a Resident,
    pub profile: &'a Profile,
    pub local_id: String,
    /// Julian days bounding every event: the history window, never before birth, never after today.
    pub start: i32,
    pub today: i32,
}

impl Ctx<'_> {
    fn subject(&self) -> Value {
        json!({ "reference": format!("Patient/{}", self.local_id) })
    }

    fn age(&self, day: i32) -> i32 {
        age_on(self.profile.birth, day)
    }

    fn male(&self) -> bool {
        self.resident.male
    }

    fn provider(&self) -> Value {
        json!({ "display": self.name })
    }

    fn random_day(&self, rng: &mut SynthRng) -> i32 {
        rng.random_range(self.start..=self.today)
    }
}

fn reference(kind: &str, id: &str) -> Value {
    json!({ "reference": format!("{kind}/{id}") })
}

fn coded(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code, "display": display }], "text": display })
}

/// A UCUM quantity; whole numbers print without a fraction (130, not 130.0).
fn quantity(value: f64, unit: &str, ucum: &str) -> Value {
    let value = if value.fract() == 0.0 && value.abs() < 1e15 { json!(value as i64) } else { json!(value) };
    json!({ "value": value, "unit": unit, "system": UCUM, "code": ucum })
}

fn reference_range(low: Option<f64>, high: Option<f64>, unit: &str, ucum: &str) -> Option<Value> {
    let mut range = serde_json::Map::new();
    if let Some(l) = low {
        range.insert("low".into(), quantity(l, unit, ucum));
    }
    if let Some(h) = high {
        range.insert("high".into(), quantity(h, unit, ucum));
    }
    (!range.is_empty()).then(|| Value::Array(vec![Value::Object(range)]))
}

fn interpretation(value: f64, low: Option<f64>, high: Option<f64>) -> Option<Value> {
    let (code, display) = if low.is_some_and(|l| value < l) {
        ("L", "Low")
    } else if high.is_some_and(|h| value > h) {
        ("H", "High")
    } else {
        return None;
    };
    Some(json!([{ "coding": [{ "system": INTERPRETATION, "code": code, "display": display }] }]))
}

/// A stable standard-normal trait of a person (height, blood pressure), so repeated measurements
/// of one person agree with each other.
fn trait_z(profile: &Profile, salt: u64) -> f64 {
    let bits = util::mix((u64::from(profile.drug_choice) << 16) ^ (profile.birth as u64) ^ salt.rotate_left(48));
    let sum: f64 = (0..4).map(|i| f64::from(((bits >> (16 * i)) & 0xFFFF) as u32) / 65535.0).sum();
    (sum - 2.0) * 3f64.sqrt()
}

/// Kinds of clinical events a pair (institution, patient) can have.
pub(crate) enum Ev {
    Acute {
        emergency: bool,
    },
    Chronic,
    Stay(&'static Stay),
    Checkup,
    Allergy,
    Vaccine {
        vaccine: usize,
        dose: u32,
    },
    Donation {
        first: bool,
    },
    /// Benchmark filler: one vaccine dose appropriate to the person's age that day.
    AnyVaccine,
}

/// What an institution does for one patient, decided when the province is generated.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    /// Outpatient and inpatient care; rates are per year.
    Hospital { main: bool, acute: f32, chronic: f32, stays: f32, checkups: bool },
    /// Community care: acute and chronic visits, and for some patients their vaccinations.
    Primary { acute: f32, chronic: f32, vaccinates: bool },
    /// Yearly physical examinations.
    Exam,
    /// Vaccinations at the public-health institution.
    Vaccines,
    /// Blood donations.
    Blood,
}

impl Emitter {
    fn id(&mut self, k: K) -> String {
        let n = &mut self.next[k as usize];
        *n += 1;
        format!("{}-{:06}", PREFIX[k as usize], n)
    }

    /// Serializes compactly with `resourceType` and `id` first, as FHIR examples and people
    /// reading NDJSON expect (serde_json would otherwise sort them among the other keys).
    fn push(&mut self, v: Value) {
        let Value::Object(mut map) = v else { return };
        let head = match (map.remove("resourceType"), map.remove("id")) {
            (Some(rt), Some(id)) => format!("{{\"resourceType\":{rt},\"id\":{id}"),
            (Some(rt), None) => format!("{{\"resourceType\":{rt}"),
            (None, Some(id)) => format!("{{\"id\":{id}"),
            (None, None) => "{".to_owned(),
        };
        let rest = Value::Object(map).to_string();
        let mut line = head;
        if rest.len() > 2 {
            if line.len() > 1 {
                line.push(',');
            }
            line.push_str(&rest[1..]);
        } else {
            line.push('}');
        }
        self.lines.push(line);
    }

    /// The Patient as this institution registered them.
    pub fn patient(&mut self, c: &Ctx) {
        let r = c.resident;
        let mut identifier = vec![json!({
            "use": "usual",
            "type": { "coding": [{ "system": V2_0203, "code": "MR", "display": "Medical record number" }], "text": "院内患者号" },
            "system": systems::local_patient_system(c.code),
            "value": c.local_id,
        })];
        if let Some(id) = &r.national_id {
            identifier.push(json!({
                "use": "official",
                "type": { "coding": [{ "system": V2_0203, "code": "NI", "display": "National unique individual identifier" }], "text": "居民身份证" },
                "system": systems::NATIONAL_ID,
                "value": id,
            }));
        }
        if !c.omit_health_code {
            identifier
                .push(json!({ "type": { "text": "居民电子健康码" }, "system": systems::HEALTH_CODE, "value": r.health_code }));
        }
        let name = if c.text_only_name {
            json!([{ "use": "official", "text": r.name }])
        } else {
            json!([{ "use": "official", "text": r.name, "family": c.profile.family, "given": [c.profile.given] }])
        };
        let city = r.city.label_zh();
        let line = r.address.trim_start_matches("广东省").trim_start_matches(city).trim_start_matches(r.district.as_str());
        self.push(json!({
            "resourceType": "Patient",
            "id": c.local_id,
            "identifier": identifier,
            "active": true,
            "name": name,
            "telecom": [{ "system": "phone", "value": r.phone, "use": "mobile" }],
            "gender": if r.male { "male" } else { "female" },
            "birthDate": date_str(c.profile.birth),
            "address": [{
                "use": "home",
                "type": "physical",
                "text": r.address,
                "line": [line],
                "city": city,
                "district": r.district,
                "state": "广东省",
                "country": "CN",
            }],
        }));
    }

    fn encounter(&mut self, c: &Ctx, class: &str, kind: &str, dept: &str, start: Dt, end: Dt) -> String {
        let (display, type_text) = match class {
            "IMP" => ("inpatient encounter", "住院"),
            "EMER" => ("emergency", "急诊"),
            _ => ("ambulatory", kind),
        };
        let id = self.id(K::Enc);
        let mut enc = json!({
            "resourceType": "Encounter",
            "id": id,
            "status": "finished",
            "class": { "system": ACT_CODE, "code": class, "display": display },
            "type": [{ "text": type_text }],
            "serviceType": { "text": dept },
            "subject": c.subject(),
            "period": { "start": start.fhir(), "end": end.fhir() },
            "serviceProvider": c.provider(),
        });
        if class == "IMP" {
            enc["hospitalization"] = json!({ "admitSource": { "text": "门诊" }, "dischargeDisposition": { "text": "好转出院" } });
        }
        self.push(enc);
        id
    }

    /// A diagnosis made at an encounter; `resolved` when it has abated by today, else active.
    fn condition(&mut self, c: &Ctx, dx: &Dx, enc: &str, onset: Dt, recorded: Dt, abated: Option<Dt>) -> String {
        let id = self.id(K::Cond);
        let abated = abated.filter(|a| a.day < c.today);
        let mut cond = json!({
            "resourceType": "Condition",
            "id": id,
            "clinicalStatus": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": if abated.is_some() { "resolved" } else { "active" },
            }] },
            "verificationStatus": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "code": "confirmed",
            }] },
            "category": [{ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                "code": "encounter-diagnosis",
                "display": "Encounter Diagnosis",
            }] }],
            "code": coded(ICD10, dx.code, dx.zh),
            "subject": c.subject(),
            "encounter": reference("Encounter", enc),
            "onsetDateTime": onset.fhir(),
            "recordedDate": recorded.fhir(),
        });
        if let Some(a) = abated {
            cond["abatementDateTime"] = json!(a.fhir());
        }
        self.push(cond);
        id
    }

    fn medication(&mut self, c: &Ctx, drug: &Drug, enc: Option<&str>, authored: Dt, ongoing: bool) {
        let id = self.id(K::Med);
        let active = ongoing && authored.day + 30 >= c.today;
        let text = format!("{} {}", drug.name, drug.strength);
        let mut med = json!({
            "resourceType": "MedicationRequest",
            "id": id,
            "status": if active { "active" } else { "completed" },
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [{ "system": CS_DRUG, "code": drug.code, "display": drug.name }],
                "text": text,
            },
            "subject": c.subject(),
            "authoredOn": authored.fhir(),
            "requester": { "display": c.name },
            "dosageInstruction": [{ "text": drug.sig }],
        });
        if let Some(e) = enc {
            med["encounter"] = reference("Encounter", e);
        }
        self.push(med);
    }

    fn lab_value(&self, c: &Ctx, rng: &mut SynthRng, test: usize, day: i32, infection: bool) -> f64 {
        let lab = &LABS[test];
        let p = c.profile;
        let (mut mean, mut sd) = lab.dist[usize::from(!c.male())];
        match test {
            codes::GLU if p.has_chronic(codes::DIABETES, day) => (mean, sd) = (8.0, 1.8),
            codes::HBA1C if p.has_chronic(codes::DIABETES, day) => (mean, sd) = (7.3, 0.9),
            codes::CHOL if p.has_chronic(codes::HYPERLIPIDEMIA, day) => (mean, sd) = (6.0, 0.8),
            codes::TG if p.has_chronic(codes::HYPERLIPIDEMIA, day) => (mean, sd) = (2.3, 0.8),
            codes::WBC if infection => (mean, sd) = (11.0, 2.5),
            codes::HB if c.age(day) < 12 => (mean, sd) = (125.0, 9.0),
            codes::CREA if c.age(day) >= 70 => mean *= 1.15,
            _ => {}
        }
        round_to(normal(rng, mean, sd).max(mean * 0.2), lab.decimals)
    }

    /// A panel: its Observations, then the DiagnosticReport that lists them.
    fn panel(&mut self, c: &Ctx, rng: &mut SynthRng, panel: Panel, enc: Option<&str>, collected: Dt, infection: bool) {
        let issued = collected.plus(rng.random_range(60..240));
        let mut results = Vec::new();
        for &test in panel.tests() {
            let lab = &LABS[test];
            let value = self.lab_value(c, rng, test, collected.day, infection);
            let (low, high) = if c.male() { lab.male } else { lab.female };
            let id = self.id(K::Obs);
            let mut obs = json!({
                "resourceType": "Observation",
                "id": id,
                "status": "final",
                "category": [{ "coding": [{ "system": OBS_CATEGORY, "code": "laboratory", "display": "Laboratory" }] }],
                "code": coded(LOINC, lab.loinc, lab.zh),
                "subject": c.subject(),
                "effectiveDateTime": collected.fhir(),
                "issued": issued.fhir(),
                "performer": [c.provider()],
                "valueQuantity": quantity(value, lab.unit, lab.ucum),
            });
            if let Some(e) = enc {
                obs["encounter"] = reference("Encounter", e);
            }
            if let Some(i) = interpretation(value, low, high) {
                obs["interpretation"] = i;
            }
            if let Some(r) = reference_range(low, high, lab.unit, lab.ucum) {
                obs["referenceRange"] = r;
            }
            self.push(obs);
            results.push(reference("Observation", &id));
        }
        let (code, zh) = panel.code();
        let id = self.id(K::Rpt);
        let mut report = json!({
            "resourceType": "DiagnosticReport",
            "id": id,
            "status": "final",
            "category": [{ "coding": [{ "system": V2_0074, "code": "LAB", "display": "Laboratory" }] }],
            "code": coded(LOINC, code, zh),
            "subject": c.subject(),
            "effectiveDateTime": collected.fhir(),
            "issued": issued.fhir(),
            "performer": [c.provider()],
            "result": results,
        });
        if let Some(e) = enc {
            report["encounter"] = reference("Encounter", e);
        }
        self.push(report);
    }

    fn vital(&mut self, c: &Ctx, v: &Vital, value: f64, enc: &str, at: Dt, adult: bool) {
        let value = round_to(value, v.decimals);
        let id = self.id(K::Obs);
        let mut obs = json!({
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "category": [{ "coding": [{ "system": OBS_CATEGORY, "code": "vital-signs", "display": "Vital Signs" }] }],
            "code": coded(LOINC, v.loinc, v.zh),
            "subject": c.subject(),
            "encounter": reference("Encounter", enc),
            "effectiveDateTime": at.fhir(),
            "performer": [c.provider()],
            "valueQuantity": quantity(value, v.unit, v.ucum),
        });
        // Adult cut-offs would flag every child as abnormal.
        if adult {
            let (low, high) = v.range;
            if let Some(i) = interpretation(value, low, high) {
                obs["interpretation"] = i;
            }
            if let Some(r) = reference_range(low, high, v.unit, v.ucum) {
                obs["referenceRange"] = r;
            }
        }
        self.push(obs);
    }

    /// Blood pressure and pulse; with `body`, also height, weight and BMI.
    fn vitals(&mut self, c: &Ctx, rng: &mut SynthRng, enc: &str, at: Dt, body: bool) {
        let p = c.profile;
        let age = c.age(at.day);
        let years = f64::from(age) + f64::from(at.day - util::add_months(p.birth, 12 * age)) / 365.25;
        let adult = age >= 18;
        if body {
            let adult_height = if c.male() { 170.5 } else { 158.8 } + 6.0 * trait_z(p, 1) - 0.12 * f64::from((age - 60).max(0));
            let median = if years < 1.0 {
                50.0 + 25.0 * years
            } else if years < 3.0 {
                75.0 + 11.0 * (years - 1.0)
            } else if years < 12.0 {
                97.0 + 6.0 * (years - 3.0)
            } else if years < 18.0 {
                151.0 + (adult_height - 151.0) * (years - 12.0) / 6.0
            } else {
                adult_height
            };
            let height = if adult { median } else { median * (1.0 + 0.04 * trait_z(p, 1)) };
            let bmi_base = if adult {
                let metabolic = p.has_chronic(codes::DIABETES, at.day) || p.has_chronic(codes::HYPERTENSION, at.day);
                22.8 + 3.0 * trait_z(p, 2) + if metabolic { 1.8 } else { 0.0 }
            } else {
                16.0 + 1.5 * trait_z(p, 2)
            };
            let h = round_to(height, 1);
            let weight = round_to((bmi_base + normal(rng, 0.0, 0.4)).max(12.0) * (h / 100.0).powi(2), 1);
            self.vital(c, &codes::HEIGHT, h, enc, at, adult);
            self.vital(c, &codes::WEIGHT, weight, enc, at, adult);
            self.vital(c, &codes::BMI, weight / (h / 100.0).powi(2), enc, at, adult);
        }
        if age >= 3 {
            let hypertensive = p.has_chronic(codes::HYPERTENSION, at.day);
            let aging = f64::from((age - 30).max(0));
            let sys = 112.0 + 0.45 * aging + 9.0 * trait_z(p, 3) + if hypertensive { 18.0 } else { 0.0 } + normal(rng, 0.0, 6.0);
            let dia = 72.0 + 0.15 * aging + 6.0 * trait_z(p, 3) + if hypertensive { 9.0 } else { 0.0 } + normal(rng, 0.0, 4.0);
            let sys = if adult { sys } else { sys - 12.0 };
            self.vital(c, &codes::SYSTOLIC, sys, enc, at, adult);
            self.vital(c, &codes::DIASTOLIC, dia.min(sys - 25.0), enc, at, adult);
        }
        let pulse = if age < 3 { normal(rng, 115.0, 10.0) } else { normal(rng, 76.0, 9.0) };
        self.vital(c, &codes::HEART_RATE, pulse, enc, at, adult);
    }

    fn operation(&mut self, c: &Ctx, op: &Op, enc: &str, start: Dt, reason: &str) {
        let id = self.id(K::Proc);
        self.push(json!({
            "resourceType": "Procedure",
            "id": id,
            "status": "completed",
            "category": { "coding": [{ "system": SNOMED, "code": "387713003", "display": "Surgical procedure" }] },
            "code": coded(CS_ICD9CM3, op.code, op.zh),
            "subject": c.subject(),
            "encounter": reference("Encounter", enc),
            "performedPeriod": { "start": start.fhir(), "end": start.plus(op.minutes).fhir() },
            "performer": [{ "actor": c.provider() }],
            "reasonReference": [reference("Condition", reason)],
        }));
    }

    fn blood_procedure(&mut self, c: &Ctx, code: (&str, &str), kind: (&str, &str), note: &str, enc: Option<&str>, at: Dt) {
        let id = self.id(K::Proc);
        let mut proc = json!({
            "resourceType": "Procedure",
            "id": id,
            "status": "completed",
            "code": {
                "coding": [
                    { "system": SNOMED, "code": code.0, "display": code.1 },
                    { "system": CS_BLOOD, "code": kind.0, "display": kind.1 },
                ],
                "text": kind.1,
            },
            "subject": c.subject(),
            "performedDateTime": at.fhir(),
            "performer": [{ "actor": c.provider() }],
            "note": [{ "text": note }],
        });
        if let Some(e) = enc {
            proc["encounter"] = reference("Encounter", e);
        }
        self.push(proc);
    }

    fn blood_group(&mut self, c: &Ctx, enc: Option<&str>, at: Dt) {
        let (snomed, english, zh) = BLOOD_GROUPS[c.profile.blood_group].0;
        let id = self.id(K::Obs);
        let mut obs = json!({
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "category": [{ "coding": [{ "system": OBS_CATEGORY, "code": "laboratory", "display": "Laboratory" }] }],
            "code": coded(LOINC, "882-1", "ABO血型及RhD血型"),
            "subject": c.subject(),
            "effectiveDateTime": at.fhir(),
            "issued": at.plus(45).fhir(),
            "performer": [c.provider()],
            "valueCodeableConcept": { "coding": [{ "system": SNOMED, "code": snomed, "display": english }], "text": zh },
        });
        if let Some(e) = enc {
            obs["encounter"] = reference("Encounter", e);
        }
        self.push(obs);
    }

    fn immunization(&mut self, c: &Ctx, rng: &mut SynthRng, vaccine: usize, dose: u32, at: Dt) {
        let v = &VACCINES[vaccine];
        // Lots are made some months before use.
        let made = util::add_months(at.day, -rng.random_range(3..10));
        let made = util::date_of(made);
        let lot = format!("{}{:02}{:03}", made.year(), u8::from(made.month()), rng.random_range(1..400));
        let id = self.id(K::Imm);
        self.push(json!({
            "resourceType": "Immunization",
            "id": id,
            "status": "completed",
            "vaccineCode": {
                "coding": [{ "system": CS_VACCINE, "code": v.code, "display": v.zh }],
                "text": v.text,
            },
            "patient": c.subject(),
            "occurrenceDateTime": at.fhir(),
            "primarySource": true,
            "manufacturer": { "display": pick(rng, v.makers) },
            "lotNumber": lot,
            "performer": [{ "actor": c.provider() }],
            "protocolApplied": [{ "doseNumberPositiveInt": dose }],
        }));
    }

    fn allergy(&mut self, c: &Ctx, rng: &mut SynthRng, allergen: usize, at: Dt) {
        let a = &ALLERGENS[allergen].0;
        let reaction = *pick(rng, a.reactions);
        let severe = matches!(reaction, "呼吸困难" | "哮喘发作");
        let id = self.id(K::Alg);
        self.push(json!({
            "resourceType": "AllergyIntolerance",
            "id": id,
            "clinicalStatus": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                "code": "active",
            }] },
            "verificationStatus": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                "code": if rng.random_bool(0.8) { "confirmed" } else { "unconfirmed" },
            }] },
            "type": "allergy",
            "category": [a.category],
            "criticality": if severe { "high" } else { "low" },
            "code": { "text": a.zh },
            "patient": c.subject(),
            "recordedDate": at.fhir(),
            "reaction": [{ "manifestation": [{ "text": reaction }], "severity": if severe { "severe" } else { "mild" } }],
        }));
    }

    fn document(&mut self, c: &Ctx, loinc: (&str, &str), enc: &str, period: (Dt, Dt), at: Dt, text: &str) {
        let id = self.id(K::Doc);
        self.push(json!({
            "resourceType": "DocumentReference",
            "id": id,
            "status": "current",
            "docStatus": "final",
            "type": coded(LOINC, loinc.0, loinc.1),
            "subject": c.subject(),
            "date": at.fhir(),
            "author": [c.provider()],
            "custodian": c.provider(),
            "description": loinc.1,
            "content": [{ "attachment": {
                "contentType": "text/plain",
                "language": "zh-CN",
                "data": base64(text.as_bytes()),
                "size": text.len(),
                "title": loinc.1,
                "creation": at.fhir(),
            } }],
            "context": {
                "encounter": [reference("Encounter", enc)],
                "period": { "start": period.0.fhir(), "end": period.1.fhir() },
            },
        }));
    }

    fn pick_drug(c: &Ctx, rng: &mut SynthRng, drugs: &'static [Drug]) -> Option<&'static Drug> {
        let allergic = c.profile.allergy.is_some_and(codes::excludes_beta_lactams);
        let allowed: Vec<&'static Drug> = drugs.iter().filter(|d| !(allergic && codes::is_beta_lactam(d))).collect();
        (!allowed.is_empty()).then(|| allowed[rng.random_range(0..allowed.len())])
    }

    /// An outpatient or emergency visit for an acute illness.
    fn acute_visit(&mut self, c: &Ctx, rng: &mut SynthRng, day: i32, emergency: bool) {
        let age = c.age(day);
        let weights: Vec<f64> = ACUTE
            .iter()
            .map(|a| {
                let ok = (a.min_age..=a.max_age).contains(&age) && a.sex.admits(c.male()) && a.emergency == emergency;
                let w = if age < 14 { a.weight_child } else { a.weight_adult };
                if ok { f64::from(w) } else { 0.0 }
            })
            .collect();
        let Some(i) = util::pick_index(rng, &weights) else {
            return;
        };
        let a = &ACUTE[i];
        let (start, end) = if emergency {
            let s = Dt::at(day, rng.random_range(0..19), rng.random_range(0..60));
            (s, s.plus(rng.random_range(60..240)))
        } else {
            let s = office_time(rng, day);
            (s, s.plus(rng.random_range(8..40)))
        };
        let dept = if age < 14 && !emergency { "儿科" } else { a.dept };
        let enc = self.encounter(c, if emergency { "EMER" } else { "AMB" }, "门诊", dept, start, end);
        let onset_day = (day - rng.random_range(0..4)).max(c.profile.birth);
        let onset = Dt::at(onset_day, rng.random_range(6..22), rng.random_range(0..60)).min(start);
        self.condition(c, &a.dx, &enc, onset, start, Some(onset.plus(7 * 1440)));
        if rng.random_bool(a.cbc * 0.7) {
            self.panel(c, rng, Panel::Cbc, Some(&enc), start.plus(5), a.cbc > 0.3);
        }
        let drugs = if age < 12 { a.child_drugs } else { a.drugs };
        let n = if rng.random_bool(0.35) { 2 } else { 1 };
        let mut prescribed: Vec<&str> = Vec::new();
        for _ in 0..n {
            if let Some(d) = Self::pick_drug(c, rng, drugs).filter(|d| !prescribed.contains(&d.name)) {
                prescribed.push(d.name);
                self.medication(c, d, Some(&enc), start.plus(4), false);
            }
        }
        if c.tier.is_hospital() && rng.random_bool(0.12) {
            let text = format!(
                "门诊病历\n患者：{}，{}，{}岁\n主诉：{}相关症状{}天。\n诊断：{}\n处理：{}。",
                c.resident.name,
                if c.male() { "男" } else { "女" },
                age,
                a.dx.zh,
                day - onset_day + 1,
                a.dx.zh,
                if prescribed.is_empty() { "对症处理".to_owned() } else { prescribed.join("、") }
            );
            self.document(c, ("34108-1", "门诊病历"), &enc, (start, end), end, &text);
        }
    }

    /// A follow-up visit for the chronic conditions diagnosed by `day`.
    fn chronic_visit(&mut self, c: &Ctx, rng: &mut SynthRng, day: i32) {
        let p = c.profile;
        let active: Vec<(usize, i32)> = p.chronic.iter().copied().filter(|&(_, onset)| onset <= day).collect();
        let Some(&(first, _)) = active.first() else {
            return;
        };
        let start = office_time(rng, day);
        let dept = if c.tier == Tier::Primary { "全科" } else { CHRONIC[first].dept };
        let enc = self.encounter(c, "AMB", "门诊", dept, start, start.plus(rng.random_range(5..25)));
        for &(ci, onset) in &active {
            self.condition(c, &CHRONIC[ci].dx, &enc, Dt::at(onset, 9, 0), start, None);
        }
        if p.has_chronic(codes::HYPERTENSION, day) && rng.random_bool(0.6) {
            self.vitals(c, rng, &enc, start.plus(2), false);
        }
        if rng.random_bool(0.2) {
            let mut done: Vec<Panel> = Vec::new();
            for &(ci, _) in &active {
                for &panel in CHRONIC[ci].panels {
                    if !done.contains(&panel) {
                        done.push(panel);
                        self.panel(c, rng, panel, Some(&enc), start.plus(10), false);
                    }
                }
            }
        }
        for &(ci, _) in &active {
            self.medication(c, p.chronic_drug(ci), Some(&enc), start.plus(6), true);
        }
    }

    /// An admission, from the Encounter to the discharge summary.
    fn stay(&mut self, c: &Ctx, rng: &mut SynthRng, day: i32, s: &Stay) {
        let wanted = rng.random_range(s.los.0..=s.los.1);
        let los = wanted.min(c.today - c.start);
        let day = day.min(c.today - los).max(c.start);
        let admit = Dt::at(day, rng.random_range(8..17), rng.random_range(0..60));
        let discharge =
            if los == 0 { admit.plus(180) } else { Dt::at(day + los, rng.random_range(9..12), rng.random_range(0..60)) };
        let enc = self.encounter(c, "IMP", "住院", s.dept, admit, discharge);
        let abated = s.requires.is_none().then_some(discharge);
        let principal = self.condition(c, &s.dx, &enc, Dt::at(day, 7, 0).min(admit), admit, abated);
        let comorbid: Vec<usize> = c.profile.chronic.iter().filter(|&&(_, o)| o <= day).map(|&(ci, _)| ci).take(2).collect();
        for &ci in &comorbid {
            if s.requires != Some(ci) {
                let onset = c.profile.chronic.iter().find(|x| x.0 == ci).map_or(day, |x| x.1);
                self.condition(c, &CHRONIC[ci].dx, &enc, Dt::at(onset, 9, 0), admit, None);
            }
        }
        let labs_at = admit.plus(30);
        self.panel(c, rng, Panel::Cbc, Some(&enc), labs_at, s.dx.code == "J18.9");
        if c.age(day) >= 14 {
            let panel = if rng.random_bool(0.5) { Panel::Liver } else { Panel::Renal };
            self.panel(c, rng, panel, Some(&enc), labs_at, false);
        }
        let transfused = rng.random_bool(s.transfusion);
        if transfused || (s.op.is_some() && rng.random_bool(0.4)) {
            self.blood_group(c, Some(&enc), labs_at.plus(10));
        }
        let mut drug_names = Vec::new();
        for d in s.drugs {
            if !(c.profile.allergy.is_some_and(codes::excludes_beta_lactams) && codes::is_beta_lactam(d)) {
                drug_names.push(d.name);
                self.medication(c, d, Some(&enc), admit.plus(60), false);
            }
        }
        let op_day = if los >= 2 { day + 1 } else { day };
        let op_at = if op_day == day { admit.plus(120) } else { Dt::at(op_day, rng.random_range(8..14), 0) };
        if let Some(op) = &s.op {
            self.operation(c, op, &enc, op_at, &principal);
        }
        if transfused {
            let product = *pick(rng, BLOOD_PRODUCTS);
            let at = if s.op.is_some() { op_at.plus(30) } else { labs_at.plus(240) };
            self.blood_procedure(
                c,
                ("116859006", "Transfusion of blood product"),
                ("transfusion", "输血"),
                product,
                Some(&enc),
                at,
            );
        }
        if los >= 3 && rng.random_bool(0.6) {
            let at = Dt::at(day + 1, 10, rng.random_range(0..60));
            let text = format!(
                "{} 主治医师查房记录\n患者{}，神志清，精神可，生命体征平稳。{}诊断明确，继续目前治疗方案，密切观察病情变化。",
                date_str(day + 1),
                c.resident.name,
                s.dx.zh
            );
            self.document(c, ("11506-3", "病程记录"), &enc, (admit, discharge), at, &text);
        }
        if rng.random_bool(0.9) {
            let surgery = s.op.as_ref().map_or(String::new(), |op| format!("于{}行{}，过程顺利。", date_str(op_day), op.zh));
            let text = format!(
                "出院小结\n患者{}，{}，{}岁，因“{}”于{}入住{}。{}住院期间予{}等治疗，病情好转，于{}出院。\n出院诊断：{}\n出院医嘱：规律服药，注意休息，{}周后门诊复查。",
                c.resident.name,
                if c.male() { "男" } else { "女" },
                c.age(day),
                s.dx.zh,
                date_str(day),
                s.dept,
                surgery,
                if drug_names.is_empty() { "对症支持".to_owned() } else { drug_names.join("、") },
                date_str(discharge.day),
                s.dx.zh,
                rng.random_range(1..5)
            );
            self.document(c, ("18842-5", "出院小结"), &enc, (admit, discharge), discharge, &text);
        }
    }

    /// A yearly physical: body measurements, vital signs, blood count and chemistry.
    fn checkup(&mut self, c: &Ctx, rng: &mut SynthRng, day: i32) {
        let start = Dt::at(day, rng.random_range(7..10), rng.random_range(0..60));
        let dept = if c.tier == Tier::Exam { "健康体检科" } else { "健康管理中心" };
        let enc = self.encounter(c, "AMB", "健康体检", dept, start, start.plus(rng.random_range(90..180)));
        self.vitals(c, rng, &enc, start.plus(20), true);
        self.panel(c, rng, Panel::Cbc, Some(&enc), start.plus(10), false);
        if c.age(day) >= 18 {
            self.panel(c, rng, Panel::Chemistry, Some(&enc), start.plus(10), false);
        }
    }

    fn donation(&mut self, c: &Ctx, rng: &mut SynthRng, day: i32, first: bool) {
        let at = Dt::at(day, rng.random_range(9..18), rng.random_range(0..60));
        if first {
            self.blood_group(c, None, at);
        }
        let note = if rng.random_bool(0.12) {
            "单采血小板 1治疗量".to_owned()
        } else {
            format!("全血 献血量 {} ml", pick(rng, &[200, 300, 400, 400, 400]))
        };
        self.blood_procedure(c, ("67889009", "Blood donation"), ("donation", "献血"), &note, None, at.plus(20));
    }

    /// A vaccine dose that fits the person's age on `day`, for the benchmark stream.
    fn any_vaccine(&mut self, c: &Ctx, rng: &mut SynthRng, day: i32) {
        let months = (c.age(day) * 12).max(0);
        let due: Vec<&(usize, u32, i32)> = codes::CHILD_SCHEDULE.iter().filter(|d| d.2 <= months).collect();
        let at = office_time(rng, day);
        if c.age(day) < 7 && !due.is_empty() {
            let &(v, dose, _) = due[rng.random_range(0..due.len())];
            self.immunization(c, rng, v, dose, at);
        } else {
            self.immunization(c, rng, codes::FLU, 1, at);
        }
    }

    /// Emits the resources of one event. Some events find nothing to record (no illness fits the
    /// patient's age), which the benchmark stream has to allow for.
    pub fn event(&mut self, c: &Ctx, rng: &mut SynthRng, day: i32, ev: &Ev) {
        match *ev {
            Ev::Acute { emergency } => self.acute_visit(c, rng, day, emergency),
            Ev::Chronic => self.chronic_visit(c, rng, day),
            Ev::Stay(s) => self.stay(c, rng, day, s),
            Ev::Checkup => self.checkup(c, rng, day),
            Ev::Allergy => {
                if let Some(a) = c.profile.allergy {
                    let at = office_time(rng, day);
                    self.allergy(c, rng, a, at);
                }
            }
            Ev::Vaccine { vaccine, dose } => {
                let at = office_time(rng, day);
                self.immunization(c, rng, vaccine, dose, at);
            }
            Ev::Donation { first } => self.donation(c, rng, day, first),
            Ev::AnyVaccine => self.any_vaccine(c, rng, day),
        }
    }

    /// A Patient and everything one institution recorded about them over the window.
    pub fn pair(&mut self, c: &Ctx, rng: &mut SynthRng, role: Role) {
        self.patient(c);
        let mut events = plan(c, rng, role);
        events.sort_by_key(|(day, _)| *day);
        for (day, ev) in &events {
            self.event(c, rng, *day, ev);
        }
    }

    /// Benchmark filler: a Patient, then events of mixed categories cut to exactly `entries`.
    pub fn bench_person(&mut self, c: &Ctx, rng: &mut SynthRng, entries: usize) {
        self.patient(c);
        let target = self.lines.len() + entries;
        let mut allergy_done = false;
        while self.lines.len() < target {
            let day = c.random_day(rng);
            let age = c.age(day);
            let roll = rng.random_range(0..100);
            let ev = match roll {
                0..30 => Ev::Acute { emergency: roll < 4 },
                30..42 if c.profile.chronic.iter().any(|&(_, o)| o <= day) => Ev::Chronic,
                42..50 => stay_event(c, rng, day).unwrap_or(Ev::Acute { emergency: false }),
                50..62 => Ev::Checkup,
                62..74 => Ev::AnyVaccine,
                74..82 if (18..=60).contains(&age) => Ev::Donation { first: roll < 76 },
                82..85 if !allergy_done && c.profile.allergy.is_some() => {
                    allergy_done = true;
                    Ev::Allergy
                }
                _ => Ev::Acute { emergency: false },
            };
            let before = self.lines.len();
            self.event(c, rng, day, &ev);
            if self.lines.len() == before {
                // An event can find nothing to record (no illness fits); a check-up always does.
                self.event(c, rng, day, &Ev::Checkup);
            }
        }
        self.lines.truncate(target);
    }
}

/// An admission reason that fits the patient on `day`, by frequency.
fn stay_event(c: &Ctx, rng: &mut SynthRng, day: i32) -> Option<Ev> {
    let age = c.age(day);
    let weights: Vec<f64> = STAYS
        .iter()
        .map(|s| {
            let ok = (s.min_age..=s.max_age).contains(&age)
                && s.sex.admits(c.male())
                && s.requires.is_none_or(|r| c.profile.has_chronic(r, day));
            if ok { f64::from(s.weight) } else { 0.0 }
        })
        .collect();
    util::pick_index(rng, &weights).map(|i| Ev::Stay(&STAYS[i]))
}

fn acute_rate_by_age(age: i32) -> f64 {
    match age {
        ..7 => 0.8,
        7..18 => 0.25,
        18..45 => 0.22,
        45..65 => 0.3,
        _ => 0.4,
    }
}

/// Admissions per year by age.
fn stay_rate_by_age(age: i32) -> f64 {
    match age {
        ..5 => 0.05,
        5..45 => 0.02,
        45..65 => 0.045,
        _ => 0.1,
    }
}

/// Days in `[from, to]`, Poisson-many at `per_year`.
fn days(rng: &mut SynthRng, from: i32, to: i32, per_year: f64) -> Vec<i32> {
    if from > to {
        return Vec::new();
    }
    let n = poisson(rng, per_year * f64::from(to - from + 1) / 365.25);
    (0..n).map(|_| rng.random_range(from..=to)).collect()
}

/// One day a year (each with probability `p`) over `[from, to]`.
fn yearly(rng: &mut SynthRng, from: i32, to: i32, p: f64) -> Vec<i32> {
    let mut out = Vec::new();
    let mut y = from;
    while y <= to {
        let end = (y + 364).min(to);
        if rng.random_bool(p) {
            out.push(rng.random_range(y..=end));
        }
        y += 365;
    }
    out
}

/// The events one institution records for one patient over the window, by its role; rates are
/// per year at the patient's current age, which is close enough over a few years.
fn plan(c: &Ctx, rng: &mut SynthRng, role: Role) -> Vec<(i32, Ev)> {
    let p = c.profile;
    let (start, end) = (c.start, c.today);
    let age_now = c.age(end);
    let mut out: Vec<(i32, Ev)> = Vec::new();
    let first_chronic = p.chronic.iter().map(|&(_, o)| o).min();
    let chronic_days = |rng: &mut SynthRng, rate: f32| -> Vec<i32> {
        first_chronic.map_or_else(Vec::new, |o| days(rng, o.max(start), end, f64::from(rate)))
    };
    match role {
        Role::Hospital { main, acute, chronic, stays, checkups } => {
            let rate = acute_rate_by_age(age_now) * f64::from(acute);
            for day in days(rng, start, end, rate) {
                let emergency = rng.random_bool(0.12);
                out.push((day, Ev::Acute { emergency }));
            }
            for day in chronic_days(rng, chronic) {
                out.push((day, Ev::Chronic));
            }
            for day in days(rng, start, end, stay_rate_by_age(age_now) * f64::from(stays)) {
                if let Some(ev) = stay_event(c, rng, day) {
                    out.push((day, ev));
                }
            }
            if main && !c.male() {
                let mut births = days(rng, start, end, 0.09);
                births.sort_unstable();
                let mut last: Option<i32> = None;
                for day in births {
                    let age = c.age(day);
                    if (21..=41).contains(&age) && last.is_none_or(|l| day - l > 700) {
                        last = Some(day);
                        let s = if rng.random_bool(0.38) { &codes::CAESAREAN } else { &codes::VAGINAL_BIRTH };
                        out.push((day, Ev::Stay(s)));
                    }
                }
            }
            if checkups {
                for day in yearly(rng, start, end, 0.5) {
                    if c.age(day) >= 18 {
                        out.push((day, Ev::Checkup));
                    }
                }
            }
            if p.allergy.is_some() && (main || rng.random_bool(0.4)) {
                out.push((c.random_day(rng), Ev::Allergy));
            }
        }
        Role::Primary { acute, chronic, vaccinates } => {
            for day in days(rng, start, end, acute_rate_by_age(age_now) * f64::from(acute)) {
                out.push((day, Ev::Acute { emergency: false }));
            }
            for day in chronic_days(rng, chronic) {
                out.push((day, Ev::Chronic));
            }
            if vaccinates {
                vaccinations(c, rng, &mut out);
            }
            if p.allergy.is_some() && rng.random_bool(0.3) {
                out.push((c.random_day(rng), Ev::Allergy));
            }
        }
        Role::Exam => {
            for day in yearly(rng, start, end, 0.55) {
                if c.age(day) >= 18 {
                    out.push((day, Ev::Checkup));
                }
            }
        }
        Role::Vaccines => vaccinations(c, rng, &mut out),
        Role::Blood => {
            let mut day = start + rng.random_range(0..365);
            let mut first = true;
            while day <= end {
                if (18..=60).contains(&c.age(day)) {
                    out.push((day, Ev::Donation { first }));
                    first = false;
                }
                // Whole blood may be given every six months at most.
                day += rng.random_range(180..720);
            }
        }
    }
    out
}

/// The COVID-19 doses a person had: two in 2021 and a booster in 2022, at most the profile's count.
fn covid_doses(c: &Ctx, rng: &mut SynthRng) -> Vec<(i32, u32)> {
    let (Ok(y2021), Ok(y2022)) = (time::Date::from_ordinal_date(2021, 1), time::Date::from_ordinal_date(2022, 1)) else {
        return Vec::new();
    };
    let (y2021, y2022) = (util::jd(y2021), util::jd(y2022));
    let first = y2021 + rng.random_range(60..240);
    let second = first + rng.random_range(21..56);
    let third = (second + 180).max(y2022) + rng.random_range(0..150);
    [first, second, third].into_iter().zip(1..).take(c.profile.covid_doses as usize).collect()
}

/// The doses of the national schedule, seasonal influenza and COVID-19 that fall in the window.
fn vaccinations(c: &Ctx, rng: &mut SynthRng, out: &mut Vec<(i32, Ev)>) {
    let p = c.profile;
    let (start, end) = (c.start, c.today);
    for &(vaccine, dose, months) in codes::CHILD_SCHEDULE {
        let delay = if months == 0 { rng.random_range(0..2) } else { rng.random_range(0..12) };
        let day = util::add_months(p.birth, months) + delay;
        if (start..=end).contains(&day) {
            out.push((day, Ev::Vaccine { vaccine, dose }));
        }
    }
    if p.flu {
        let mut year = util::date_of(start).year();
        while let Ok(oct1) = time::Date::from_calendar_date(year, time::Month::October, 1) {
            let day = util::jd(oct1) + rng.random_range(0..75);
            if day > end {
                break;
            }
            if day >= start && c.age(day) >= 60 && rng.random_bool(0.8) {
                out.push((day, Ev::Vaccine { vaccine: codes::FLU, dose: 1 }));
            }
            year += 1;
        }
    }
    for (day, dose) in covid_doses(c, rng) {
        if (start..=end).contains(&day) && c.age(day) >= 18 {
            out.push((day, Ev::Vaccine { vaccine: codes::COVID, dose }));
        }
    }
}

/// Whether any vaccination would fall in the window, so that a vaccination link is worth making.
pub(crate) fn expects_vaccinations(profile: &Profile, start: i32, today: i32) -> bool {
    let child = util::add_months(profile.birth, 73) >= start;
    let covid_2021 = util::jd(time::macros::date!(2021 - 03 - 01));
    let adult_2021 = util::age_on(profile.birth, covid_2021) >= 18;
    let covid = profile.covid_doses > 0 && adult_2021 && (start..=today).contains(&(covid_2021 + 200));
    let flu = profile.flu && util::age_on(profile.birth, today) >= 60;
    child || covid || flu
}
