//! The audit trail of decisions: every decision of the policy, allowed or refused, becomes an
//! event in the ledger before the read proceeds. Events are written in batches by one task
//! (group commit): each caller waits for the transaction that holds its event.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tongdang_store::{AuditEvent, Store, StoreError};

type Pending = (AuditEvent, oneshot::Sender<Result<(), String>>);

/// Events waiting per batch at most.
const BATCH: usize = 1000;

/// Writes audit events to the store's ledger.
pub struct AuditLog {
    store: Arc<dyn Store>,
    queue: Option<mpsc::Sender<Pending>>,
}

impl AuditLog {
    /// A log writing through a batching task when a Tokio runtime is running, else directly.
    pub fn new(store: Arc<dyn Store>) -> AuditLog {
        let queue = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let (tx, rx) = mpsc::channel::<Pending>(8 * BATCH);
            rt.spawn(write_batches(store.clone(), rx));
            tx
        });
        AuditLog { store, queue }
    }

    /// Record one event; returns once it is durable.
    pub async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.submit(event).await.wait().await
    }

    /// Hand one event to the writer and return at once: the caller reads while the event is
    /// written, and waits on the ticket before it lets any data out.
    pub async fn submit(&self, event: AuditEvent) -> AuditTicket {
        let Some(queue) = &self.queue else {
            return AuditTicket(Err(self.store.append_events(&[event]).await.map(|_| ())));
        };
        let (done, wait) = oneshot::channel();
        if queue.send((event, done)).await.is_err() {
            return AuditTicket(Err(Err(StoreError::Conflict("the audit writer stopped".into()))));
        }
        AuditTicket(Ok(wait))
    }
}

/// An event on its way to the ledger.
#[must_use = "wait for the audit event before returning data"]
pub struct AuditTicket(Result<oneshot::Receiver<Result<(), String>>, Result<(), StoreError>>);

impl AuditTicket {
    /// Wait until the event is durable.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            Err(done) => done,
            Ok(wait) => match wait.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(StoreError::Conflict(format!("audit event not written: {e}"))),
                Err(_) => Err(StoreError::Conflict("the audit writer stopped".into())),
            },
        }
    }
}

async fn write_batches(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let events: Vec<AuditEvent> = batch.iter().map(|(e, _)| e.clone()).collect();
        let outcome = store.append_events(&events).await.map(|_| ()).map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            tracing::error!(error = %e, events = events.len(), "audit events not written; the reads wait for none");
        }
        for (_, done) in batch {
            let _ = done.send(outcome.clone());
        }
    }
}
