//! Cache keys: readable when they can be, hashed when they cannot.

use sha2::{Digest, Sha256};

/// The longest key kept as written; Memcached takes at most 250 bytes.
const MAX_KEY: usize = 200;

/// The key of `rest` in `namespaces` at `versions`: `quartet:blog:1733…:list:1`, or
/// `quartet:blog.accounts:1733….12:…` for several. A key with a character Memcached refuses
/// (a space from a search query, anything outside printable ASCII) or longer than 200 bytes is
/// replaced by its SHA-256, with the namespaces kept readable in front.
pub fn key_for(prefix: &str, namespaces: &[&str], versions: &[u64], rest: &str) -> String {
    let mut key = String::with_capacity(prefix.len() + rest.len() + 32);
    key.push_str(prefix);
    for (i, namespace) in namespaces.iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        key.push_str(namespace);
    }
    key.push(':');
    for (i, version) in versions.iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        key.push_str(&version.to_string());
    }
    key.push(':');
    let readable = key.len() + rest.len() <= MAX_KEY && rest.bytes().all(|b| b.is_ascii_graphic());
    if readable {
        key.push_str(rest);
    } else {
        key.push_str("h:");
        key.push_str(&hex::encode(Sha256::digest(rest.as_bytes())));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_namespaces_and_versions_and_hash_what_memcached_refuses() {
        assert_eq!(key_for("q:", &["blog"], &[7], "list:1"), "q:blog:7:list:1");
        assert_eq!(key_for("q:", &["blog", "accounts"], &[7, 9], "post:3"), "q:blog.accounts:7.9:post:3");
        let search = key_for("q:", &["blog"], &[7], "search:rust web");
        assert!(search.starts_with("q:blog:7:h:") && search.len() == "q:blog:7:h:".len() + 64, "{search}");
        assert_ne!(search, key_for("q:", &["blog"], &[7], "search:rust  web"));
        let long = key_for("q:", &["blog"], &[7], &"x".repeat(300));
        assert!(long.len() < 100, "{long}");
        assert!(key_for("q:", &["blog"], &[7], "é").contains(":h:"));
    }
}
