//! The clock every time-dependent rule reads, so tests can move time.

use std::sync::Mutex;

use chrono::{DateTime, Duration, SubsecRound, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, truncated to microseconds (the precision both databases store).
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing the current system time.
    pub fn new() -> Self {
        Self(Mutex::new(SystemClock.now()))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().expect("clock lock");
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = to.trunc_subsecs(6);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

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
mod format_tests {
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
