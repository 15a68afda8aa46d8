//! Client-side checks of bucket names, so a bad name is refused with the rule it broke before
//! any request is sent.

use super::error::{Result, StorageError};

/// Checks a new bucket's name against S3's naming rules.
pub fn check_bucket_name(name: &str) -> Result<()> {
    let fail = |why: &str| {
        Err(StorageError::InvalidName {
            name: name.to_string(),
            why: why.to_string(),
        })
    };
    if name.len() < 3 || name.len() > 63 {
        return fail("bucket names are 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return fail("bucket names hold only lowercase letters, digits, '.' and '-'");
    }
    let first_last_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !first_last_ok(name.as_bytes()[0]) || !first_last_ok(name.as_bytes()[name.len() - 1]) {
        return fail("bucket names begin and end with a letter or digit");
    }
    if name.contains("..") {
        return fail("bucket names cannot hold two adjacent dots");
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return fail("bucket names cannot look like an IP address");
    }
    if name.starts_with("xn--") || name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return fail(
            "bucket names cannot use the reserved prefix 'xn--' or suffixes '-s3alias', '--ol-s3'",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_and_names_the_rule_for_bad() {
        for ok in ["abc", "my-bucket.2024", &"a".repeat(63)] {
            assert!(check_bucket_name(ok).is_ok(), "{ok}");
        }
        for (bad, rule) in [
            ("ab", "3 to 63"),
            ("Upper", "lowercase"),
            ("under_score", "lowercase"),
            ("-start", "begin and end"),
            ("a..b", "adjacent dots"),
            ("192.168.1.1", "IP address"),
            ("xn--abc", "reserved"),
        ] {
            let err = check_bucket_name(bad).unwrap_err().to_string();
            assert!(err.contains(rule), "{bad}: {err}");
        }
    }
}
