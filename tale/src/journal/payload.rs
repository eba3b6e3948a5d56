//! [`PayloadCodec`]: what a store does to the payloads it keeps (a saga's inputs, its
//! steps' outputs and errors) on their way to the database and back, so that a journal
//! of personal or payment data can be encrypted or redacted at rest.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::{JournalError, Record, SagaId, SagaRow};

/// Seals the payloads a store writes and opens them when it reads them back: a saga's
/// inputs, its steps' outputs, and the errors of its steps and compensations (each JSON
/// text). Everything else a journal holds (names, statuses, positions, owners) stays
/// readable, for operators.
///
/// Give one to a store with `with_codec` ([`SqliteStore`](super::SqliteStore),
/// [`MemoryStore`](super::MemoryStore), and `PgStore` with the `postgres` feature).
/// `open` must give back exactly what `seal` was given; a journal written with one
/// codec is read with the same one (or one that opens what it sealed, during a key
/// rotation).
///
/// # Examples
///
/// A codec that hides payloads by reversing them (use a real cipher, such as an AEAD
/// with a key from your secret store):
///
/// ```
/// use tale::journal::{MemoryStore, NewSaga, PayloadCodec, Store};
///
/// struct Reversed;
/// impl PayloadCodec for Reversed {
///     fn seal(&self, plain: &str) -> String { plain.chars().rev().collect() }
///     fn open(&self, sealed: &str) -> Result<String, String> { Ok(sealed.chars().rev().collect()) }
/// }
///
/// let store = MemoryStore::new().with_codec(Reversed);
/// let claim = store.begin(&NewSaga::new("pay", r#"{"card":"4242"}"#))?;
/// // Read back through the codec: the inputs as written.
/// assert_eq!(store.saga(claim.saga)?.inputs, r#"{"card":"4242"}"#);
/// # Ok::<(), tale::journal::JournalError>(())
/// ```
pub trait PayloadCodec: Send + Sync {
    /// The text to store for the payload `plain`.
    fn seal(&self, plain: &str) -> String;

    /// The payload a stored text `sealed` holds.
    ///
    /// # Errors
    ///
    /// Why it cannot be opened (a wrong key, a damaged text); the store reports it as
    /// the saga's [`JournalError::Payload`].
    fn open(&self, sealed: &str) -> Result<String, String>;
}

/// A store's codec, if it has one: every payload goes through it.
#[derive(Clone, Default)]
pub(crate) struct Payloads(Option<Arc<dyn PayloadCodec>>);

impl fmt::Debug for Payloads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Payloads(sealed)"
        } else {
            "Payloads(plain)"
        })
    }
}

impl Payloads {
    /// Payloads sealed by `codec`.
    pub(crate) fn sealed(codec: impl PayloadCodec + 'static) -> Self {
        Self(Some(Arc::new(codec)))
    }

    /// `plain` as stored.
    pub(crate) fn seal<'a>(&self, plain: &'a str) -> Cow<'a, str> {
        match &self.0 {
            Some(codec) => Cow::Owned(codec.seal(plain)),
            None => Cow::Borrowed(plain),
        }
    }

    fn open(&self, saga: SagaId, step: Option<u32>, sealed: &str) -> Result<String, JournalError> {
        match &self.0 {
            Some(codec) => codec.open(sealed).map_err(|reason| JournalError::Payload {
                saga,
                step,
                reason: format!("the payload codec cannot open it: {reason}"),
            }),
            None => Ok(sealed.to_owned()),
        }
    }

    /// `record` as stored: its output or errors sealed.
    pub(crate) fn seal_record<'r>(&self, record: &'r Record) -> Cow<'r, Record> {
        if self.0.is_none() {
            return Cow::Borrowed(record);
        }
        let mut sealed = record.clone();
        match &mut sealed {
            Record::StepSucceeded { output, .. } => *output = self.seal(output).into_owned(),
            Record::StepFailed { errors, .. } | Record::CompensationFailed { errors, .. } => {
                *errors = self.seal(errors).into_owned();
            }
            _ => return Cow::Borrowed(record),
        }
        Cow::Owned(sealed)
    }

    /// A record read back: its output or errors opened.
    pub(crate) fn open_record(
        &self,
        saga: SagaId,
        mut record: Record,
    ) -> Result<Record, JournalError> {
        if self.0.is_none() {
            return Ok(record);
        }
        let step = record.index();
        match &mut record {
            Record::StepSucceeded { output, .. } => *output = self.open(saga, step, output)?,
            Record::StepFailed { errors, .. } | Record::CompensationFailed { errors, .. } => {
                *errors = self.open(saga, step, errors)?;
            }
            _ => {}
        }
        Ok(record)
    }

    /// Seals the summary's last error if `record` (just applied, in plain) set it.
    pub(crate) fn seal_summary(&self, row: &mut SagaRow, record: &Record) {
        if matches!(
            record,
            Record::StepFailed { .. } | Record::CompensationFailed { .. }
        ) && let Some(error) = &row.last_error
        {
            row.last_error = Some(self.seal(error).into_owned());
        }
    }

    /// A summary read back: its inputs and last error opened.
    pub(crate) fn open_row(&self, mut row: SagaRow) -> Result<SagaRow, JournalError> {
        if self.0.is_none() {
            return Ok(row);
        }
        row.inputs = self.open(row.id, None, &row.inputs)?;
        if let Some(error) = &row.last_error {
            row.last_error = Some(self.open(row.id, row.current_step, error)?);
        }
        Ok(row)
    }
}
