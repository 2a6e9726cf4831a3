//! Walking a dependency graph: a step runs once its dependencies are done, at
//! most `parallelism` at a time; a failure marks everything downstream skipped
//! while independent steps carry on.

use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::VecDeque;
use std::future::Future;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<E> {
    Done,
    Failed(E),
    /// Not run because the step with this index failed.
    Skipped {
        upstream: usize,
    },
    /// Never ready: steps that wait on each other in a cycle.
    InCycle,
}

/// Runs every step; `deps[i]` lists the steps `i` waits for.
pub async fn walk<F, Fut, E>(deps: &[Vec<usize>], parallelism: usize, run: F) -> Vec<Outcome<E>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let n = deps.len();
    let mut dependents = vec![Vec::new(); n];
    for (step, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(step);
        }
    }
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut outcomes: Vec<Option<Outcome<E>>> = (0..n).map(|_| None).collect();
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < parallelism.max(1) {
            let Some(step) = ready.pop_front() else { break };
            let fut = run(step);
            running.push(async move { (step, fut.await) });
        }
        let Some((step, result)) = running.next().await else {
            break;
        };
        match result {
            Ok(()) => {
                outcomes[step] = Some(Outcome::Done);
                for &d in &dependents[step] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 && outcomes[d].is_none() {
                        ready.push_back(d);
                    }
                }
            }
            Err(message) => {
                outcomes[step] = Some(Outcome::Failed(message));
                let mut downstream = dependents[step].clone();
                while let Some(d) = downstream.pop() {
                    if outcomes[d].is_none() {
                        outcomes[d] = Some(Outcome::Skipped { upstream: step });
                        downstream.extend(&dependents[d]);
                    }
                }
            }
        }
    }
    // Only a cycle leaves a step undecided; report it rather than hang or panic.
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::InCycle))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    #[tokio::test]
    async fn runs_in_dependency_order() {
        let order = Mutex::new(Vec::new());
        // 0 <- 1 <- 2, and 3 alone.
        let deps = vec![vec![], vec![0], vec![1], vec![]];
        let outcomes = walk(&deps, 4, |i| {
            let order = &order;
            async move {
                order.lock().unwrap().push(i);
                Ok::<_, String>(())
            }
        })
        .await;
        assert!(outcomes.iter().all(|o| *o == Outcome::Done));
        let order = order.into_inner().unwrap();
        let pos = |s| order.iter().position(|&x| x == s).unwrap();
        assert!(pos(0) < pos(1) && pos(1) < pos(2));
    }

    #[tokio::test]
    async fn a_failure_skips_dependents_and_lets_independent_steps_finish() {
        // 0 fails; 1 depends on 0; 2 depends on 1; 3 is independent.
        let deps = vec![vec![], vec![0], vec![1], vec![]];
        let outcomes = walk(&deps, 1, |i| async move {
            if i == 0 {
                Err("boom".to_string())
            } else {
                Ok::<_, String>(())
            }
        })
        .await;
        assert_eq!(
            outcomes,
            vec![
                Outcome::Failed("boom".into()),
                Outcome::Skipped { upstream: 0 },
                Outcome::Skipped { upstream: 0 },
                Outcome::Done
            ]
        );
    }

    #[tokio::test]
    async fn parallelism_is_bounded() {
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let deps = vec![vec![]; 8];
        walk(&deps, 3, |_| {
            let (now, peak) = (&now, &peak);
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, String>(())
            }
        })
        .await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
