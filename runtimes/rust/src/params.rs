//! Strict query parameters (SPEC section 4). The query is
//! `application/x-www-form-urlencoded`: names and values are percent-decoded,
//! `+` is a space and an invalid escape (`%zz`) stays as it is, so a value is
//! checked after decoding: one or more ASCII digits, within a range, without
//! overflow. A parameter given twice is an error; unknown ones are ignored.

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, PartialEq, Eq)]
pub enum ParamError {
    Missing(&'static str),
    Repeated(&'static str),
    Invalid {
        name: &'static str,
        min: u64,
        max: u64,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Missing(name) => write!(f, "missing required parameter '{name}'"),
            ParamError::Repeated(name) => write!(f, "parameter '{name}' is given more than once"),
            ParamError::Invalid { name, min, max } => write!(
                f,
                "parameter '{name}' must be an integer from {min} to {max}, digits only"
            ),
        }
    }
}

/// The decoded value of `name` in `query` (`None` when absent).
fn lookup<'q>(query: &'q str, name: &'static str) -> Result<Option<Cow<'q, str>>, ParamError> {
    let mut found = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == name {
            if found.is_some() {
                return Err(ParamError::Repeated(name));
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// Digits only, no sign, not empty; `None` if the value is malformed or
/// outside `min..=max` (including values too large for a u64).
fn parse_in_range(value: &str, min: u64, max: u64) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = value.bytes().try_fold(0u64, |acc, digit| {
        acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })?;
    (min..=max).contains(&n).then_some(n)
}

/// A required numeric parameter.
pub fn required(query: &str, name: &'static str, min: u64, max: u64) -> Result<u64, ParamError> {
    let value = lookup(query, name)?.ok_or(ParamError::Missing(name))?;
    parse_in_range(&value, min, max).ok_or(ParamError::Invalid { name, min, max })
}

/// The optional `offload` flag: `0` or `1`, absent means `0`.
pub fn offload(query: &str) -> Result<bool, ParamError> {
    match lookup(query, "offload")? {
        None => Ok(false),
        Some(value) => parse_in_range(&value, 0, 1)
            .map(|n| n == 1)
            .ok_or(ParamError::Invalid {
                name: "offload",
                min: 0,
                max: 1,
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVALID_MS: ParamError = ParamError::Invalid {
        name: "ms",
        min: 0,
        max: 10_000,
    };

    fn ms(query: &str) -> Result<u64, ParamError> {
        required(query, "ms", 0, 10_000)
    }

    #[test]
    fn accepts_digits_in_range() {
        assert_eq!(ms("ms=0"), Ok(0));
        assert_eq!(ms("ms=10000"), Ok(10_000));
        assert_eq!(ms("ms=007"), Ok(7));
        assert_eq!(ms("other=x&ms=5&z"), Ok(5));
        assert_eq!(ms("&&ms=5&"), Ok(5));
        assert_eq!(required("iter=1", "iter", 1, 1_000_000), Ok(1));
        assert_eq!(
            required("n=100000000", "n", 0, 100_000_000),
            Ok(100_000_000)
        );
    }

    #[test]
    fn rejects_malformed_values() {
        for query in [
            "ms=", "ms", "ms=-1", "ms=+1", "ms=1.0", "ms=1e3", "ms= 1", "ms=1 ", "ms=abc",
            "ms=0x10", "ms=١",
        ] {
            assert_eq!(ms(query), Err(INVALID_MS), "{query}");
        }
    }

    #[test]
    fn decodes_form_urlencoding_before_checking() {
        assert_eq!(ms("ms=%31%30"), Ok(10));
        assert_eq!(ms("%6Ds=5"), Ok(5));
        assert_eq!(ms("x=%zz&%zz=1&ms=5&y=a+b%"), Ok(5));
        assert_eq!(offload("offload=%31"), Ok(true));
        // '+' is a space; an invalid escape is kept as it is: neither is a digit.
        for query in [
            "ms=+1",
            "ms=1+",
            "ms=%2B1",
            "ms=%201",
            "ms=%zz",
            "ms=%3",
            "ms=1%",
            "ms=%31%zz",
            "ms=%EF%BC%91",
        ] {
            assert_eq!(ms(query), Err(INVALID_MS), "{query}");
        }
        assert_eq!(ms("ms=5&ms=%zz"), Err(ParamError::Repeated("ms")));
    }

    #[test]
    fn rejects_out_of_range_without_overflow() {
        assert_eq!(ms("ms=10001"), Err(INVALID_MS));
        assert_eq!(ms("ms=18446744073709551615"), Err(INVALID_MS));
        assert_eq!(ms("ms=18446744073709551616"), Err(INVALID_MS));
        assert_eq!(ms("ms=99999999999999999999999"), Err(INVALID_MS));
        assert_eq!(ms("ms=00000000000000000000000000000042"), Ok(42));
        assert_eq!(
            required("iter=0", "iter", 1, 1_000_000),
            Err(ParamError::Invalid {
                name: "iter",
                min: 1,
                max: 1_000_000
            })
        );
    }

    #[test]
    fn missing_and_repeated() {
        assert_eq!(ms(""), Err(ParamError::Missing("ms")));
        assert_eq!(ms("msx=1&MS=2&m=3"), Err(ParamError::Missing("ms")));
        assert_eq!(ms("ms=1&ms=1"), Err(ParamError::Repeated("ms")));
        assert_eq!(ms("ms=1&ms"), Err(ParamError::Repeated("ms")));
    }

    #[test]
    fn offload_flag() {
        assert_eq!(offload(""), Ok(false));
        assert_eq!(offload("ms=3"), Ok(false));
        assert_eq!(offload("offload=0"), Ok(false));
        assert_eq!(offload("offload=1"), Ok(true));
        assert_eq!(offload("offload=01"), Ok(true));
        let invalid = Err(ParamError::Invalid {
            name: "offload",
            min: 0,
            max: 1,
        });
        assert_eq!(offload("offload=2"), invalid);
        assert_eq!(offload("offload=true"), invalid);
        assert_eq!(offload("offload="), invalid);
        assert_eq!(
            offload("offload=1&offload=1"),
            Err(ParamError::Repeated("offload"))
        );
    }

    #[test]
    fn error_messages_name_the_parameter() {
        assert!(ParamError::Missing("ms").to_string().contains("'ms'"));
        assert!(ParamError::Repeated("n").to_string().contains("'n'"));
        assert!(INVALID_MS.to_string().contains("'ms'"));
    }
}
