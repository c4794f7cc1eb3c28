//! National identifier checks: Finnish HETU (DVV, "Reform of personal identity codes"), Swedish
//! personnummer (Skatteverket), Norwegian fødselsnummer (Skatteetaten), Danish CPR (cpr.dk). Each
//! returns why a value is not a valid identifier.

/// HETU century signs (decree 690/2022, in force 1 Jan 2023).
const HETU_SIGNS: &[(char, i32)] = &[
    ('+', 1800),
    ('-', 1900),
    ('Y', 1900),
    ('X', 1900),
    ('W', 1900),
    ('V', 1900),
    ('U', 1900),
    ('A', 2000),
    ('B', 2000),
    ('C', 2000),
    ('D', 2000),
    ('E', 2000),
    ('F', 2000),
];

/// The signs known before 2023: what outdated validators accept.
const HETU_SIGNS_PRE_2023: &[char] = &['+', '-', 'A'];

const HETU_CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// A Finnish henkilötunnus `DDMMYYCZZZQ`. With `pre_2023_only`, only `+ - A` are known (a
/// deliberate fault of the reference RP).
pub fn hetu(s: &str, pre_2023_only: bool) -> Result<(), String> {
    let b = s.as_bytes();
    if b.len() != 11 || !s.is_ascii() {
        return Err("a HETU has 11 ASCII characters".into());
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = &s[r];
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())
            .flatten()
    };
    let (Some(dd), Some(mm), Some(yy), Some(zzz)) =
        (digits(0..2), digits(2..4), digits(4..6), digits(7..10))
    else {
        return Err("a HETU is DDMMYY, a century sign, 3 digits and a check character".into());
    };
    let sign = b[6] as char;
    if pre_2023_only && !HETU_SIGNS_PRE_2023.contains(&sign) {
        return Err(format!("unknown century sign `{sign}`"));
    }
    let Some(&(_, century)) = HETU_SIGNS.iter().find(|(c, _)| *c == sign) else {
        return Err(format!("unknown century sign `{sign}`"));
    };
    if !valid_date(century + yy as i32, mm, dd) {
        return Err("the birth date does not exist".into());
    }
    if zzz < 2 {
        return Err("individual numbers 000 and 001 are not issued".into());
    }
    let n = (dd * 10_000 + mm * 100 + yy) as u64 * 1000 + zzz as u64;
    let want = HETU_CHECK[(n % 31) as usize] as char;
    if b[10] as char != want {
        return Err(format!(
            "check character is `{}`, expected `{want}`",
            b[10] as char
        ));
    }
    Ok(())
}

/// A Swedish personnummer or samordningsnummer (day + 60): `YYMMDD-NNNC`, `YYMMDD+NNNC`,
/// `YYYYMMDDNNNC` or `YYYYMMDD-NNNC`. Luhn over `YYMMDDNNN`.
pub fn personnummer(s: &str) -> Result<(), String> {
    personnummer_checked(s, true)
}

/// `personnummer` with the Luhn digit checked or not (`luhn: false` is a reference-RP fault).
pub fn personnummer_checked(s: &str, luhn: bool) -> Result<(), String> {
    let digits: String = s.chars().filter(|c| *c != '-' && *c != '+').collect();
    let seps = s.len() - digits.len();
    if !digits.bytes().all(|c| c.is_ascii_digit()) || seps > 1 {
        return Err("a personnummer is digits with at most one `-` or `+`".into());
    }
    let (ten, full_year) = match digits.len() {
        10 => (&digits[..], None),
        12 => (&digits[2..], digits[..4].parse::<i32>().ok()),
        _ => return Err("a personnummer has 10 or 12 digits".into()),
    };
    let num = |r: std::ops::Range<usize>| ten[r].parse::<u32>().unwrap_or(0);
    let (yy, mm, mut dd) = (num(0..2), num(2..4), num(4..6));
    if dd > 60 {
        dd -= 60; // samordningsnummer
    }
    // With 10 digits the century is not written; any century that makes the date real will do.
    let date_ok = match full_year {
        Some(y) => valid_date(y, mm, dd),
        None => [1800, 1900, 2000]
            .iter()
            .any(|c| valid_date(c + yy as i32, mm, dd)),
    };
    if !date_ok {
        return Err("the birth date does not exist".into());
    }
    if num(6..9) == 0 {
        return Err("the birth number 000 is not issued".into());
    }
    let sum: u32 = ten.bytes().take(9).enumerate().fold(0, |acc, (i, c)| {
        let d = (c - b'0') as u32 * if i % 2 == 0 { 2 } else { 1 };
        acc + d / 10 + d % 10
    });
    let want = (10 - sum % 10) % 10;
    if luhn && num(9..10) != want {
        return Err(format!(
            "the Luhn check digit is {}, expected {want}",
            num(9..10)
        ));
    }
    Ok(())
}

/// A Norwegian fødselsnummer, D-nummer (day + 40), H-nummer (month + 40) or synthetic test
/// number (month + 80). The second control digit must hold; the first accepts the remainders 0–3
/// of the control calculation that applies to numbers issued from 2032 (a superset of today's
/// rule; Skatteetaten, "Nye fødselsnummer og d-nummer fra 2032").
pub fn fodselsnummer(s: &str) -> Result<(), String> {
    if s.len() != 11 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err("a fødselsnummer has 11 digits".into());
    }
    let d: Vec<u32> = s.bytes().map(|c| (c - b'0') as u32).collect();
    let weighted = |w: &[u32]| -> u32 { w.iter().zip(&d).map(|(a, b)| a * b).sum::<u32>() % 11 };
    if weighted(&[3, 7, 6, 1, 8, 9, 4, 5, 2, 1]) > 3 {
        return Err("the first control digit does not match".into());
    }
    if weighted(&[5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1]) != 0 {
        return Err("the second control digit does not match".into());
    }
    let mut dd = d[0] * 10 + d[1];
    let mut mm = d[2] * 10 + d[3];
    let yy = (d[4] * 10 + d[5]) as i32;
    if dd > 40 {
        dd -= 40;
    }
    if mm > 80 {
        mm -= 80;
    } else if mm > 40 {
        mm -= 40;
    }
    let ind = d[6] * 100 + d[7] * 10 + d[8];
    let year = match ind {
        0..=499 => 1900 + yy,
        500..=749 if yy >= 54 => 1800 + yy,
        500..=999 if yy <= 39 => 2000 + yy,
        900..=999 if yy >= 40 => 1900 + yy,
        _ => return Err("the individual number does not fit the birth year".into()),
    };
    if !valid_date(year, mm, dd) {
        return Err("the birth date does not exist".into());
    }
    Ok(())
}

/// A Danish CPR number `DDMMYY-SSSS` or `DDMMYYSSSS`. Mod-11 is deliberately not checked: numbers
/// issued since 1 Oct 2007 need not satisfy it.
pub fn cpr(s: &str) -> Result<(), String> {
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    if digits.len() != 10
        || s.len() - digits.len() > 1
        || !digits.bytes().all(|c| c.is_ascii_digit())
    {
        return Err("a CPR number has 10 digits, optionally `DDMMYY-SSSS`".into());
    }
    let num = |r: std::ops::Range<usize>| digits[r].parse::<u32>().unwrap_or(0);
    let (dd, mm, yy, d7) = (num(0..2), num(2..4), num(4..6) as i32, num(6..7));
    // Century from the 7th digit and the year (CPR "Personnummeret i CPR-systemet").
    let year = match (d7, yy) {
        (0..=3, _) => 1900 + yy,
        (4 | 9, 0..=36) => 2000 + yy,
        (4 | 9, _) => 1900 + yy,
        (5..=8, 0..=57) => 2000 + yy,
        (_, _) => 1800 + yy,
    };
    if !valid_date(year, mm, dd) {
        return Err("the birth date does not exist".into());
    }
    Ok(())
}

fn valid_date(year: i32, month: u32, day: u32) -> bool {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hetu_vectors() {
        for ok in [
            "131052-308T",
            "070770-905D",
            "010170-999R",
            "220750-999Y",
            "141002A909X",
            "010594Y9032",
            "010100-969P",
            "210281-9988",
        ] {
            assert_eq!(hetu(ok, false), Ok(()), "{ok}");
        }
        assert!(hetu("010594Y9032", true).is_err());
        assert!(hetu("141002A909X", true).is_ok());
        for bad in [
            "010101-111A",
            "310299-999R",
            "131052G308T",
            "131052-308t",
            " 131052-308T",
            "131052-308",
            "131052-000L",
            "ääääää-308T",
        ] {
            assert!(hetu(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn personnummer_vectors() {
        assert_eq!(personnummer("640823-3234"), Ok(()));
        assert_eq!(personnummer("196408233234"), Ok(()));
        assert_eq!(personnummer("640883-3231"), Ok(()), "samordningsnummer");
        assert!(personnummer("640823-3235").is_err());
        assert!(personnummer("641323-3230").is_err());
        assert!(personnummer("64-0823-3234").is_err());
    }

    #[test]
    fn fodselsnummer_vectors() {
        assert_eq!(fodselsnummer("31129956715"), Ok(()));
        assert!(fodselsnummer("31129956716").is_err());
        assert!(fodselsnummer("3112995671").is_err());
        // D-number of the same person: day + 40, control digits recomputed.
        assert!(fodselsnummer("71129956715").is_err());
    }

    #[test]
    fn cpr_ignores_mod_11() {
        assert_eq!(cpr("111111-1118"), Ok(()));
        assert_eq!(cpr("010190-1234"), Ok(()));
        assert!(cpr("320190-1234").is_err());
        assert!(cpr("0101901234x").is_err());
    }
}
