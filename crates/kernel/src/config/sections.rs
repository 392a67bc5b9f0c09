//! Settings sections that apps own (`[blog]`, later `[shop]`, `[bookmarks]`): each is a type
//! of the app's, with its defaults per profile and its checks next to the code that reads it.
//!
//! An app returns [`SettingsSection::of::<BlogSettings>()`](SettingsSection::of) from
//! [`crate::App::settings`]; the loader puts each section's defaults under its name, so the
//! file and the `QUARTET_<SECTION>_<KEY>` variables layer over them exactly as over the
//! kernel's own keys (an unknown key is refused and named, per section), then reads the
//! section as its type and runs its checks. Handlers read it with
//! `core.settings.app::<BlogSettings>()`.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ConfigError, Profile};

/// A section of settings an app owns.
pub trait AppSettings: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static {
    /// The section's name, the app's label (`blog`): `[blog]` in the file,
    /// `QUARTET_BLOG_…` in the environment.
    const SECTION: &'static str;

    /// The values of a profile.
    fn defaults(profile: Profile) -> Self;

    /// Rules the types cannot express; errors name the full key (`blog.comments_per_page`).
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// An app's section as the loader handles it, whatever its type.
#[derive(Clone, Copy)]
pub struct SettingsSection {
    /// The section's name.
    pub name: &'static str,
    defaults: fn(Profile) -> Value,
    load: fn(Value) -> Result<Box<dyn SectionValue>, ConfigError>,
}

impl fmt::Debug for SettingsSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettingsSection").field("name", &self.name).finish_non_exhaustive()
    }
}

impl SettingsSection {
    /// The section of the type `T`.
    pub fn of<T: AppSettings>() -> Self {
        Self {
            name: T::SECTION,
            defaults: |profile| {
                super::with_secrets_exposed(|| serde_json::to_value(T::defaults(profile)))
                    .expect("settings serialize to JSON")
            },
            load: |value| {
                let section: T = serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Invalid {
                    key: format!("{}.{}", T::SECTION, e.path()),
                    message: e.into_inner().to_string(),
                })?;
                section.validate()?;
                Ok(Box::new(section))
            },
        }
    }

    /// The section's defaults as JSON (what the file and the environment layer over).
    pub fn defaults(&self, profile: Profile) -> Value {
        (self.defaults)(profile)
    }

    /// Every key of the section, as `section.key`, for the documentation check.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        super::collect_keys(&self.defaults(Profile::Production), self.name, &mut keys);
        keys
    }

    pub(super) fn load(&self, value: Value) -> Result<Box<dyn SectionValue>, ConfigError> {
        (self.load)(value)
    }
}

/// A loaded section, kept by its name.
pub(super) trait SectionValue: Any + fmt::Debug + Send + Sync {
    fn clone_box(&self) -> Box<dyn SectionValue>;
    fn to_json(&self) -> Value;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: AppSettings> SectionValue for T {
    fn clone_box(&self) -> Box<dyn SectionValue> {
        Box::new(self.clone())
    }
    fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("settings serialize to JSON")
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The loaded sections of the apps, by name.
#[derive(Debug, Default)]
pub struct AppSections(BTreeMap<&'static str, Box<dyn SectionValue>>);

impl Clone for AppSections {
    fn clone(&self) -> Self {
        Self(self.0.iter().map(|(name, value)| (*name, value.clone_box())).collect())
    }
}

impl AppSections {
    pub(super) fn insert(&mut self, name: &'static str, value: Box<dyn SectionValue>) {
        self.0.insert(name, value);
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The section of type `T`, if it was loaded.
    pub fn get<T: AppSettings>(&self) -> Option<&T> {
        self.0.get(T::SECTION).and_then(|v| v.as_any().downcast_ref::<T>())
    }

    /// The section of type `T` to change (tests), if it was loaded.
    pub fn get_mut<T: AppSettings>(&mut self) -> Option<&mut T> {
        self.0.get_mut(T::SECTION).and_then(|v| v.as_any_mut().downcast_mut::<T>())
    }

    /// Every section as JSON, by name (secrets redacted: [`super::Secret`] serialises so).
    pub fn to_json(&self) -> BTreeMap<&'static str, Value> {
        self.0.iter().map(|(name, value)| (*name, value.to_json())).collect()
    }
}
