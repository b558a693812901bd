//! How every output writes durations, periods, measured times and CPU lists: one place, so a table, a
//! figure, a write-up and the command line never disagree (a 1.5 s period is `1500ms`
//! everywhere, which `--period` reads back).

use std::time::Duration;

/// A configured duration, exactly, in the largest unit that keeps it whole: `1ms`, `250us`,
/// `1500ms`, `0`. What `--period`, `--duration` and `--hold` accept.
pub fn duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0".into();
    }
    for (unit, per) in [("s", 1_000_000_000u128), ("ms", 1_000_000), ("us", 1_000)] {
        if ns >= per && ns.is_multiple_of(per) {
            return format!("{}{unit}", ns / per);
        }
    }
    format!("{ns}ns")
}

/// A swap period: `never`, or [`duration`].
pub fn period(p: Option<Duration>) -> String {
    match p {
        None => "never".into(),
        Some(d) => duration(d),
    }
}

/// A swap period as results store it (ns).
pub fn period_ns(p: Option<u64>) -> String {
    period(p.map(Duration::from_nanos))
}

/// A measured time in ns, three significant digits in a unit that keeps 1–3 integer digits:
/// `2.31ns`, `56.7us`, `1.5s`.
pub fn ns(ns: f64) -> String {
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    format!("{}{unit}", sig3(v))
}

/// Three significant digits, without trailing zeros.
pub fn sig3(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (v.abs().log10().floor() as i32).max(-9);
    let decimals = (2 - digits).clamp(0, 9) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// A value in a table column whose unit the header names (`ns/op`): two decimals below 10,
/// one below 1000, none above.
pub fn cell(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.2}")
    } else if x < 1000.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// Nanoseconds in a column of microseconds: one decimal below 100, none above.
pub fn cell_us(ns: u64) -> String {
    let x = ns as f64 / 1e3;
    if x < 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// CPU numbers as the kernel writes a CPU list (`0-3,8`), which `--cpus` reads back.
pub fn cpu_list(cpus: &[usize]) -> String {
    let mut v = cpus.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_exact_and_read_back_as_written() {
        assert_eq!(period_ns(None), "never");
        assert_eq!(period_ns(Some(1_500_000_000)), "1500ms");
        assert_eq!(period_ns(Some(1_000_000)), "1ms");
        assert_eq!(period_ns(Some(250_000)), "250us");
        assert_eq!(period_ns(Some(1_500)), "1500ns");
        assert_eq!(duration(Duration::ZERO), "0");
    }

    #[test]
    fn measured_times_have_three_significant_digits() {
        assert_eq!(ns(2.3149), "2.31ns");
        assert_eq!(ns(56_712.0), "56.7us");
        assert_eq!(ns(1.5e9), "1.5s");
        assert_eq!(sig3(0.0), "0");
        assert_eq!(sig3(1234.0), "1234");
    }

    #[test]
    fn table_cells_keep_their_column_unit() {
        assert_eq!(cell(2.345), "2.35");
        assert_eq!(cell(56.78), "56.8");
        assert_eq!(cell(1234.5), "1234");
        assert_eq!(cell_us(56_780), "56.8");
        assert_eq!(cell_us(123_456), "123");
        assert_eq!(cpu_list(&[3, 0, 1, 2, 8]), "0-3,8");
    }
}
