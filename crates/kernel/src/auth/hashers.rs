//! Password hashing: Argon2id by default, PBKDF2-SHA256 in Django's format, both verified.
//!
//! Hashing is slow on purpose, so it runs on the blocking pool behind a semaphore (one hash per
//! CPU at a time by default): a burst of sign-ins queues instead of starving page requests.
//! A stored hash made with another algorithm or other parameters verifies and is reported as
//! needing a re-hash, which sign-in then performs (Django's `must_update`).

use crate::blocking::BlockingPool;
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::config::{AuthSettings, PasswordHasherKind};
use crate::crypto::{ALNUM, constant_time_eq, random_bytes, random_string};

/// Length of a PBKDF2 salt (22 characters of 62: 130 bits, Django's default).
const PBKDF2_SALT_LEN: usize = 22;
/// Argon2 salt and output length in bytes.
const ARGON2_SALT_LEN: usize = 16;
const ARGON2_OUT_LEN: usize = 32;

/// Parameters for new hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HasherConfig {
    /// Algorithm for new hashes.
    pub kind: PasswordHasherKind,
    /// Argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// PBKDF2 iterations.
    pub pbkdf2_iterations: u32,
}

impl From<&AuthSettings> for HasherConfig {
    fn from(a: &AuthSettings) -> Self {
        Self {
            kind: a.password_hasher,
            argon2_memory_kib: a.argon2_memory_kib,
            argon2_iterations: a.argon2_iterations,
            argon2_parallelism: a.argon2_parallelism,
            pbkdf2_iterations: a.pbkdf2_iterations,
        }
    }
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matches.
    pub valid: bool,
    /// The stored hash should be replaced by one with the current algorithm and parameters.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords on a bounded pool.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    config: HasherConfig,
    pool: BlockingPool,
}

impl PasswordHasher {
    /// A hasher with `concurrency` hashes at a time (0: one per CPU).
    pub fn new(config: HasherConfig, concurrency: usize) -> Self {
        Self { config, pool: BlockingPool::new(concurrency) }
    }

    /// The parameters for new hashes.
    pub fn config(&self) -> HasherConfig {
        self.config
    }

    /// How many hashes (including verifications) this hasher has computed.
    pub fn operations(&self) -> u64 {
        self.pool.operations()
    }

    async fn off_thread<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        self.pool.run(async { Ok(()) }, move |()| work()).await.expect("hashing does not panic")
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: &str) -> String {
        let (config, password) = (self.config, password.to_owned());
        self.off_thread(move || make_hash(&config, &password)).await
    }

    /// Checks a password against a stored hash.
    pub async fn verify(&self, password: &str, encoded: &str) -> Verification {
        let (config, password, encoded) = (self.config, password.to_owned(), encoded.to_owned());
        self.off_thread(move || verify(&config, &password, &encoded)).await
    }

    /// Spends the time of a real check, for unknown users, so timing does not reveal them.
    pub async fn dummy_verify(&self, password: &str) {
        let config = self.config;
        let password = password.to_owned();
        self.off_thread(move || {
            let _ = make_hash(&config, &password);
        })
        .await;
    }
}

/// Hashes `password` with the configured algorithm and a fresh salt.
pub fn make_hash(config: &HasherConfig, password: &str) -> String {
    match config.kind {
        PasswordHasherKind::Argon2id => {
            let salt = random_bytes(ARGON2_SALT_LEN);
            let (m, t, p) = (config.argon2_memory_kib, config.argon2_iterations, config.argon2_parallelism);
            let out = argon2id(password, &salt, m, t, p).expect("validated argon2 parameters");
            format!(
                "$argon2id$v=19$m={m},t={t},p={p}${}${}",
                STANDARD_NO_PAD.encode(&salt),
                STANDARD_NO_PAD.encode(out)
            )
        }
        PasswordHasherKind::Pbkdf2Sha256 => {
            let salt = random_string(PBKDF2_SALT_LEN, ALNUM);
            pbkdf2_sha256(password, &salt, config.pbkdf2_iterations)
        }
    }
}

/// `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`, as Django writes it.
pub fn pbkdf2_sha256(password: &str, salt: &str, iterations: u32) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    format!("pbkdf2_sha256${iterations}${salt}${}", STANDARD.encode(out))
}

fn argon2id(password: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Option<Vec<u8>> {
    let params = Params::new(m, t, p, Some(ARGON2_OUT_LEN)).ok()?;
    let mut out = vec![0u8; ARGON2_OUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .ok()?;
    Some(out)
}

/// Checks `password` against `encoded` (any supported format).
pub fn verify(config: &HasherConfig, password: &str, encoded: &str) -> Verification {
    let invalid = Verification { valid: false, needs_rehash: false };
    if let Some(rest) = encoded.strip_prefix("pbkdf2_sha256$") {
        let mut parts = rest.splitn(3, '$');
        let (Some(iterations), Some(salt), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return invalid;
        };
        let Ok(iterations) = iterations.parse::<u32>() else { return invalid };
        if iterations == 0 {
            return invalid;
        }
        let valid = constant_time_eq(pbkdf2_sha256(password, salt, iterations).as_bytes(), encoded.as_bytes());
        let needs_rehash = config.kind != PasswordHasherKind::Pbkdf2Sha256 || iterations != config.pbkdf2_iterations;
        return Verification { valid, needs_rehash: valid && needs_rehash };
    }
    // Django writes Argon2 hashes as `argon2$argon2id$...`; the PHC form starts with `$argon2id$`.
    let phc = encoded.strip_prefix("argon2").filter(|r| r.starts_with('$')).unwrap_or(encoded);
    if let Some(rest) = phc.strip_prefix("$argon2id$") {
        let fields: Vec<&str> = rest.split('$').collect();
        let [version, params, salt, hash] = fields.as_slice() else { return invalid };
        if *version != "v=19" {
            return invalid;
        }
        let mut m = None;
        let mut t = None;
        let mut p = None;
        for kv in params.split(',') {
            match kv.split_once('=') {
                Some(("m", v)) => m = v.parse::<u32>().ok(),
                Some(("t", v)) => t = v.parse::<u32>().ok(),
                Some(("p", v)) => p = v.parse::<u32>().ok(),
                _ => return invalid,
            }
        }
        let (Some(m), Some(t), Some(p)) = (m, t, p) else { return invalid };
        let (Ok(salt), Ok(expected)) = (STANDARD_NO_PAD.decode(salt), STANDARD_NO_PAD.decode(hash)) else {
            return invalid;
        };
        if expected.len() != ARGON2_OUT_LEN {
            return invalid;
        }
        let Some(actual) = argon2id(password, &salt, m, t, p) else { return invalid };
        let valid = constant_time_eq(&actual, &expected);
        let needs_rehash = config.kind != PasswordHasherKind::Argon2id
            || (m, t, p) != (config.argon2_memory_kib, config.argon2_iterations, config.argon2_parallelism);
        return Verification { valid, needs_rehash: valid && needs_rehash };
    }
    invalid
}

/// A hash that no password matches (`!` + random), for accounts without a password.
pub fn unusable_password() -> String {
    format!("!{}", random_string(40, ALNUM))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(kind: PasswordHasherKind) -> HasherConfig {
        HasherConfig {
            kind,
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            pbkdf2_iterations: 1000,
        }
    }

    #[test]
    fn pbkdf2_matches_python_hashlib() {
        // python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha256',b'<pw>',b'<salt>',<n>)).decode())"
        let vectors = [
            ("password", "seasalt", 1, "YQUqaoGGIdcjQtCPUVvu1oIcyb7WgPW9b7k/hvRudOk="),
            ("password", "seasalt2", 720_000, "HHc8aH3872cvN6HdOWSnTTjbNaoOlyEPtsXPEQRD1Q4="),
            ("lètmein", "xK3rLZtD7qQwPbB8mNvC2s", 1_000_000, "OVTdCluiak2K9gr90l44ZTph2i7BNjX6DvHXOglB6lc="),
            ("", "emptypass", 100, "BGkK71Sr8DX0sn6NqcrT/dnsoc6iVzl4ua+ScupC7F8="),
            ("correct horse battery staple", "abc", 600_000, "ZBYTKXNAUE8FVX+QedwTiJUlQ7YJPA7JoyqiETg3p/s="),
        ];
        for (pw, salt, n, b64) in vectors {
            assert_eq!(pbkdf2_sha256(pw, salt, n), format!("pbkdf2_sha256${n}${salt}${b64}"), "{pw}/{salt}/{n}");
        }
    }

    #[test]
    fn django_hashes_verify_and_ask_for_a_rehash() {
        let config = cheap(PasswordHasherKind::Argon2id);
        let django = pbkdf2_sha256("s3cret-pass", "AbCdEfGhIjKlMnOpQrStUv", 720_000);
        assert_eq!(verify(&config, "s3cret-pass", &django), Verification { valid: true, needs_rehash: true });
        assert_eq!(verify(&config, "wrong", &django), Verification { valid: false, needs_rehash: false });
    }

    #[test]
    fn new_hashes_verify_and_need_no_rehash_until_parameters_change() {
        for kind in [PasswordHasherKind::Argon2id, PasswordHasherKind::Pbkdf2Sha256] {
            let config = cheap(kind);
            let h = make_hash(&config, "hunter22!");
            assert_eq!(verify(&config, "hunter22!", &h), Verification { valid: true, needs_rehash: false });
            assert!(!verify(&config, "hunter22?", &h).valid);
            let mut stronger = config;
            stronger.argon2_memory_kib = 128;
            stronger.pbkdf2_iterations = 2000;
            assert!(verify(&stronger, "hunter22!", &h).needs_rehash);
        }
    }

    #[test]
    fn salts_are_unique_and_long_enough() {
        let config = cheap(PasswordHasherKind::Pbkdf2Sha256);
        let a = make_hash(&config, "same");
        let b = make_hash(&config, "same");
        assert_ne!(a, b);
        let salt = a.split('$').nth(2).unwrap();
        assert!(salt.len() >= 22 && salt.bytes().all(|c| ALNUM.contains(&c)));
    }

    #[test]
    fn djangos_argon2_prefix_is_understood() {
        let config = cheap(PasswordHasherKind::Argon2id);
        let phc = make_hash(&config, "pw-123456");
        assert!(verify(&config, "pw-123456", &format!("argon2{phc}")).valid);
    }

    #[test]
    fn malformed_and_unusable_hashes_never_verify() {
        let config = cheap(PasswordHasherKind::Argon2id);
        for bad in [
            "",
            "!",
            &unusable_password(),
            "pbkdf2_sha256$x$y$z",
            "pbkdf2_sha256$0$a$b",
            "$argon2id$v=19$m=64$a$b",
            "md5$a$b",
            "$argon2id$v=16$m=64,t=1,p=1$AAAA$AAAA",
        ] {
            assert!(!verify(&config, "", bad).valid, "{bad}");
        }
    }
}
