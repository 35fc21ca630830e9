//! Amounts as integer minor units of an ISO 4217 currency.
//!
//! The number of minor units per major unit is the currency's ISO 4217
//! exponent (IDR 2, JPY 0, KWD 3). Only exact integer arithmetic is used:
//! a premium must add up to the rupiah.

use std::fmt;

use iso_currency::Currency;

use crate::error::{Error, Result};

/// An amount in minor units. Parsing only yields positive amounts; sums
/// that net out cancellations may be negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    /// Parses an amount given as a decimal string in `currency_code`.
    pub fn parse(amount: &str, currency_code: &str) -> Result<Money> {
        let currency = parse_currency(currency_code)?;
        Ok(Money {
            minor: parse_amount(amount, currency_code)?,
            currency,
        })
    }

    pub fn code(&self) -> &'static str {
        self.currency.code()
    }
}

/// `1500000.50 IDR`. (`Currency`'s own `Display` prints its English name.)
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = bookable_exponent(self.currency).map_err(|_| fmt::Error)?;
        write!(
            f,
            "{} {}",
            format_with_exponent(self.minor, exp),
            self.code()
        )
    }
}

/// An ISO 4217 alphabetic code that can carry a booked amount: exactly three
/// uppercase ASCII letters, known to ISO 4217, with a defined exponent and
/// not a special code (metals, units of account, XTS, XXX).
pub fn parse_currency(code: &str) -> Result<Currency> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Error::invalid(
            "currency",
            format!("`{code}` is not an ISO 4217 code: expected three uppercase letters, e.g. IDR"),
        ));
    }
    if !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::invalid(
            "currency",
            format!(
                "`{code}`: currency codes must be uppercase (write `{}`)",
                code.to_ascii_uppercase()
            ),
        ));
    }
    let currency = Currency::from_code(code).ok_or_else(|| {
        Error::invalid(
            "currency",
            format!("`{code}` is not an ISO 4217 currency code"),
        )
    })?;
    bookable_exponent(currency)?;
    Ok(currency)
}

fn bookable_exponent(currency: Currency) -> Result<u32> {
    match currency.exponent() {
        Some(exp) if !currency.is_special() => Ok(u32::from(exp)),
        _ => Err(Error::invalid(
            "currency",
            format!(
                "{} ({}) has no minor unit and cannot be booked",
                currency.code(),
                currency.name()
            ),
        )),
    }
}

/// The ISO 4217 exponent (decimal places) of a bookable currency code.
pub fn exponent(code: &str) -> Result<u32> {
    bookable_exponent(parse_currency(code)?)
}

/// Parses a positive decimal amount into minor units of `currency_code`.
///
/// Accepts ASCII digits with an optional `.` followed by at most `exponent`
/// digits (none at all for an exponent-0 currency such as JPY). Rejects signs,
/// exponents, separators, whitespace, a leading or trailing dot, zero, and
/// anything beyond `i64::MAX` minor units.
pub fn parse_amount(text: &str, currency_code: &str) -> Result<i64> {
    let exp = exponent(currency_code)?;
    let bad = |reason: String| Error::invalid("amount", reason);
    if text.is_empty() {
        return Err(bad("no amount given".into()));
    }
    if text.starts_with(['-', '+']) {
        return Err(bad(format!(
            "`{text}`: amounts are unsigned; record a refund as a cancellation"
        )));
    }
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(int_part) || !frac_part.is_none_or(digits_only) {
        return Err(bad(format!(
            "`{text}` is not a plain decimal number (digits with an optional `.`; no spaces, \
             signs, separators or exponents)"
        )));
    }
    if int_part.is_empty() || frac_part == Some("") {
        return Err(bad(format!(
            "`{text}`: write digits on both sides of the decimal point"
        )));
    }
    let frac = frac_part.unwrap_or("");
    if frac.len() > exp as usize {
        return Err(bad(match exp {
            0 => format!("`{text}`: {currency_code} has no minor unit; give a whole amount"),
            _ => format!(
                "`{text}` has {} decimal places; {currency_code} allows at most {exp}",
                frac.len()
            ),
        }));
    }
    let overflow = || {
        bad(format!(
            "`{text}` {currency_code} is too large to store (at most {} {currency_code})",
            format_with_exponent(i64::MAX, exp)
        ))
    };
    // Right-pad the fraction to `exp` digits, so `1.5` USD is 150 cents.
    let padding = std::iter::repeat_n(b'0', exp as usize - frac.len());
    let mut minor: i64 = 0;
    for b in int_part.bytes().chain(frac.bytes()).chain(padding) {
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(b - b'0')))
            .ok_or_else(overflow)?;
    }
    if minor == 0 {
        return Err(bad(format!("`{text}`: amount must be positive")));
    }
    Ok(minor)
}

/// Minor units back to a decimal string with exactly `exponent` decimals
/// (`150000050` IDR → `1500000.50`, `1500` JPY → `1500`, `1` KWD → `0.001`);
/// negative amounts get a leading `-`.
pub fn format_minor(minor: i64, currency_code: &str) -> Result<String> {
    Ok(format_with_exponent(minor, exponent(currency_code)?))
}

fn format_with_exponent(minor: i64, exp: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    // unsigned_abs keeps i64::MIN exact.
    let abs = minor.unsigned_abs();
    if exp == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(exp);
    let width = exp as usize;
    format!("{sign}{}.{:0width$}", abs / scale, abs % scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn invalid(e: Error) -> (String, String) {
        match e {
            Error::InvalidInput { field, reason } => (field, reason),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn exponents() {
        for (code, exp) in [
            ("IDR", 2),
            ("JPY", 0),
            ("KWD", 3),
            ("EUR", 2),
            ("SEK", 2),
            ("USD", 2),
            ("BHD", 3),
            ("KRW", 0),
            ("CLF", 4),
        ] {
            assert_eq!(exponent(code).unwrap(), exp, "{code}");
        }
    }

    #[test]
    fn currency_codes() {
        assert_eq!(parse_currency("IDR").unwrap(), Currency::IDR);
        assert_eq!(parse_currency("JPY").unwrap(), Currency::JPY);
        let cases = [
            ("idr", "uppercase"),
            ("Idr", "uppercase"),
            ("", "three uppercase letters"),
            ("ID", "three uppercase letters"),
            ("IDRR", "three uppercase letters"),
            ("I1R", "three uppercase letters"),
            (" ID", "three uppercase letters"),
            ("IDR ", "three uppercase letters"),
            ("ÌDR", "three uppercase letters"),
            ("ABC", "not an ISO 4217"),
            ("XAU", "cannot be booked"),
            ("XXX", "cannot be booked"),
            ("XTS", "cannot be booked"),
            ("XDR", "cannot be booked"),
            ("XAD", "cannot be booked"),
        ];
        for (code, needle) in cases {
            let (field, reason) = invalid(parse_currency(code).expect_err(code));
            assert_eq!(field, "currency", "{code}");
            assert!(reason.contains(needle), "{code}: {reason}");
            assert_eq!(invalid(exponent(code).unwrap_err()).0, "currency");
            assert_eq!(invalid(parse_amount("1", code).unwrap_err()).0, "currency");
            assert_eq!(invalid(format_minor(1, code).unwrap_err()).0, "currency");
        }
    }

    #[test]
    fn amounts_accepted() {
        let cases: &[(&str, &str, i64)] = &[
            ("1500000", "IDR", 150_000_000),
            ("1500000.5", "IDR", 150_000_050),
            ("1500000.50", "IDR", 150_000_050),
            ("0.01", "IDR", 1),
            ("0.1", "USD", 10),
            ("007", "USD", 700),
            ("00.05", "USD", 5),
            ("1.50", "EUR", 150),
            ("250.75", "SEK", 25_075),
            ("1500", "JPY", 1500),
            ("1", "JPY", 1),
            ("0.001", "KWD", 1),
            ("0.01", "KWD", 10),
            ("1.5", "KWD", 1500),
            ("12.345", "KWD", 12_345),
            ("0.0001", "CLF", 1),
            ("9223372036854775807", "JPY", i64::MAX),
            ("92233720368547758.07", "USD", i64::MAX),
            ("92233720368547758", "USD", 9_223_372_036_854_775_800),
            ("9223372036854775.807", "KWD", i64::MAX),
        ];
        for (text, code, want) in cases {
            assert_eq!(parse_amount(text, code).unwrap(), *want, "{text} {code}");
            let m = Money::parse(text, code).unwrap();
            assert_eq!(m.minor, *want);
            assert_eq!(m.code(), *code);
        }
    }

    #[test]
    fn amounts_rejected() {
        let cases: &[(&str, &str, &str)] = &[
            ("", "USD", "no amount"),
            ("-5", "USD", "unsigned"),
            ("+5", "USD", "unsigned"),
            ("-0.01", "USD", "unsigned"),
            ("1e3", "USD", "plain decimal"),
            ("1E3", "JPY", "plain decimal"),
            ("1,000", "USD", "plain decimal"),
            ("1,5", "EUR", "plain decimal"),
            ("1 000", "IDR", "plain decimal"),
            (" 5", "USD", "plain decimal"),
            ("5 ", "USD", "plain decimal"),
            ("5\n", "USD", "plain decimal"),
            ("1_000", "USD", "plain decimal"),
            ("1.2.3", "USD", "plain decimal"),
            ("0x10", "USD", "plain decimal"),
            ("abc", "USD", "plain decimal"),
            ("NaN", "USD", "plain decimal"),
            ("inf", "USD", "plain decimal"),
            ("١٢٣", "USD", "plain decimal"),
            ("１２３", "JPY", "plain decimal"),
            ("5$", "USD", "plain decimal"),
            (".5", "USD", "both sides"),
            ("5.", "USD", "both sides"),
            (".", "USD", "both sides"),
            ("1.001", "USD", "at most 2"),
            ("1.500", "USD", "at most 2"),
            ("1.0001", "KWD", "at most 3"),
            ("1.5", "JPY", "no minor unit"),
            ("1500.0", "JPY", "no minor unit"),
            ("0", "USD", "positive"),
            ("0.00", "USD", "positive"),
            ("000", "JPY", "positive"),
            ("0.000", "KWD", "positive"),
            ("9223372036854775808", "JPY", "too large"),
            ("92233720368547758.08", "USD", "too large"),
            ("92233720368547759", "USD", "too large"),
            ("9223372036854775.808", "KWD", "too large"),
            ("99999999999999999999999999999", "IDR", "too large"),
        ];
        for (text, code, needle) in cases {
            let (field, reason) =
                invalid(parse_amount(text, code).expect_err(&format!("{text:?} {code}")));
            assert_eq!(field, "amount", "{text:?} {code}");
            assert!(reason.contains(needle), "{text:?} {code}: {reason}");
        }
    }

    #[test]
    fn formatting() {
        let cases: &[(i64, &str, &str)] = &[
            (150_000_050, "IDR", "1500000.50"),
            (150_000_000, "IDR", "1500000.00"),
            (1500, "JPY", "1500"),
            (0, "JPY", "0"),
            (1, "KWD", "0.001"),
            (1000, "KWD", "1.000"),
            (12_345, "KWD", "12.345"),
            (1, "USD", "0.01"),
            (10, "USD", "0.10"),
            (0, "USD", "0.00"),
            (-1, "USD", "-0.01"),
            (-150, "EUR", "-1.50"),
            (-1500, "JPY", "-1500"),
            (-1, "KWD", "-0.001"),
            (1, "CLF", "0.0001"),
            (i64::MAX, "USD", "92233720368547758.07"),
            (i64::MIN, "USD", "-92233720368547758.08"),
            (i64::MIN, "JPY", "-9223372036854775808"),
        ];
        for (minor, code, want) in cases {
            assert_eq!(format_minor(*minor, code).unwrap(), *want, "{minor} {code}");
        }
        let m = Money::parse("1500000.5", "IDR").unwrap();
        assert_eq!(m.to_string(), "1500000.50 IDR");
    }

    #[test]
    fn round_trip_loops() {
        for code in ["IDR", "JPY", "KWD", "EUR", "SEK", "USD", "CLF"] {
            let mut minor: i64 = 1;
            while minor < i64::MAX / 7 {
                for m in [minor, minor + 1, minor * 3 + 2] {
                    let text = format_minor(m, code).unwrap();
                    assert_eq!(parse_amount(&text, code).unwrap(), m, "{text} {code}");
                }
                minor *= 7;
            }
            let text = format_minor(i64::MAX, code).unwrap();
            assert_eq!(parse_amount(&text, code).unwrap(), i64::MAX);
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(
            minor in 1..=i64::MAX,
            code in prop::sample::select(vec!["IDR", "JPY", "KWD", "EUR", "SEK", "USD", "CLF"]),
        ) {
            let text = format_minor(minor, code).unwrap();
            prop_assert_eq!(parse_amount(&text, code).unwrap(), minor);
        }

        #[test]
        fn parse_then_format_keeps_the_value(
            int in 0u64..1_000_000_000_000,
            frac in 0u32..100,
            short in any::<bool>(),
        ) {
            // `short` writes e.g. `3.5` instead of `3.50`.
            let text = if short && frac % 10 == 0 {
                format!("{int}.{}", frac / 10)
            } else {
                format!("{int}.{frac:02}")
            };
            let want = i64::try_from(int).unwrap() * 100 + i64::from(frac);
            if want == 0 {
                prop_assert!(parse_amount(&text, "USD").is_err());
            } else {
                let minor = parse_amount(&text, "USD").unwrap();
                prop_assert_eq!(minor, want);
                prop_assert_eq!(format_minor(minor, "USD").unwrap(), format!("{int}.{frac:02}"));
            }
        }

        #[test]
        fn negative_formats_mirror_positive(minor in 1..=i64::MAX, code in prop::sample::select(vec!["JPY", "USD", "KWD"])) {
            let pos = format_minor(minor, code).unwrap();
            prop_assert_eq!(format_minor(-minor, code).unwrap(), format!("-{pos}"));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,24}") {
            let _ = parse_amount(&text, "KWD");
            let _ = parse_amount(&text, "JPY");
        }
    }
}
