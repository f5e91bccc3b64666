//! Password hashing with argon2id (PHC strings), run off the async executor.
//!
//! Unknown users are verified against a dummy hash built with the same parameters, so a login
//! for an unknown email costs the same as a wrong password and takes the same code path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// Argon2id cost parameters (`ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS`, `ARGON2_PARALLELISM`).
/// Defaults are OWASP's: 19 MiB, 2 iterations, 1 lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Which argon2 parameter a policy gets wrong (the configuration names its variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    Memory,
    Iterations,
    Parallelism,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PolicyProblem {
    pub parameter: Parameter,
    pub reason: String,
}

impl PasswordPolicy {
    /// Refuses parameters argon2 rejects (memory below 8 KiB per lane) and absurd ones.
    pub fn check(&self) -> Result<(), PolicyProblem> {
        let problem = |parameter, reason: &str| {
            Err(PolicyProblem {
                parameter,
                reason: reason.to_owned(),
            })
        };
        if self.parallelism == 0 || self.parallelism > 16 {
            return problem(Parameter::Parallelism, "must be between 1 and 16");
        }
        if self.iterations == 0 || self.iterations > 64 {
            return problem(Parameter::Iterations, "must be between 1 and 64");
        }
        if self.memory_kib > 1024 * 1024 {
            return problem(Parameter::Memory, "must be at most 1048576 KiB (1 GiB)");
        }
        self.params().map(|_| ()).or_else(|error| {
            problem(
                Parameter::Memory,
                &format!("argon2 refuses these parameters: {error}"),
            )
        })
    }

    fn params(&self) -> Result<Params, argon2::Error> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed")]
    Hashing(#[source] argon2::password_hash::Error),
    #[error("the stored password hash is not a valid PHC string")]
    CorruptHash(#[source] argon2::password_hash::Error),
    #[error("the hashing task did not complete")]
    TaskFailed(#[source] tokio::task::JoinError),
}

/// What an account created through an identity provider stores as its password hash: no
/// password verifies against it (argon2 hashes start with `$`), and [`Passwords::verify`] runs
/// the dummy hash for it, as for an unknown email. A reset link sets a real one.
pub const NO_PASSWORD: &str = "!none";

/// Whether a stored hash is a password's (not [`NO_PASSWORD`]).
pub fn has_password(stored_hash: &str) -> bool {
    stored_hash != NO_PASSWORD
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    /// The password is right; `needs_rehash` says the stored parameters differ from the policy.
    Match {
        needs_rehash: bool,
    },
}

/// Hashes and verifies passwords under one policy.
#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    policy: PasswordPolicy,
    dummy_hash: String,
    /// argon2 verifications run, the dummy ones included (shows unknown users cost the same).
    verifications: Arc<AtomicU64>,
    policy_cost: Arc<PolicyCost>,
    /// argon2's working memory (19 MiB by default), allocated once and reused. Allocating it
    /// per call let glibc's malloc keep freed copies around: peak RSS reached 219 MiB after 60
    /// registrations, against 256 MiB functions (scripts/bench).
    memory: Arc<Mutex<Vec<Block>>>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Passwords {
    pub fn new(policy: PasswordPolicy) -> Result<Self, PolicyProblem> {
        policy.check()?;
        let params = policy.params().map_err(|error| PolicyProblem {
            parameter: Parameter::Memory,
            reason: error.to_string(),
        })?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            dummy_hash: dummy_hash(&policy),
            policy,
            verifications: Arc::default(),
            policy_cost: Arc::default(),
            memory: Arc::default(),
        })
    }

    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    pub fn policy(&self) -> PasswordPolicy {
        self.policy
    }

    /// Hashes with a fresh random salt, on the blocking pool.
    pub async fn hash(&self, password: SecretString) -> Result<String, PasswordError> {
        let argon2 = self.argon2.clone();
        let memory = Arc::clone(&self.memory);
        let policy = self.policy;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&auth_core::random::bytes::<16>())
                .map_err(PasswordError::Hashing)?;
            let mut salt_buffer = [0u8; 64];
            let salt_bytes = salt
                .as_salt()
                .decode_b64(&mut salt_buffer)
                .map_err(PasswordError::Hashing)?;
            let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
                with_memory(&memory, argon2.params().block_count(), |blocks| {
                    argon2.hash_password_into_with_memory(
                        password.expose_secret().as_bytes(),
                        salt_bytes,
                        out,
                        blocks,
                    )
                })
                .map_err(Into::into)
            })
            .map_err(PasswordError::Hashing)?;
            let params = ParamsString::try_from(argon2.params()).map_err(PasswordError::Hashing)?;
            let hash = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            };
            debug_assert!(hash_uses_policy(&hash, &policy));
            Ok(hash.to_string())
        })
        .await
        .map_err(PasswordError::TaskFailed)?
    }

    /// Verifies `password` against `stored`, or, when there is no stored hash (unknown user),
    /// against the dummy hash so the work done is the same; the answer is then always `Mismatch`.
    ///
    /// A stored hash made with cheaper, older parameters would answer faster than the dummy and
    /// tell an attacker the account exists: its verification is padded to what one run with the
    /// policy's parameters takes here (the first such check on an instance, before any policy
    /// run was timed, runs the dummy as well instead).
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verification, PasswordError> {
        // An account without a password is answered as an unknown one: same work, same answer.
        let stored = stored.filter(|hash| has_password(hash));
        let user_exists = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let verified = self.run_verify(password.clone(), stored).await?;
        let verification = if verified.matches && user_exists {
            Verification::Match {
                needs_rehash: !verified.uses_policy,
            }
        } else {
            Verification::Mismatch
        };
        if verified.uses_policy {
            self.policy_cost.observe(&verified);
        } else {
            match self.policy_cost.get() {
                Some(cost) => tokio::time::sleep(cost.saturating_sub(verified.took)).await,
                None => {
                    let dummy = self.run_verify(password, self.dummy_hash.clone()).await?;
                    self.policy_cost.observe(&dummy);
                }
            }
        }
        Ok(verification)
    }

    /// One argon2 verification on the blocking pool, timed.
    async fn run_verify(
        &self,
        password: SecretString,
        stored: String,
    ) -> Result<Verified, PasswordError> {
        let policy = self.policy;
        let verifications = Arc::clone(&self.verifications);
        let memory = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || {
            verifications.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let parsed = PasswordHash::new(&stored).map_err(PasswordError::CorruptHash)?;
            // A run that first grows the working memory pays for page faults too: not a sample
            // of what a verification costs.
            let warm = Params::try_from(&parsed).is_ok_and(|params| {
                memory.lock().unwrap_or_else(PoisonError::into_inner).len() >= params.block_count()
            });
            let matches = recompute_matches(&parsed, password.expose_secret().as_bytes(), &memory)?;
            Ok(Verified {
                matches,
                uses_policy: hash_uses_policy(&parsed, &policy),
                took: started.elapsed(),
                warm,
            })
        })
        .await
        .map_err(PasswordError::TaskFailed)?
    }
}

struct Verified {
    matches: bool,
    uses_policy: bool,
    took: Duration,
    /// The working memory was already allocated: `took` is a fair sample.
    warm: bool,
}

/// How long one argon2 run with the policy's parameters takes on this instance: a moving
/// average of the runs seen (each weighs a quarter), in nanoseconds; 0 until the first.
#[derive(Debug, Default)]
struct PolicyCost(AtomicU64);

impl PolicyCost {
    fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    fn observe(&self, run: &Verified) {
        if !run.warm {
            return;
        }
        let sample = u64::try_from(run.took.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        // Racing updates may drop a sample; the average stays an average of real runs.
        let average = match self.0.load(Ordering::Relaxed) {
            0 => sample,
            old => old - old / 4 + sample / 4,
        };
        self.0.store(average, Ordering::Relaxed);
    }
}

/// Runs `work` over `blocks` blocks of the shared working memory, growing it once.
fn with_memory(
    memory: &Mutex<Vec<Block>>,
    blocks: usize,
    work: impl FnOnce(&mut [Block]) -> Result<(), argon2::Error>,
) -> Result<(), argon2::Error> {
    // A panic mid-hash leaves only scratch data behind, so a poisoned lock is safe to reuse.
    let mut memory = memory.lock().unwrap_or_else(PoisonError::into_inner);
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let blocks = memory
        .get_mut(..blocks)
        .ok_or(argon2::Error::MemoryTooLittle)?;
    work(blocks)
}

/// Recomputes the hash of `password` with the parameters and salt stored in `hash` and compares
/// in constant time (`Output`'s equality).
fn recompute_matches(
    hash: &PasswordHash<'_>,
    password: &[u8],
    memory: &Mutex<Vec<Block>>,
) -> Result<bool, PasswordError> {
    let corrupt = PasswordError::CorruptHash;
    let algorithm = Algorithm::try_from(hash.algorithm).map_err(corrupt)?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| corrupt(e.into()))?
        .unwrap_or_default();
    let params = Params::try_from(hash).map_err(corrupt)?;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return Err(corrupt(argon2::password_hash::Error::PhcStringField));
    };
    let mut salt_buffer = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buffer).map_err(corrupt)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let actual = Output::init_with(expected.len(), |out| {
        with_memory(memory, argon2.params().block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password, salt_bytes, out, blocks)
        })
        .map_err(Into::into)
    })
    .map_err(corrupt)?;
    Ok(actual == expected)
}

fn hash_uses_policy(hash: &PasswordHash<'_>, policy: &PasswordPolicy) -> bool {
    let Ok(params) = Params::try_from(hash) else {
        return false;
    };
    hash.algorithm == Algorithm::Argon2id.ident()
        && hash.version == Some(Version::V0x13.into())
        && params.m_cost() == policy.memory_kib
        && params.t_cost() == policy.iterations
        && params.p_cost() == policy.parallelism
}

/// A well-formed PHC string with the policy's parameters. Verifying against it costs one full
/// argon2 run and never succeeds; building it costs nothing at cold start.
fn dummy_hash(policy: &PasswordPolicy) -> String {
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        policy.memory_kib,
        policy.iterations,
        policy.parallelism,
        encode(b"dummy-salt-16byt"),
        encode(&[0u8; 32]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    async fn check(
        passwords: &Passwords,
        password: SecretString,
        hash: Option<String>,
    ) -> Verification {
        passwords.verify(password, hash).await.expect("verify")
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let passwords = Passwords::new(PasswordPolicy::default()).expect("valid policy");
        let hash = passwords
            .hash(secret("correct horse battery"))
            .await
            .expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            check(
                &passwords,
                secret("correct horse battery"),
                Some(hash.clone())
            )
            .await,
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            check(&passwords, secret("wrong horse battery"), Some(hash)).await,
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn an_unknown_user_is_checked_against_the_dummy_hash_and_never_matches() {
        let passwords = Passwords::new(PasswordPolicy::default()).expect("valid policy");
        assert!(
            PasswordHash::new(&passwords.dummy_hash).is_ok(),
            "dummy hash must parse"
        );
        let outcome = passwords
            .verify(secret("anything at all"), None)
            .await
            .expect("verify");
        assert_eq!(outcome, Verification::Mismatch);
    }

    #[tokio::test]
    async fn a_hash_made_with_other_parameters_asks_for_a_rehash() {
        let old = Passwords::new(PasswordPolicy {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
        })
        .expect("policy");
        let hash = old
            .hash(secret("correct horse battery"))
            .await
            .expect("hash");
        let current = Passwords::new(PasswordPolicy::default()).expect("policy");
        assert_eq!(
            current
                .verify(secret("correct horse battery"), Some(hash))
                .await
                .expect("verify"),
            Verification::Match { needs_rehash: true }
        );
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_in_both_directions() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let passwords = Passwords::new(PasswordPolicy::default()).expect("policy");
        let ours = passwords
            .hash(secret("correct horse battery"))
            .await
            .expect("hash");
        let stock = Argon2::default();
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(
            stock
                .verify_password(b"correct horse battery", &parsed)
                .is_ok(),
            "stock argon2 verifies ours"
        );

        let salt = SaltString::encode_b64(b"sixteen byte salt").expect("salt");
        let theirs = stock
            .hash_password(b"correct horse battery", &salt)
            .expect("stock hash")
            .to_string();
        assert_eq!(
            check(
                &passwords,
                secret("correct horse battery"),
                Some(theirs.clone())
            )
            .await,
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            check(&passwords, secret("wrong"), Some(theirs)).await,
            Verification::Mismatch
        );
    }
}
