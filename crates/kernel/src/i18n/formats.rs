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
}
