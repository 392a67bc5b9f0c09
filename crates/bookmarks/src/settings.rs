//! The bookmarks' section of the settings, `[bookmarks]` (`QUARTET_BOOKMARKS_…`): the limits of
//! fetching a bookmarked image.

use std::time::Duration;

use quartet_kernel::app::CoreState;
use quartet_kernel::config::{AppSettings, ConfigError, Profile};
use quartet_kernel::http::fetch::FetchPolicy;
use serde::{Deserialize, Serialize};

/// The bookmarks' limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookmarksSettings {
    /// Host names or addresses an image may be fetched from even when they are private
    /// (tests, intranets); everything else must be a public Internet address.
    pub fetch_allowed_hosts: Vec<String>,
    /// The largest image fetched, in bytes.
    pub fetch_max_bytes: u64,
    /// Seconds a fetch may take, redirects included.
    pub fetch_timeout_seconds: u64,
    /// Images one user may bookmark per hour (each one is a fetch); further ones are refused
    /// with a message on the form.
    pub fetches_per_user_per_hour: u32,
}

impl AppSettings for BookmarksSettings {
    const SECTION: &'static str = "bookmarks";

    fn defaults(_profile: Profile) -> Self {
        Self {
            fetch_allowed_hosts: Vec::new(),
            fetch_max_bytes: 10 * 1024 * 1024,
            fetch_timeout_seconds: 10,
            fetches_per_user_per_hour: 30,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.fetch_max_bytes == 0 {
            return Err(ConfigError::invalid("bookmarks.fetch_max_bytes", "must be above 0"));
        }
        if !(1..=60).contains(&self.fetch_timeout_seconds) {
            return Err(ConfigError::invalid("bookmarks.fetch_timeout_seconds", "must be between 1 and 60"));
        }
        Ok(())
    }
}

impl BookmarksSettings {
    /// The outbound client's policy for image fetches.
    pub fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            max_bytes: self.fetch_max_bytes,
            timeout: Duration::from_secs(self.fetch_timeout_seconds),
            allowed_hosts: self.fetch_allowed_hosts.clone(),
            ..FetchPolicy::default()
        }
    }
}

/// The bookmarks' settings of this site.
pub fn of(core: &CoreState) -> &BookmarksSettings {
    core.settings.app::<BookmarksSettings>()
}

#[cfg(test)]
mod tests {
    use quartet_kernel::config::SettingsSection;

    use super::BookmarksSettings;

    #[test]
    fn every_bookmarks_setting_is_documented() {
        let docs = include_str!("../../../docs/CONFIGURATION.md");
        let keys = SettingsSection::of::<BookmarksSettings>().keys();
        assert_eq!(keys.len(), 4, "{keys:?}");
        let missing: Vec<_> = keys.iter().filter(|k| !docs.contains(&format!("| `{k}` |"))).collect();
        assert!(missing.is_empty(), "docs/CONFIGURATION.md does not describe {missing:?}");
    }
}
