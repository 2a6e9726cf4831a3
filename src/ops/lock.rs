//! One run at a time per stack: a lock held in the account itself (no state
//! file, no extra service), in every region of the run, taken in sorted order
//! so that two runs never wait on each other. `plan` takes none.
//!
//! The holder refreshes the lock's expiry while it runs; a lock past its expiry,
//! or whose holder process on this host is gone, is stale and can be broken
//! with `reconcile unlock`.

use super::clock::Clock;
use crate::aws::cloud::LockRecord;
use crate::aws::cloud::LockStore;
use crate::model::profile::phase;
use crate::model::progress::Progress;
use anyhow::{bail, Result};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::Instrument;

/// How long a lock stays valid without a refresh; the holder refreshes it every third of that.
pub const TTL: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_secs(2);

/// The lock of one stack, held in some regions.
pub struct StackLock<L: LockStore> {
    store: L,
    stack: String,
    /// The stack file, for the hint to `reconcile unlock`.
    file: std::path::PathBuf,
    regions: Vec<String>,
    token: String,
    heartbeat: tokio::task::JoinHandle<()>,
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn timestamp(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Who is taking the lock: the operator the change record names
/// (`super::operator`), on this host and process.
fn holder() -> String {
    let user = super::operator();
    let mut who = format!("{user}@{} (pid {})", hostname(), std::process::id());
    if let (Ok(repo), Ok(run)) = (
        std::env::var("GITHUB_REPOSITORY"),
        std::env::var("GITHUB_RUN_ID"),
    ) {
        who.push_str(&format!(", GitHub Actions {repo} run {run}"));
    }
    who
}

/// Why a lock may be broken, or `None` while its holder may still be running.
pub fn stale(
    held: &LockRecord,
    now: u64,
    this_host: &str,
    alive: impl Fn(u32) -> bool,
) -> Option<String> {
    if held.expires <= now {
        return Some(format!("it expired at {}", timestamp(held.expires)));
    }
    if gone_from_this_host(held, this_host, alive) {
        return Some(format!("process {} on this host is gone", held.pid));
    }
    None
}

/// Whether the holder ran on this host and its process is provably gone:
/// then the lock is taken over without `reconcile unlock`.
fn gone_from_this_host(held: &LockRecord, this_host: &str, alive: impl Fn(u32) -> bool) -> bool {
    held.host == this_host && held.pid != 0 && !alive(held.pid)
}

/// Whether the process that took a lock at `since` still runs: a process of
/// that pid started later is another one (the pid was reused).
fn process_alive(pid: u32, since: u64) -> bool {
    match process_start(pid) {
        Some(started) => started <= since + 1,
        None => std::path::Path::new(&format!("/proc/{pid}")).exists(),
    }
}

/// When process `pid` started, in seconds since the epoch (Linux: its start
/// in clock ticks after boot, `/proc/PID/stat`, and the boot time, `/proc/stat`).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces and parentheses: fields count after the last `)`.
    let after = stat.rsplit_once(')')?.1;
    let ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(boot + ticks / 100)
}

fn describe(held: &LockRecord) -> String {
    format!(
        "{} ({}, since {}, valid until {})",
        held.holder,
        held.operation,
        timestamp(held.since),
        timestamp(held.expires)
    )
}

/// Takes the lock of `stack` in every region of `regions`, waiting up to `wait`
/// (on `clock`) for a holder to finish; a lock whose holder ran on this host
/// and is provably gone is taken over. On failure, whatever was taken is given back.
pub async fn acquire<L: LockStore>(store: &L, lock: &Holding<'_>) -> Result<StackLock<L>> {
    let Holding {
        stack,
        file,
        regions,
        operation,
        wait,
        clock,
        progress,
    } = *lock;
    let mut sorted = regions.to_vec();
    sorted.sort();
    let started = clock.now();
    let since = seconds(started);
    let record = LockRecord {
        holder: holder(),
        host: hostname(),
        pid: std::process::id(),
        token: format!("{}-{}", std::process::id(), since_nanos()),
        operation: operation.to_string(),
        since,
        expires: since + TTL.as_secs(),
    };
    let waited = || clock.now().duration_since(started).unwrap_or_default();
    let mut taken: Vec<String> = Vec::new();
    for region in &sorted {
        let mut told = false;
        loop {
            let attempt = store.take_lock(region, stack, &record).await;
            match attempt {
                Ok(true) => {
                    taken.push(region.clone());
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    give_back(store, stack, file, &taken, &record.token).await;
                    return Err(anyhow::Error::new(e)
                        .context(format!("taking the lock of stack {stack} in {region}")));
                }
            }
            let held = match store.read_lock(region, stack).await {
                Ok(Some(held)) => held,
                // Released in between: take it now.
                Ok(None) => continue,
                Err(e) => {
                    give_back(store, stack, file, &taken, &record.token).await;
                    return Err(anyhow::Error::new(e)
                        .context(format!("reading the lock of stack {stack} in {region}")));
                }
            };
            let alive = |pid| process_alive(pid, held.since);
            if gone_from_this_host(&held, &hostname(), alive) {
                // Its run was killed (kill -9, a crash): nobody holds it.
                store.remove_lock(region, stack, None).await.map_err(|e| {
                    anyhow::Error::new(e)
                        .context(format!("taking over the lock of stack {stack} in {region}"))
                })?;
                progress.line(format!(
                    "took over the lock of stack {stack} in {region} from {}: process {} on this host is gone",
                    describe(&held),
                    held.pid
                ));
                continue;
            }
            if waited() >= wait {
                give_back(store, stack, file, &taken, &record.token).await;
                let hint = match stale(&held, seconds(clock.now()), &hostname(), alive) {
                    Some(why) => format!(
                        "The lock looks stale ({why}): if that run is gone, break it with \
                         `reconcile unlock {}`.",
                        file.display()
                    ),
                    None => format!(
                        "Wait for it to finish (or pass --lock-timeout 10m to wait here); if \
                         that run is gone, `reconcile unlock {}` breaks the lock once it is stale.",
                        file.display()
                    ),
                };
                bail!(
                    "stack {stack} is locked in {region} by {}; nothing was changed.\n  {hint}",
                    describe(&held)
                );
            }
            if !told {
                progress.line(format!(
                    "stack {stack} is locked in {region} by {}: waiting up to {}",
                    describe(&held),
                    humantime::format_duration(wait)
                ));
                told = true;
            }
            clock
                .sleep(
                    POLL.min(wait.saturating_sub(waited()))
                        .max(Duration::from_millis(100)),
                )
                .await;
        }
    }
    let heartbeat = tokio::spawn(refresh(
        store.clone(),
        stack.to_string(),
        taken.clone(),
        record.token.clone(),
    ));
    Ok(StackLock {
        store: store.clone(),
        stack: stack.to_string(),
        file: file.to_path_buf(),
        regions: taken,
        token: record.token,
        heartbeat,
    })
}

fn since_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Keeps the lock's expiry ahead while the run lasts. The expiry is read by
/// other runs against their wall clocks, so this keeps to real time.
async fn refresh<L: LockStore>(store: L, stack: String, regions: Vec<String>, token: String) {
    loop {
        tokio::time::sleep(TTL / 3).await;
        for region in &regions {
            let expires = seconds(SystemTime::now()) + TTL.as_secs();
            if let Err(e) = store.refresh_lock(region, &stack, &token, expires).await {
                tracing::warn!("refreshing the lock of stack {stack} in {region}: {e}");
            }
        }
    }
}

async fn give_back<L: LockStore>(
    store: &L,
    stack: &str,
    file: &std::path::Path,
    regions: &[String],
    token: &str,
) {
    for region in regions {
        if let Err(e) = store.remove_lock(region, stack, Some(token)).await {
            tracing::warn!(
                "could not release the lock of stack {stack} in {region}: {e}; \
                 `reconcile unlock {}` breaks it once it is stale",
                file.display()
            );
        }
    }
}

/// The lock a run holds while it works: where, for how long to wait, what
/// it is called, and the clock that wait is on.
pub struct Holding<'a> {
    pub stack: &'a str,
    /// The stack file, for the hint to `reconcile unlock`.
    pub file: &'a std::path::Path,
    pub regions: &'a [String],
    pub operation: &'a str,
    pub wait: Duration,
    pub clock: &'a dyn Clock,
    pub progress: &'a Progress,
}

/// Runs `work` holding the lock of `stack` in `regions`, interruptible
/// (`super::interruptible`); the lock is given back however it ends.
pub async fn holding<L: LockStore, T>(
    store: &L,
    lock: Holding<'_>,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let held = acquire(store, &lock).instrument(phase("lock")).await?;
    let result = super::interruptible(work).await;
    held.release().instrument(phase("unlock")).await;
    result
}

impl<L: LockStore> StackLock<L> {
    /// Gives the lock back in every region where it is still this run's.
    pub async fn release(self) {
        self.heartbeat.abort();
        give_back(
            &self.store,
            &self.stack,
            &self.file,
            &self.regions,
            &self.token,
        )
        .await;
    }
}

/// `reconcile unlock`: breaks the lock of `stack` in `regions` where it is
/// stale (or anyway, with `force`); returns one line per region.
pub async fn unlock<L: LockStore>(
    store: &L,
    stack: &str,
    file: &std::path::Path,
    regions: &[String],
    force: bool,
) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut refused = Vec::new();
    for region in regions {
        let Some(held) = store.read_lock(region, stack).await? else {
            lines.push(format!("{region}: not locked"));
            continue;
        };
        let alive = |pid| process_alive(pid, held.since);
        let why = stale(&held, seconds(SystemTime::now()), &hostname(), alive)
            .or_else(|| force.then(|| "--force".to_string()));
        match why {
            Some(why) => {
                store.remove_lock(region, stack, None).await?;
                lines.push(format!(
                    "{region}: broke the lock held by {} ({why})",
                    describe(&held)
                ));
            }
            None => refused.push(format!(
                "{region}: held by {}, which may still be running",
                describe(&held)
            )),
        }
    }
    if !refused.is_empty() {
        bail!(
            "{}\n{}\n  The lock was not broken there. If you are sure that run is gone, \
             `reconcile unlock {} --force`.",
            lines.join("\n"),
            refused.join("\n"),
            file.display()
        );
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(host: &str, pid: u32, expires: u64) -> LockRecord {
        LockRecord {
            holder: "ci@runner (pid 7)".into(),
            host: host.into(),
            pid,
            token: "t".into(),
            operation: "apply".into(),
            since: 1_000,
            expires,
        }
    }

    #[test]
    fn a_lock_is_stale_when_expired_or_its_process_here_is_gone() {
        let alive = |_| true;
        let gone = |_| false;
        assert_eq!(stale(&held("a", 7, 2_000), 1_500, "a", alive), None);
        assert!(stale(&held("a", 7, 2_000), 2_000, "a", alive)
            .unwrap()
            .contains("expired"));
        assert!(stale(&held("a", 7, 2_000), 1_500, "a", gone)
            .unwrap()
            .contains("process 7"));
        // Another host's process cannot be checked from here.
        assert_eq!(stale(&held("b", 7, 2_000), 1_500, "a", gone), None);
    }

    #[test]
    fn a_process_that_took_the_lock_is_told_from_one_that_reused_its_pid() {
        let me = std::process::id();
        let now = seconds(SystemTime::now());
        let started = process_start(me).expect("this process's start");
        assert!(started <= now + 1, "{started} {now}");
        assert!(process_alive(me, now), "this process took a lock just now");
        assert!(
            !process_alive(me, started.saturating_sub(3600)),
            "a lock from before it started is another's"
        );
        assert!(!process_alive(u32::MAX - 1, now), "no such process");
    }
}
