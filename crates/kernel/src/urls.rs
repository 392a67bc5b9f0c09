//! Named routes and reverse lookup (Django's `reverse()`).
//!
//! Every route is registered with a name such as `"account:login"`; templates and handlers build
//! links with [`UrlMap::reverse`] instead of writing paths, so a path changes in one place.

use std::collections::HashMap;
use std::fmt;

use axum::Router;
use axum::routing::MethodRouter;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Characters escaped in a path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A numeric id from a URL segment; anything else is a page that does not exist (404).
pub fn path_id(raw: &str) -> crate::Result<i64> {
    raw.parse().map_err(|_| crate::Error::NotFound)
}

/// An app's routes: an axum router with its state applied, and the names of its paths.
pub struct Routes {
    pub(crate) router: Router,
    pub(crate) names: Vec<(&'static str, &'static str)>,
    pub(crate) csrf_exempt: Vec<&'static str>,
    pub(crate) uploads: Vec<&'static str>,
}

impl Routes {
    /// Wraps every route of these in `layer` (a middleware of the app's own pages only).
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service:
            tower::Service<axum::extract::Request, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response: axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routes").field("names", &self.names).finish_non_exhaustive()
    }
}

/// Builds an app's [`Routes`] over the app's own state type.
pub struct RoutesBuilder<S> {
    router: Router<S>,
    names: Vec<(&'static str, &'static str)>,
    csrf_exempt: Vec<&'static str>,
    uploads: Vec<&'static str>,
}

impl<S> fmt::Debug for RoutesBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutesBuilder").field("names", &self.names).finish_non_exhaustive()
    }
}

impl<S: Clone + Send + Sync + 'static> Default for RoutesBuilder<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> RoutesBuilder<S> {
    /// No routes yet.
    pub fn new() -> Self {
        Self { router: Router::new(), names: Vec::new(), csrf_exempt: Vec::new(), uploads: Vec::new() }
    }

    /// Adds a named route. `path` is absolute and uses axum's `{param}` syntax.
    pub fn route(mut self, name: &'static str, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, handler);
        self.names.push((name, path));
        self
    }

    /// Adds a named route that unsafe methods reach without a CSRF token (machine callers
    /// that authenticate otherwise, such as signed webhooks).
    pub fn csrf_exempt_route(mut self, name: &'static str, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.csrf_exempt.push(path);
        self.route(name, path, handler)
    }

    /// Adds a named route whose forms may carry files (`multipart/form-data`), from signed-in
    /// users only. Every other route refuses multipart bodies before reading them.
    pub fn upload_route(mut self, name: &'static str, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.uploads.push(path);
        self.route(name, path, handler)
    }

    /// Applies the app's state.
    pub fn with_state(self, state: S) -> Routes {
        Routes {
            router: self.router.with_state(state),
            names: self.names,
            csrf_exempt: self.csrf_exempt,
            uploads: self.uploads,
        }
    }
}

/// The map from route names to path patterns of every installed app.
#[derive(Clone, Default)]
pub struct UrlMap {
    patterns: HashMap<&'static str, &'static str>,
    matcher: matchit::Router<()>,
    csrf_exempt: Vec<&'static str>,
    uploads: Vec<&'static str>,
}

impl fmt::Debug for UrlMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlMap").field("patterns", &self.patterns).finish_non_exhaustive()
    }
}

/// A failed reverse lookup.
#[derive(Debug, thiserror::Error)]
pub enum ReverseError {
    /// No route has this name.
    #[error("no route is named `{0}`")]
    UnknownName(String),
    /// The number of arguments does not match the pattern's parameters.
    #[error("route `{name}` takes {expected} argument(s), {given} given")]
    Arguments {
        /// The route name.
        name: String,
        /// Parameters in the pattern.
        expected: usize,
        /// Arguments given.
        given: usize,
    },
}

impl UrlMap {
    /// Builds the map; a name registered twice is a programming error.
    pub fn new(names: impl IntoIterator<Item = (&'static str, &'static str)>) -> Self {
        let mut patterns = HashMap::new();
        let mut matcher = matchit::Router::new();
        for (name, path) in names {
            if let Some(previous) = patterns.insert(name, path) {
                panic!("route name `{name}` is used for both {previous} and {path}");
            }
            // Two names may share one path (an alias); the matcher needs it once.
            let _ = matcher.insert(path, ());
        }
        Self { patterns, matcher, csrf_exempt: Vec::new(), uploads: Vec::new() }
    }

    /// Records the route patterns that unsafe methods reach without a CSRF token.
    pub fn with_csrf_exempt(mut self, patterns: impl IntoIterator<Item = &'static str>) -> Self {
        self.csrf_exempt.extend(patterns);
        self
    }

    /// Records the route patterns whose forms may carry files.
    pub fn with_uploads(mut self, patterns: impl IntoIterator<Item = &'static str>) -> Self {
        self.uploads.extend(patterns);
        self
    }

    /// Whether the route pattern takes files.
    pub fn accepts_uploads(&self, pattern: &str) -> bool {
        self.uploads.contains(&pattern)
    }

    /// Whether the route pattern is exempt from CSRF checks.
    pub fn is_csrf_exempt(&self, pattern: &str) -> bool {
        self.csrf_exempt.contains(&pattern)
    }

    /// Every CSRF-exempt pattern (the inventory a test checks against the expected list).
    pub fn csrf_exempt(&self) -> &[&'static str] {
        &self.csrf_exempt
    }

    /// The path of the route `name` with `args` in place of its parameters, in order.
    pub fn reverse(&self, name: &str, args: &[&dyn fmt::Display]) -> Result<String, ReverseError> {
        let pattern = self.patterns.get(name).ok_or_else(|| ReverseError::UnknownName(name.to_owned()))?;
        let expected = pattern.matches('{').count();
        if expected != args.len() {
            return Err(ReverseError::Arguments { name: name.to_owned(), expected, given: args.len() });
        }
        let mut out = String::with_capacity(pattern.len() + 16);
        let mut args = args.iter();
        let mut rest = *pattern;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
            let value = args.next().map(ToString::to_string).unwrap_or_default();
            out.extend(utf8_percent_encode(&value, SEGMENT));
            rest = &rest[(close + 1).min(rest.len())..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Whether a route is named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.patterns.contains_key(name)
    }

    /// Every registered pattern.
    pub fn patterns(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.patterns.iter().map(|(name, path)| (*name, *path))
    }

    /// Whether some route's pattern matches `path` (used to add a missing trailing slash).
    pub fn matches(&self, path: &str) -> bool {
        self.matcher.at(path).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> UrlMap {
        UrlMap::new([
            ("account:login", "/account/login/"),
            ("account:reset", "/account/reset/{uidb64}/{token}/"),
            ("blog:detail", "/blog/{year}/{month}/{day}/{slug}/"),
        ])
    }

    #[test]
    fn reverse_fills_parameters_in_order() {
        assert_eq!(map().reverse("account:login", &[]).unwrap(), "/account/login/");
        assert_eq!(
            map().reverse("blog:detail", &[&2026, &11, &3, &"hello-world"]).unwrap(),
            "/blog/2026/11/3/hello-world/"
        );
    }

    #[test]
    fn reverse_escapes_arguments() {
        assert_eq!(map().reverse("account:reset", &[&"a/b", &"c d?"]).unwrap(), "/account/reset/a%2Fb/c%20d%3F/");
    }

    #[test]
    fn reverse_reports_unknown_names_and_wrong_arity() {
        assert!(matches!(map().reverse("nope", &[]), Err(ReverseError::UnknownName(_))));
        assert!(matches!(map().reverse("account:reset", &[&1]), Err(ReverseError::Arguments { .. })));
    }

    #[test]
    fn matches_knows_registered_paths() {
        assert!(map().matches("/account/login/"));
        assert!(map().matches("/blog/2026/1/2/x/"));
        assert!(!map().matches("/account/login"));
    }
}
