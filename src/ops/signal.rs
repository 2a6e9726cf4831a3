//! Stopping on request: Ctrl-C and SIGTERM end an operation cleanly.

use anyhow::{bail, Result};

/// Runs `work` until it ends or the process is told to stop (Ctrl-C, SIGTERM):
/// then it is dropped (steps under way are abandoned) and an error says so.
pub async fn interruptible<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::select! {
        result = work => result,
        () = stop_signal() => bail!(INTERRUPTED),
    }
}

/// Resolves when the process is told to stop: Ctrl-C (SIGINT) or SIGTERM.
pub async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

const INTERRUPTED: &str = "interrupted: steps under way were abandoned and the lock released. \
    Nothing was rolled back; `reconcile plan` shows what remains.";
