//! Your data is yours: all of a user's data as one document, read a page at a time from one
//! snapshot and handed on piece by piece, so that memory stays bounded however much there is.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nestegg_ports::{Clock, ExportRecord, ExportRepository, ExportSection, User};
use uuid::Uuid;

use crate::error::AppError;

/// Rows read per query: at most this many are held at once.
pub const EXPORT_PAGE: u32 = 1_000;

/// Exports that may run at once when the wiring does not say: each holds a database
/// connection for as long as its client reads, so without a cap a few slow exports could take
/// the whole pool from every other request.
pub const DEFAULT_EXPORT_SLOTS: usize = 2;

/// How long a refused export is asked to wait: exports of large histories take seconds.
pub const EXPORT_RETRY: Duration = Duration::from_secs(10);

/// Exports running now, and how many may.
#[derive(Debug)]
struct Slots {
    running: AtomicUsize,
    max: usize,
}

impl Slots {
    fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            running: AtomicUsize::new(0),
            max: max.max(1),
        })
    }

    /// A slot if one is free; it is given back when dropped, however the export ends.
    fn take(self: &Arc<Self>) -> Option<Slot> {
        self.running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.clone()))
    }
}

/// A running export's slot.
struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A piece of the document, in order: `Begin`, then each section's `Section` followed by its
/// `Records` (none when it is empty), then `End`.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportPart {
    /// The document's head.
    Begin {
        /// The user (the renderer must leave out the password hash).
        user: User,
        /// When the snapshot was taken.
        exported_at: DateTime<Utc>,
    },
    /// A section starts.
    Section(ExportSection),
    /// Rows of the current section, at most [`EXPORT_PAGE`].
    Records(Vec<ExportRecord>),
    /// The document is complete.
    End,
}

/// The export use case.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct ExportService {
    exports: Arc<dyn ExportRepository>,
    clock: Arc<dyn Clock>,
    slots: Arc<Slots>,
}

impl ExportService {
    /// A service over the export port, running at most [`DEFAULT_EXPORT_SLOTS`] at once.
    #[must_use]
    pub fn new(exports: Arc<dyn ExportRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            exports,
            clock,
            slots: Slots::new(DEFAULT_EXPORT_SLOTS),
        }
    }

    /// The same service running at most `max` exports at once (at least one).
    #[must_use]
    pub fn with_slots(mut self, max: usize) -> Self {
        self.slots = Slots::new(max);
        self
    }

    /// Reads the user's data and hands it to `emit` piece by piece; `emit` answers `false` when
    /// nobody is listening any more (the client went away), and the export stops there.
    ///
    /// # Errors
    /// [`AppError::Overloaded`] when every slot is taken (nothing is read); [`AppError::NotFound`]
    /// when the user is gone; when the store fails. A failure after the first piece leaves the
    /// document incomplete: the caller must not pass it off as whole.
    pub async fn export<F, Fut>(&self, user_id: Uuid, mut emit: F) -> Result<(), AppError>
    where
        F: FnMut(ExportPart) -> Fut + Send,
        Fut: Future<Output = bool> + Send,
    {
        // Held until the export ends, whichever way it ends.
        let _slot = self.slots.take().ok_or(AppError::Overloaded {
            retry_after: EXPORT_RETRY,
        })?;
        let mut reader = self.exports.open(user_id).await?;
        let user = reader.user().await.map_err(|e| match e {
            nestegg_ports::RepoError::NotFound => AppError::NotFound("user"),
            other => other.into(),
        })?;
        let begin = ExportPart::Begin {
            user,
            exported_at: self.clock.now(),
        };
        if !emit(begin).await {
            return Ok(());
        }
        for section in ExportSection::ALL {
            if !emit(ExportPart::Section(section)).await {
                return Ok(());
            }
            let mut after = None;
            loop {
                let page = reader.page(section, after, EXPORT_PAGE).await?;
                if !page.records.is_empty() && !emit(ExportPart::Records(page.records)).await {
                    return Ok(());
                }
                // A cursor that does not move would loop for ever: treat it as the end.
                match page.next {
                    Some(next) if Some(next) != after => after = Some(next),
                    _ => break,
                }
            }
        }
        emit(ExportPart::End).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Mutex;

    use nestegg_ports::export::{MockExportReader, MockExportRepository};
    use nestegg_ports::{ExportPage, RepoError};

    use super::*;
    use crate::test_support::{clock, now, transaction, user};

    /// Every page a reader was asked for: the section, the cursor and the limit.
    type Asked = Arc<Mutex<Vec<(ExportSection, Option<Uuid>, u32)>>>;

    /// A reader whose transactions come in two pages and whose other sections are empty,
    /// recording every page it is asked for.
    fn reader(asked: Asked) -> MockExportReader {
        let mut reader = MockExportReader::new();
        reader.expect_user().returning(|| Ok(user()));
        let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
        reader
            .expect_page()
            .returning(move |section, after, limit| {
                asked.lock().unwrap().push((section, after, limit));
                let mut t = transaction();
                Ok(match (section, after) {
                    (ExportSection::Transactions, None) => {
                        t.id = first;
                        ExportPage {
                            records: vec![ExportRecord::Transaction(t)],
                            next: Some(first),
                        }
                    }
                    (ExportSection::Transactions, Some(_)) => {
                        t.id = second;
                        ExportPage {
                            records: vec![ExportRecord::Transaction(t)],
                            next: None,
                        }
                    }
                    _ => ExportPage::default(),
                })
            });
        reader
    }

    fn service(asked: Asked) -> ExportService {
        let mut repo = MockExportRepository::new();
        repo.expect_open()
            .returning(move |_| Ok(Box::new(reader(asked.clone()))));
        ExportService::new(Arc::new(repo), Arc::new(clock()))
    }

    #[tokio::test]
    async fn the_export_reads_every_section_in_bounded_pages_and_hands_each_page_on() {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let parts = Arc::new(Mutex::new(Vec::new()));
        let kept = parts.clone();
        service(asked.clone())
            .export(Uuid::now_v7(), move |part| {
                kept.lock().unwrap().push(part);
                async { true }
            })
            .await
            .unwrap();

        let asked = asked.lock().unwrap();
        assert!(asked.iter().all(|(_, _, limit)| *limit == EXPORT_PAGE));
        for section in ExportSection::ALL {
            assert!(
                asked
                    .iter()
                    .any(|(s, after, _)| *s == section && after.is_none())
            );
        }
        let transaction_pages: Vec<_> = asked
            .iter()
            .filter(|(s, _, _)| *s == ExportSection::Transactions)
            .collect();
        assert_eq!(
            transaction_pages.len(),
            2,
            "the second page starts after the first"
        );
        assert!(transaction_pages[1].1.is_some());

        let parts = parts.lock().unwrap();
        assert!(
            matches!(&parts[0], ExportPart::Begin { exported_at, .. } if *exported_at == now())
        );
        assert_eq!(parts.last(), Some(&ExportPart::End));
        let pages = parts
            .iter()
            .filter(|p| matches!(p, ExportPart::Records(r) if r.len() == 1))
            .count();
        assert_eq!(pages, 2, "each page is handed on alone, never gathered");
        let sections = parts
            .iter()
            .filter(|p| matches!(p, ExportPart::Section(_)))
            .count();
        assert_eq!(sections, ExportSection::ALL.len());
    }

    #[tokio::test]
    async fn the_export_stops_reading_when_nobody_listens_any_more() {
        let asked = Arc::new(Mutex::new(Vec::new()));
        service(asked.clone())
            .export(Uuid::now_v7(), |_| async { false })
            .await
            .unwrap();
        assert!(asked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_export_for_a_user_who_is_gone_is_not_found() {
        let mut repo = MockExportRepository::new();
        repo.expect_open().returning(|_| {
            let mut reader = MockExportReader::new();
            reader.expect_user().returning(|| Err(RepoError::NotFound));
            Ok(Box::new(reader))
        });
        // One slot: a failed export must give it back, or the second would be refused.
        let service = ExportService::new(Arc::new(repo), Arc::new(clock())).with_slots(1);
        for attempt in 1..=2 {
            let err = service
                .export(Uuid::now_v7(), |_| async { true })
                .await
                .unwrap_err();
            assert!(
                matches!(err, AppError::NotFound("user")),
                "{attempt}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn exports_beyond_the_slots_are_refused_as_overloaded_until_one_ends() {
        let service = service(Arc::new(Mutex::new(Vec::new()))).with_slots(1);
        // The first export holds at its first piece until told to go on.
        let (started, on_start) = tokio::sync::oneshot::channel::<()>();
        let (go, on_go) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let service = service.clone();
            let mut hold = Some((started, on_go));
            tokio::spawn(async move {
                service
                    .export(Uuid::now_v7(), move |_| {
                        let held = hold.take();
                        async move {
                            if let Some((started, go)) = held {
                                started.send(()).unwrap();
                                go.await.unwrap();
                            }
                            true
                        }
                    })
                    .await
            })
        };
        on_start.await.unwrap();

        let refused = service
            .export(Uuid::now_v7(), |_| async { true })
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AppError::Overloaded { retry_after } if retry_after == EXPORT_RETRY),
            "{refused:?}"
        );

        go.send(()).unwrap();
        first.await.unwrap().unwrap();
        service
            .export(Uuid::now_v7(), |_| async { true })
            .await
            .unwrap();
    }
}
