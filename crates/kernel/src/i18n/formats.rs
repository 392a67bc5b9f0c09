//! Dates and times as each language writes them (Django's default `DATE_FORMAT` and
//! `DATETIME_FORMAT` for English, the Spanish locale's for Spanish): the one place that knows.

use chrono::{DateTime, Utc};

const EN_MONTHS: [&str; 12] =
    ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."];
const ES_MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// A date as Django shows it by default: `Nov. 24, 2026` (`N j, Y`), or in Spanish
/// `24 de noviembre de 2026`.
pub fn format_date(at: DateTime<Utc>, lang: &str) -> String {
    use chrono::Datelike;
    let month = at.month0() as usize;
    if lang == "es" {
        format!("{} de {} de {}", at.day(), ES_MONTHS[month], at.year())
    } else {
        format!("{} {}, {}", EN_MONTHS[month], at.day(), at.year())
    }
}

/// A date and time as Django shows it by default: `Nov. 24, 2026, 10:30 a.m.` (`N j, Y, P`:
/// "noon", "midnight", minutes left out on the hour), or `24 de noviembre de 2026 a las 10:30`.
pub fn format_datetime(at: DateTime<Utc>, lang: &str) -> String {
    use chrono::Timelike;
    if lang == "es" {
        return format!("{} a las {:02}:{:02}", format_date(at, lang), at.hour(), at.minute());
    }
    let time = match (at.hour(), at.minute()) {
        (0, 0) => "midnight".to_owned(),
        (12, 0) => "noon".to_owned(),
        (h, m) => {
            let suffix = if h < 12 { "a.m." } else { "p.m." };
            let h12 = match h % 12 {
                0 => 12,
                other => other,
            };
            if m == 0 { format!("{h12} {suffix}") } else { format!("{h12}:{m:02} {suffix}") }
        }
    };
    format!("{}, {time}", format_date(at, lang))
}

/// How long ago `then` was at `now`, as Django's `timesince`: the largest unit and, when not
/// zero, the next one ("2 days, 3 hours", "5 minutes"); under a minute, "0 minutes". Each unit is
/// translated with its plural forms by `tr`.
pub fn timesince(then: DateTime<Utc>, now: DateTime<Utc>, tr: &super::Tr) -> String {
    const UNITS: [(i64, &str, &str); 6] = [
        (60 * 60 * 24 * 365, "{n} year", "{n} years"),
        (60 * 60 * 24 * 30, "{n} month", "{n} months"),
        (60 * 60 * 24 * 7, "{n} week", "{n} weeks"),
        (60 * 60 * 24, "{n} day", "{n} days"),
        (60 * 60, "{n} hour", "{n} hours"),
        (60, "{n} minute", "{n} minutes"),
    ];
    let seconds = (now - then).num_seconds().max(0);
    let unit = |i: usize, count: i64| {
        let (_, one, many) = UNITS[i];
        let n = u64::try_from(count).unwrap_or_default();
        tr.n(one, many, n, &[("n", &n)])
    };
    let Some(first) = UNITS.iter().position(|(size, _, _)| seconds >= *size) else {
        return unit(UNITS.len() - 1, 0);
    };
    let count = seconds / UNITS[first].0;
    let mut text = unit(first, count);
    if let Some((size, _, _)) = UNITS.get(first + 1) {
        let next = (seconds - count * UNITS[first].0) / size;
        if next > 0 {
            text = format!("{text}, {}", unit(first + 1, next));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn dates_read_as_in_django() {
        let at = |h, m| Utc.with_ymd_and_hms(2026, 11, 4, h, m, 0).unwrap();
        assert_eq!(format_datetime(at(10, 30), "en"), "Nov. 4, 2026, 10:30 a.m.");
        assert_eq!(format_datetime(at(15, 0), "en"), "Nov. 4, 2026, 3 p.m.");
        assert_eq!(format_datetime(at(12, 0), "en"), "Nov. 4, 2026, noon");
        assert_eq!(format_datetime(at(0, 0), "en"), "Nov. 4, 2026, midnight");
        assert_eq!(format_datetime(at(0, 5), "en"), "Nov. 4, 2026, 12:05 a.m.");
        assert_eq!(format_datetime(at(9, 7), "es"), "4 de noviembre de 2026 a las 09:07");
        assert_eq!(format_date(at(9, 7), "en"), "Nov. 4, 2026");
    }

    #[test]
    fn timesince_gives_two_units_at_most() {
        use chrono::TimeZone;
        let catalogs = std::sync::Arc::new(crate::i18n::Catalogs::default());
        let tr = crate::i18n::Tr::new(catalogs, "en");
        let now = Utc.with_ymd_and_hms(2026, 3, 7, 10, 0, 0).unwrap();
        let ago = |seconds: i64| timesince(now - chrono::Duration::seconds(seconds), now, &tr);
        assert_eq!(ago(0), "0 minutes");
        assert_eq!(ago(59), "0 minutes");
        assert_eq!(ago(60), "1 minute");
        assert_eq!(ago(3 * 3600 + 5 * 60), "3 hours, 5 minutes");
        assert_eq!(ago(2 * 86400 + 3600), "2 days, 1 hour");
        assert_eq!(ago(8 * 86400), "1 week, 1 day");
        assert_eq!(ago(400 * 86400), "1 year, 1 month");
        assert_eq!(timesince(now + chrono::Duration::hours(1), now, &tr), "0 minutes", "the future is now");
    }
}
