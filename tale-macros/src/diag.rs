//! The error accumulator: validation pushes every independent problem, and `finish`
//! reports them together (in the spirit of serde's `Ctxt`).

use std::fmt::Display;

use proc_macro2::Span;

/// Collects errors; must be finished.
pub(crate) struct Diag {
    errors: Option<Vec<syn::Error>>,
}

impl Diag {
    pub(crate) fn new() -> Self {
        Diag {
            errors: Some(Vec::new()),
        }
    }

    /// Records an error at `span`.
    pub(crate) fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        // Invariant: `errors` is `Some` until `finish` consumes `self`.
        self.errors
            .as_mut()
            .expect("diag used after finish")
            .push(error);
    }

    /// Every error so far, combined; `Ok` if there were none.
    pub(crate) fn finish(mut self) -> syn::Result<()> {
        let errors = self.errors.take().unwrap_or_default();
        let mut iter = errors.into_iter();
        let Some(mut first) = iter.next() else {
            return Ok(());
        };
        for error in iter {
            first.combine(error);
        }
        Err(first)
    }
}

impl Drop for Diag {
    fn drop(&mut self) {
        assert!(
            self.errors.is_none() || std::thread::panicking(),
            "`Diag` dropped without `finish`"
        );
    }
}

/// An error at `second` with a note at `first`: "duplicate X" / "first set here".
pub(crate) fn duplicate(what: &str, first: Span, second: Span) -> syn::Error {
    let mut error = syn::Error::new(second, format!("duplicate `{what}` option"));
    error.combine(syn::Error::new(first, format!("`{what}` first set here")));
    error
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d <= 3.min(c.len().saturating_sub(1)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j] + 1).min(row[j + 1] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let keys = ["compensate", "retry", "name"];
        assert_eq!(did_you_mean("retries", &keys), Some("retry"));
        assert_eq!(did_you_mean("compensation", &keys), Some("compensate"));
        assert_eq!(did_you_mean("banana", &keys), None);
    }

    #[test]
    fn finish_combines_errors() {
        let mut diag = Diag::new();
        diag.error(Span::call_site(), "one");
        diag.error(Span::call_site(), "two");
        let error = diag.finish().unwrap_err();
        assert_eq!(error.into_iter().count(), 2);
    }
}
