//! The blog's section of the settings, `[blog]` (`QUARTET_BLOG_…`): its limits on comments and
//! on sharing by e-mail.

use quartet_kernel::app::CoreState;
use quartet_kernel::config::{AppSettings, ConfigError, Profile};
use serde::{Deserialize, Serialize};

/// The blog's limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlogSettings {
    /// Longest comment, in characters.
    pub comment_max_length: usize,
    /// Comments one client address may post per hour; further ones get 429.
    pub comments_per_ip_per_hour: u32,
    /// Comments shown on one page of a post (older ones on the following pages).
    pub comments_per_page: usize,
    /// Only signed-in users may share posts by e-mail.
    pub share_requires_login: bool,
    /// Share e-mails one client address may send per hour; further ones get 429.
    pub share_emails_per_ip_per_hour: u32,
    /// Share e-mails one recipient address may receive per hour; further ones get 429.
    pub share_emails_per_recipient_per_hour: u32,
    /// Longest comment of a share e-mail, in characters.
    pub share_comment_max_length: usize,
}

impl AppSettings for BlogSettings {
    const SECTION: &'static str = "blog";

    fn defaults(_profile: Profile) -> Self {
        Self {
            comment_max_length: 3000,
            comments_per_ip_per_hour: 20,
            comments_per_page: 50,
            share_requires_login: false,
            share_emails_per_ip_per_hour: 10,
            share_emails_per_recipient_per_hour: 3,
            share_comment_max_length: 1000,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("blog.comment_max_length", self.comment_max_length),
            ("blog.comments_per_page", self.comments_per_page),
            ("blog.share_comment_max_length", self.share_comment_max_length),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be above 0"));
            }
        }
        Ok(())
    }
}

/// The blog's settings of this site.
pub fn of(core: &CoreState) -> &BlogSettings {
    core.settings.app::<BlogSettings>()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use quartet_kernel::config::{ConfigError, Settings, SettingsSection};

    use super::BlogSettings;

    fn load(file: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_sources_with(
            file.map(|text| (Path::new("quartet.toml"), text)),
            &env,
            &[SettingsSection::of::<BlogSettings>()],
        )
    }

    #[test]
    fn the_section_layers_like_the_kernels_keys() {
        let defaults = load(None, &[]).unwrap();
        assert_eq!(defaults.app::<BlogSettings>().comments_per_page, 50);
        let file = load(Some("[blog]\ncomments_per_page = 10\n"), &[]).unwrap();
        assert_eq!(file.app::<BlogSettings>().comments_per_page, 10);
        let both = load(Some("[blog]\ncomments_per_page = 10\n"), &[("QUARTET_BLOG_COMMENTS_PER_PAGE", "7")]).unwrap();
        assert_eq!(both.app::<BlogSettings>().comments_per_page, 7, "the environment wins over the file");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named_in_the_section() {
        let typo = load(Some("[blog]\ncomments_per_pgae = 10\n"), &[]).unwrap_err().to_string();
        assert_eq!(typo, "unknown setting `blog.comments_per_pgae` (from the file quartet.toml)");
        let env = load(None, &[("QUARTET_BLOG_COMMENTS_PER_PGAE", "1")]).unwrap_err().to_string();
        assert!(env.contains("QUARTET_BLOG_COMMENTS_PER_PGAE") && env.contains("the environment"), "{env}");
        let kind = load(Some("[blog]\ncomments_per_page = \"many\"\n"), &[]).unwrap_err().to_string();
        assert!(kind.starts_with("invalid value for `blog.comments_per_page`:"), "{kind}");
        let zero = load(None, &[("QUARTET_BLOG_COMMENTS_PER_PAGE", "0")]).unwrap_err().to_string();
        assert_eq!(zero, "invalid value for `blog.comments_per_page`: must be above 0");
    }

    #[test]
    fn every_blog_setting_is_documented() {
        let docs = include_str!("../../../docs/CONFIGURATION.md");
        let keys = SettingsSection::of::<BlogSettings>().keys();
        assert_eq!(keys.len(), 7, "{keys:?}");
        let missing: Vec<_> = keys.iter().filter(|k| !docs.contains(&format!("| `{k}` |"))).collect();
        assert!(missing.is_empty(), "docs/CONFIGURATION.md does not describe {missing:?}");
    }
}
