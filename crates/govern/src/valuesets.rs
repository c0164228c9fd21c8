//! Value sets the rules refer to by name: Chinese national standards where they exist, the FHIR
//! ones where submissions use FHIR's codes. Lists, not ifs: a rule names the set it checks.

/// A value set by name: `(systems accepted, codes)`. `None` for an unknown name (a rule set
/// naming one is refused before activation).
pub fn lookup(name: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match name {
        // FHIR administrative gender, and GB/T 2261.1 (0 未知, 1 男, 2 女, 9 未说明).
        "gender" => (&[""], &["male", "female", "other", "unknown"]),
        "gb2261-sex" => (&["urn:oid:2.16.156.10011.2.3.3.4"], &["0", "1", "2", "9"]),
        // ABO and Rh(D) (WS 445 / ISBT 128 text): the codes platforms exchange.
        "abo" => (&["urn:tongdang:abo"], &["A", "B", "O", "AB"]),
        "rh" => (&["urn:tongdang:rh"], &["positive", "negative", "+", "-"]),
        "observation-status" => {
            (&[""], &["registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"])
        }
        "immunization-status" => (&[""], &["completed", "entered-in-error", "not-done"]),
        "encounter-status" => (
            &[""],
            &["planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"],
        ),
        // Vaccines of the national immunization programme, in the platform's code system (the
        // synthetic province and the demo use it; CVX and other systems are not judged).
        "vaccine" => (
            &["urn:tongdang:cs:vaccine"],
            &[
                "HepB", "BCG", "IPV", "bOPV", "DTaP", "DT", "MMR", "JE-L", "JE-I", "MPSV-A", "MPSV-AC", "HepA-L", "HepA-I",
                "Flu", "COVID-19", "EV71", "HPV", "PPV23", "Var", "Hib",
            ],
        ),
        _ => return None,
    })
}

/// An ICD-10 code as written in Chinese records (GB/T 14396 / the national clinical edition):
/// a letter, two digits, optionally a dot and up to four more characters (`I10`, `E11.9`,
/// `J45.901`, `S72.000x011` is not one).
pub fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() < 3
        || !b[0].is_ascii_uppercase()
        || !b[1].is_ascii_digit()
        || !(b[2].is_ascii_digit() || b[2] == b'A' || b[2] == b'B')
    {
        return false;
    }
    match &b[3..] {
        [] => true,
        [b'.', rest @ ..] => (1..=4).contains(&rest.len()) && rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'+'),
        _ => false,
    }
}

/// A UCUM unit code, checked for form (not the full grammar): printable ASCII, no spaces, not
/// empty. `mmol/L`, `10*9/L`, `%`, `g/dL`, `{copies}/mL`.
pub fn is_ucum_form(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_codes_in_their_written_forms() {
        for ok in ["I10", "E11.9", "J45.901", "C34.1", "O80", "U07.1", "K35.8+"] {
            assert!(is_icd10(ok), "{ok}");
        }
        for bad in ["", "I1", "i10", "110", "E11.", "E11.90011", "E119", "44054006"] {
            assert!(!is_icd10(bad), "{bad}");
        }
    }
}
