//! How values are shown: amounts in coins with 8 places (as the RPC prints them), times in
//! UTC, shortened hashes (the full value stays in the link and its title).

/// Base units per coin.
const COIN: u64 = 100_000_000;

/// `5000000000` → `50.00000000`.
pub fn coins(units: u64) -> String {
    format!("{}.{:08}", units / COIN, units % COIN)
}

/// Fee rate in base units per byte, two places.
pub fn rate(fee: u64, size: usize) -> String {
    format!("{:.2}", fee as f64 / size.max(1) as f64)
}

/// First and last characters of a long id.
pub fn short(id: &str) -> String {
    if id.len() <= 20 {
        return id.to_string();
    }
    format!("{}…{}", &id[..10], &id[id.len() - 8..])
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Seconds as a short age: `42 s`, `5 min`, `3 h`, `2 d`.
pub fn age(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Hashes per second with a unit.
pub fn hashrate(h: f64) -> String {
    let units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];
    let mut v = h;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{v:.2} {}", units[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_amounts_times_and_ids() {
        assert_eq!(coins(5_000_000_000), "50.00000000");
        assert_eq!(coins(1), "0.00000001");
        assert_eq!(time(0), "1970-01-01 00:00:00");
        assert_eq!(time(1_523_724_808), "2018-04-14 16:53:28");
        assert_eq!(time(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(short("0123456789abcdef0123456789"), "0123456789…23456789");
        assert_eq!(short("abc"), "abc");
        assert_eq!(hashrate(1_500_000.0), "1.50 MH/s");
        assert_eq!(age(59), "59 s");
        assert_eq!(age(7200), "2 h");
    }
}
