//! A web server that has been told to stop: from then on `/readyz` answers 503 (the load balancer
//! takes the instance out of rotation) and every open event stream ends (browsers' `EventSource`
//! reconnects, reaching another instance), so that draining the remaining requests is quick.

use tokio::sync::watch;

/// Whether this process is stopping; clones share it.
#[derive(Debug, Clone)]
pub struct Stopping {
    sender: std::sync::Arc<watch::Sender<bool>>,
}

impl Default for Stopping {
    fn default() -> Self {
        Self { sender: std::sync::Arc::new(watch::Sender::new(false)) }
    }
}

impl Stopping {
    /// Marks the process as stopping (once; later calls change nothing).
    pub fn begin(&self) {
        self.sender.send_replace(true);
    }

    /// Whether it is stopping.
    #[must_use]
    pub fn is_stopping(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once the process is stopping (at once if it already is).
    pub async fn wait(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives as long as `self`, so this only returns when the flag is set.
        let _ = receiver.wait_for(|stopping| *stopping).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_stopping_begins_and_later_ones_do_not_wait() {
        let stopping = Stopping::default();
        assert!(!stopping.is_stopping());
        let waiter = tokio::spawn({
            let stopping = stopping.clone();
            async move { stopping.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        stopping.begin();
        waiter.await.unwrap();
        assert!(stopping.is_stopping());
        stopping.wait().await;
    }
}
