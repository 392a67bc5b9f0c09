//! Named routes, mounted per app, and reverse lookup (Django's `reverse()` and `i18n_patterns`).
//!
//! An app declares short kebab-case names and paths relative to its mount point
//! ([`RoutesBuilder`]): `.route("post-list", "", …)`, `.route("post-detail", "{year}/{month}/{day}/{post}/", …)`.
//! The site mounts each app at its prefix ([`crate::App::mount`], or `apps.mounts` in the
//! settings) and qualifies every name with the app's label: `blog:post-list` is `/blog/`.
//! A path that starts with `/` is absolute (an app's page outside its prefix, such as a webhook).
//!
//! A route declared with [`RoutesBuilder::translated_route`] has a path per language: its
//! relative path is a message of the catalogs (context `url`), so `cart/` can be `carro/` in
//! Spanish. Both paths lead to the page; [`UrlMap::reverse_in`] gives the one of a language and
//! [`UrlMap::same_page_in`] turns a path of one language into the same page in another (the
//! language switcher).
//!
//! Templates and handlers build links with [`UrlMap::reverse`] (or `ctx.url` with a qualified name, in
//! the page's language) instead of writing paths, so a path changes in one place.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;

use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, Route};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use tower::{Layer, Service};

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

/// The message context of translated path segments in the catalogs (`msgctxt "url"`).
pub const URL_CONTEXT: &str = "url";

/// The label of the app whose route answers a request (a request extension every mounted
/// route adds): the page's translation domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteApp(pub &'static str);

/// What a route takes besides its handler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RouteKind {
    csrf_exempt: bool,
    upload: bool,
    translated: bool,
}

struct RouteDef {
    name: &'static str,
    path: &'static str,
    kind: RouteKind,
    handler: MethodRouter,
}

/// An app's routes with its state applied: short names, paths relative to the app's mount
/// point, handlers. The site mounts them ([`Routes::mount`]).
#[derive(Default)]
pub struct Routes {
    defs: Vec<RouteDef>,
}

impl Routes {
    /// Wraps every route of these in `layer` (a middleware of the app's own pages only).
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        for def in &mut self.defs {
            def.handler = std::mem::take(&mut def.handler).layer(layer.clone());
        }
        self
    }

    /// The routes' short names and paths as declared (before mounting).
    pub fn declared(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.defs.iter().map(|d| (d.name, d.path))
    }

    /// Mounts the routes of the app `label` at `prefix` (`/blog/`): names become
    /// `label:name`, relative paths get the prefix, translated paths one pattern per language
    /// (`translate(lang, path)` gives the catalog's text). Refuses a name that is not
    /// kebab-case and a translation whose parameters differ from the path's.
    pub fn mount(
        self,
        label: &'static str,
        prefix: &str,
        languages: &[String],
        translate: &dyn Fn(&str, &str) -> String,
        map: &mut UrlMap,
    ) -> anyhow::Result<Router> {
        map.mounts.insert(label.to_owned(), prefix.to_owned());
        let mut router = Router::new();
        for def in self.defs {
            if !is_kebab_case(def.name) {
                anyhow::bail!("the route `{}` of `{label}` is not named in kebab-case (`post-list`)", def.name);
            }
            let name = format!("{label}:{}", def.name);
            let default = join(prefix, def.path);
            let mut paths = vec![default.clone()];
            let mut by_lang = HashMap::new();
            if def.kind.translated {
                for lang in languages {
                    let text = translate(lang, def.path);
                    if params(&text) != params(def.path) {
                        anyhow::bail!(
                            "the `{lang}` path `{text}` of the route `{name}` has other parameters than `{}`",
                            def.path
                        );
                    }
                    let path = join(prefix, &text);
                    if !paths.contains(&path) {
                        paths.push(path.clone());
                    }
                    by_lang.insert(lang.clone(), path);
                }
            }
            let handler = def.handler.layer(axum::Extension(RouteApp(label)));
            for path in &paths {
                router = router.route(path, handler.clone());
                if def.kind.csrf_exempt {
                    map.csrf_exempt.push(path.clone());
                }
                if def.kind.upload {
                    map.uploads.push(path.clone());
                }
            }
            let params = default.matches('{').count();
            map.add(name, RoutePaths { default, by_lang, params }, &paths)?;
        }
        Ok(router)
    }
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routes").field("routes", &self.declared().collect::<Vec<_>>()).finish()
    }
}

/// Whether `name` is kebab-case: lowercase letters and digits in words joined by `-`.
pub fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// `prefix` + `path`, or `path` alone when it is absolute.
fn join(prefix: &str, path: &str) -> String {
    if path.starts_with('/') { path.to_owned() } else { format!("{prefix}{path}") }
}

/// The `{parameters}` of a pattern, in order.
fn params(pattern: &str) -> Vec<&str> {
    pattern.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(name, _)| name)).collect()
}

/// Builds an app's [`Routes`].
pub struct RoutesBuilder<S> {
    defs: Vec<(&'static str, &'static str, RouteKind, MethodRouter<S>)>,
}

impl<S> fmt::Debug for RoutesBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutesBuilder").field("routes", &self.defs.iter().map(|d| d.0).collect::<Vec<_>>()).finish()
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
        Self { defs: Vec::new() }
    }

    fn add(mut self, name: &'static str, path: &'static str, kind: RouteKind, handler: MethodRouter<S>) -> Self {
        self.defs.push((name, path, kind, handler));
        self
    }

    /// Adds a route named `name` (short, kebab-case: `post-list`; the site qualifies it as
    /// `blog:post-list`). `path` is relative to the app's mount point (`""` is the mount point
    /// itself, `"{id}/edit/"` below it) or absolute when it starts with `/`; it uses axum's
    /// `{param}` syntax.
    pub fn route(self, name: &'static str, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.add(name, path, RouteKind::default(), handler)
    }

    /// Adds a route whose path is translated per language: `path` is also a message of the
    /// catalogs with the context `url` (`msgctxt "url"`, `msgid "cart/"`, `msgstr "carro/"`),
    /// with the same parameters. Every language's path leads to the page.
    pub fn translated_route(self, name: &'static str, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.add(name, path, RouteKind { translated: true, ..RouteKind::default() }, handler)
    }

    /// Adds a route that unsafe methods reach without a CSRF token (machine callers that
    /// authenticate otherwise, such as signed webhooks).
    pub fn csrf_exempt_route(self, name: &'static str, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.add(name, path, RouteKind { csrf_exempt: true, ..RouteKind::default() }, handler)
    }

    /// Adds a route whose forms may carry files (`multipart/form-data`), from signed-in users
    /// only. Every other route refuses multipart bodies before reading them.
    pub fn upload_route(self, name: &'static str, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.add(name, path, RouteKind { upload: true, ..RouteKind::default() }, handler)
    }

    /// Applies the app's state.
    pub fn with_state(self, state: S) -> Routes {
        Routes {
            defs: self
                .defs
                .into_iter()
                .map(|(name, path, kind, handler)| RouteDef {
                    name,
                    path,
                    kind,
                    handler: handler.with_state(state.clone()),
                })
                .collect(),
        }
    }
}

/// The paths of one named route: the default one and, for a translated route, one per language.
#[derive(Debug, Clone)]
struct RoutePaths {
    default: String,
    by_lang: HashMap<String, String>,
    /// How many parameters every one of the paths has.
    params: usize,
}

impl RoutePaths {
    fn of(&self, lang: &str) -> &str {
        if self.by_lang.is_empty() {
            return &self.default;
        }
        self.by_lang.get(lang).map_or(&self.default, String::as_str)
    }
}

/// The map from route names to path patterns of every installed app.
#[derive(Clone, Default)]
pub struct UrlMap {
    mounts: HashMap<String, String>,
    patterns: HashMap<String, RoutePaths>,
    matcher: matchit::Router<String>,
    csrf_exempt: Vec<String>,
    uploads: Vec<String>,
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
    fn add(&mut self, name: String, paths: RoutePaths, patterns: &[String]) -> anyhow::Result<()> {
        for pattern in patterns {
            // Two names may share one path (an alias); the matcher keeps the first.
            let _ = self.matcher.insert(pattern.as_str(), name.clone());
        }
        if let Some(previous) = self.patterns.insert(name.clone(), paths) {
            anyhow::bail!("the route name `{name}` is used twice (the first is {})", previous.default);
        }
        Ok(())
    }

    /// Where the app `label` is mounted (`/blog/`).
    pub fn mount_of(&self, label: &str) -> Option<&str> {
        self.mounts.get(label).map(String::as_str)
    }

    /// Of items of apps (`(label, item)`: a fallback, an error layout), the one of the app whose
    /// mount point is the longest prefix of `path`.
    pub fn owner<'a, T>(&self, path: &str, items: impl IntoIterator<Item = (&'a str, T)>) -> Option<T> {
        items
            .into_iter()
            .filter_map(|(app, item)| self.mount_of(app).map(|mount| (mount, item)))
            .filter(|(mount, _)| path.starts_with(mount))
            .max_by_key(|(mount, _)| mount.len())
            .map(|(_, item)| item)
    }

    /// Whether the route pattern takes files.
    pub fn accepts_uploads(&self, pattern: &str) -> bool {
        self.uploads.iter().any(|p| p == pattern)
    }

    /// Whether the route pattern is exempt from CSRF checks.
    pub fn is_csrf_exempt(&self, pattern: &str) -> bool {
        self.csrf_exempt.iter().any(|p| p == pattern)
    }

    /// Every CSRF-exempt pattern (the inventory a test checks against the expected list).
    pub fn csrf_exempt(&self) -> &[String] {
        &self.csrf_exempt
    }

    /// The path of the route `name` with `args` in place of its parameters, in order (a
    /// translated route's default path).
    pub fn reverse(&self, name: &str, args: &[&dyn fmt::Display]) -> Result<String, ReverseError> {
        let paths = self.patterns.get(name).ok_or_else(|| ReverseError::UnknownName(name.to_owned()))?;
        fill(name, &paths.default, paths.params, args)
    }

    /// [`UrlMap::reverse`] in the language `lang` (its own path for a translated route).
    pub fn reverse_in(&self, lang: &str, name: &str, args: &[&dyn fmt::Display]) -> Result<String, ReverseError> {
        self.reverse_with(lang, name, args)
    }

    /// [`UrlMap::reverse_in`] for any kind of argument (no copy of the list to convert it).
    pub(crate) fn reverse_with<D: fmt::Display + ?Sized>(
        &self,
        lang: &str,
        name: &str,
        args: &[&D],
    ) -> Result<String, ReverseError> {
        let paths = self.patterns.get(name).ok_or_else(|| ReverseError::UnknownName(name.to_owned()))?;
        fill(name, paths.of(lang), paths.params, args)
    }

    /// The route a path leads to: its name and parameters (decoded), in the pattern's order.
    pub fn resolve(&self, path: &str) -> Option<(&str, Vec<String>)> {
        let found = self.matcher.at(path).ok()?;
        let name = found.value.as_str();
        let pattern = self.patterns.get(name)?;
        let values = params(&pattern.default)
            .into_iter()
            .map(|param| {
                let raw = found.params.get(param).unwrap_or_default();
                percent_decode_str(raw).decode_utf8_lossy().into_owned()
            })
            .collect();
        Some((name, values))
    }

    /// The same page as `path` in the language `lang`: the path of the route it leads to, in
    /// that language, with its parameters and query string; `None` when no route matches.
    pub fn same_page_in(&self, lang: &str, path: &str) -> Option<String> {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let (name, values) = self.resolve(path)?;
        let args: Vec<&dyn fmt::Display> = values.iter().map(|v| v as &dyn fmt::Display).collect();
        let mut out = self.reverse_in(lang, name, &args).ok()?;
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        Some(out)
    }

    /// Whether a route is named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.patterns.contains_key(name)
    }

    /// Every route's name and (default) pattern.
    pub fn patterns(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.patterns.iter().map(|(name, paths)| (name.as_str(), paths.default.as_str()))
    }

    /// Whether some route's pattern matches `path` (used to add a missing trailing slash).
    pub fn matches(&self, path: &str) -> bool {
        self.matcher.at(path).is_ok()
    }
}

/// `pattern` with `args` in place of its parameters, each escaped as a path segment.
/// `pattern` with `args` in place of its `expected` parameters, each percent-encoded as a path
/// segment. Called for every link of every page, so it allocates only the result.
fn fill<D: fmt::Display + ?Sized>(
    name: &str,
    pattern: &str,
    expected: usize,
    args: &[&D],
) -> Result<String, ReverseError> {
    use std::fmt::Write as _;
    if expected != args.len() {
        return Err(ReverseError::Arguments { name: name.to_owned(), expected, given: args.len() });
    }
    let mut out = String::with_capacity(pattern.len() + 24);
    let mut value = String::new();
    let mut args = args.iter();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        value.clear();
        if let Some(arg) = args.next() {
            let _ = write!(value, "{arg}");
        }
        out.extend(utf8_percent_encode(&value, SEGMENT));
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use axum::routing::get;

    use super::*;

    fn spanish(lang: &str, path: &str) -> String {
        match (lang, path) {
            ("es", "cart/") => "carro/".into(),
            ("es", "cart/{id}/add/") => "carro/{id}/añadir/".into(),
            _ => path.into(),
        }
    }

    fn map() -> UrlMap {
        let mut map = UrlMap::default();
        let languages = ["en".to_owned(), "es".to_owned()];
        let accounts = RoutesBuilder::<()>::new()
            .route("login", "login/", get(|| async {}))
            .route("password-reset-confirm", "reset/{uidb64}/{token}/", get(|| async {}))
            .route("login-alt", "/accounts/login/", get(|| async {}))
            .with_state(());
        let _ = accounts.mount("accounts", "/account/", &languages, &spanish, &mut map).unwrap();
        let blog = RoutesBuilder::<()>::new()
            .route("post-detail", "{year}/{month}/{day}/{slug}/", get(|| async {}))
            .with_state(());
        let _ = blog.mount("blog", "/journal/", &languages, &spanish, &mut map).unwrap();
        let shop = RoutesBuilder::<()>::new()
            .translated_route("cart-detail", "cart/", get(|| async {}))
            .translated_route("cart-add", "cart/{id}/add/", get(|| async {}))
            .with_state(());
        let _ = shop.mount("shop", "/", &languages, &spanish, &mut map).unwrap();
        map
    }

    #[test]
    fn names_are_qualified_and_paths_mounted_at_the_prefix() {
        assert_eq!(map().reverse("accounts:login", &[]).unwrap(), "/account/login/");
        assert_eq!(map().reverse("accounts:login-alt", &[]).unwrap(), "/accounts/login/", "absolute paths stay");
        assert_eq!(
            map().reverse("blog:post-detail", &[&2026, &11, &3, &"hello-world"]).unwrap(),
            "/journal/2026/11/3/hello-world/"
        );
        assert!(!map().has("login"), "short names are qualified");
    }

    #[test]
    fn reverse_escapes_arguments() {
        assert_eq!(
            map().reverse("accounts:password-reset-confirm", &[&"a/b", &"c d?"]).unwrap(),
            "/account/reset/a%2Fb/c%20d%3F/"
        );
    }

    #[test]
    fn reverse_reports_unknown_names_and_wrong_arity() {
        assert!(matches!(map().reverse("nope", &[]), Err(ReverseError::UnknownName(_))));
        assert!(matches!(map().reverse("accounts:password-reset-confirm", &[&1]), Err(ReverseError::Arguments { .. })));
    }

    #[test]
    fn matches_knows_registered_paths() {
        assert!(map().matches("/account/login/"));
        assert!(map().matches("/journal/2026/1/2/x/"));
        assert!(!map().matches("/account/login"));
        assert!(!map().matches("/blog/2026/1/2/x/"), "the blog is mounted elsewhere");
    }

    #[test]
    fn translated_routes_have_a_path_per_language() {
        let map = map();
        assert_eq!(map.reverse_in("en", "shop:cart-detail", &[]).unwrap(), "/cart/");
        assert_eq!(map.reverse_in("es", "shop:cart-detail", &[]).unwrap(), "/carro/");
        assert_eq!(map.reverse_in("es", "shop:cart-add", &[&7]).unwrap(), "/carro/7/añadir/");
        assert_eq!(map.reverse_in("es", "accounts:login", &[]).unwrap(), "/account/login/", "untranslated");
        assert!(map.matches("/carro/") && map.matches("/cart/"));
        assert_eq!(
            map.resolve("/carro/7/añadir/").map(|(n, v)| (n.to_owned(), v)),
            Some(("shop:cart-add".into(), vec!["7".into()]))
        );
    }

    #[test]
    fn the_same_page_in_another_language() {
        let map = map();
        assert_eq!(map.same_page_in("es", "/cart/7/add/?next=/x/").as_deref(), Some("/carro/7/añadir/?next=/x/"));
        assert_eq!(map.same_page_in("en", "/carro/").as_deref(), Some("/cart/"));
        assert_eq!(
            map.same_page_in("es", "/journal/2026/1/2/caf%C3%A9/").as_deref(),
            Some("/journal/2026/1/2/caf%C3%A9/")
        );
        assert_eq!(map.same_page_in("es", "/nowhere/"), None);
    }

    #[test]
    fn names_must_be_kebab_case_and_translations_keep_the_parameters() {
        let languages = ["es".to_owned()];
        let snake = RoutesBuilder::<()>::new().route("post_list", "", get(|| async {})).with_state(());
        let error = snake.mount("blog", "/blog/", &languages, &spanish, &mut UrlMap::default()).unwrap_err();
        assert!(error.to_string().contains("kebab-case"), "{error}");
        let lost =
            RoutesBuilder::<()>::new().translated_route("cart-add", "cart/{id}/add/", get(|| async {})).with_state(());
        let error =
            lost.mount("shop", "/", &languages, &|_, _| "carro/añadir/".into(), &mut UrlMap::default()).unwrap_err();
        assert!(error.to_string().contains("other parameters"), "{error}");
        assert!(
            is_kebab_case("password-reset-2") && !is_kebab_case("Post") && !is_kebab_case("a--b") && !is_kebab_case("")
        );
    }
}
