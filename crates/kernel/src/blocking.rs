//! A bounded pool for CPU-heavy work: at most `concurrency` jobs hold a blocking thread at
//! once, the rest wait their turn (image decoding, password hashing).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;

/// Blocking work run a few at a time (image decoding, password hashing).
#[derive(Debug, Clone)]
pub struct BlockingPool {
    permits: Arc<Semaphore>,
    operations: Arc<AtomicU64>,
}

impl BlockingPool {
    /// A pool running `concurrency` jobs at a time (0: one per CPU).
    pub fn new(concurrency: usize) -> Self {
        let concurrency =
            if concurrency == 0 { std::thread::available_parallelism().map_or(2, usize::from) } else { concurrency };
        Self { permits: Arc::new(Semaphore::new(concurrency)), operations: Arc::default() }
    }

    /// Runs `work` on a blocking thread once a place is free; `load` runs first, inside the
    /// place, so the input is only in memory while its turn lasts.
    pub async fn run<I, T, L>(&self, load: L, work: impl FnOnce(I) -> T + Send + 'static) -> std::io::Result<T>
    where
        I: Send + 'static,
        T: Send + 'static,
        L: std::future::Future<Output = std::io::Result<I>>,
    {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        self.operations.fetch_add(1, Ordering::Relaxed);
        let input = load.await?;
        tokio::task::spawn_blocking(move || work(input)).await.map_err(std::io::Error::other)
    }

    /// Jobs run so far.
    pub fn operations(&self) -> u64 {
        self.operations.load(Ordering::Relaxed)
    }
}
