//! The expansions are lint-clean: this file compiles under `deny(warnings)`,
//! `deny(unused_qualifications)` and strict clippy lints (which bite under
//! `cargo clippy --all-targets`).
#![deny(warnings, unused_qualifications, unused_results, missing_docs)]
#![deny(clippy::all, clippy::pedantic)]
// About this file's own step bodies, which do nothing on purpose:
#![allow(
    clippy::missing_errors_doc,
    clippy::unnecessary_wraps,
    clippy::trivially_copy_pass_by_ref,
    clippy::unused_self,
    clippy::unused_async
)]

use tale::{Executor, Retry, SagaError, saga, step};

/// The steps' error.
#[derive(Debug)]
pub struct Fail;

/// Reserves.
#[step(compensate = release, retry = Retry::times(1))]
pub fn reserve(seats: &u32, wanted: u32) -> Result<u32, Fail> {
    Ok(seats + wanted)
}

/// Releases.
pub fn release(_seats: &u32, _wanted: u32, _reserved: &u32) -> Result<(), Fail> {
    Ok(())
}

/// Charges.
#[step(pivot)]
pub fn charge(_reserved: &u32) -> Result<(), Fail> {
    Ok(())
}

/// Notifies.
#[step(retriable, name = "notify")]
pub async fn notify(_reserved: &u32) -> Result<(), Fail> {
    Ok(())
}

/// A type with a step method.
pub struct Desk;

impl Desk {
    /// Checks in.
    #[step(compensate = Self::check_out, uncertain)]
    pub fn check_in(&mut self, _seat: &u32) -> Result<u32, Fail> {
        Ok(1)
    }

    /// Checks out.
    pub fn check_out(&mut self, _seat: &u32, _key: Option<&u32>) -> Result<(), Fail> {
        Ok(())
    }
}

/// Reserves, returning a type of its own.
#[step(type = Reservation, compensate = release, retry = Retry::times(1))]
pub fn reservation(seats: &u32, wanted: u32) -> Result<u32, Fail> {
    Ok(seats + wanted)
}

/// Counts, with one argument whose lifetime the struct names.
#[step(type = Count)]
pub fn count(items: &[u32]) -> Result<usize, Fail> {
    Ok(items.len())
}

/// Fetches, asynchronously, returning a type of its own.
#[step(type = Fetch, compensate = unfetch, uncertain)]
pub async fn fetch<T: Sync>(_item: &T, n: u32) -> Result<u32, Fail> {
    Ok(n)
}

/// Undoes a fetch.
pub async fn unfetch<T: Sync>(_item: &T, _n: u32, _fetched: Option<&u32>) -> Result<(), Fail> {
    Ok(())
}

/// Makes a value on this thread, returning a type of its own.
#[step(type = Make, local, retriable)]
pub async fn make<T: Default>() -> Result<T, Fail> {
    Ok(T::default())
}

saga! {
    /// Books.
    pub fn book(seats: &u32) -> Result<u32, SagaError<Fail>> {
        let reserved = reserve(seats, 1);
        charge(&reserved);
        reserved
    }
}

saga! {
    /// Books, asynchronously.
    pub async fn book_async(seats: &u32) -> Result<u32, SagaError<Fail>> {
        let reserved = reserve(seats, 1);
        notify(&reserved);
        reserved
    }
}

#[test]
fn the_expansions_pass_strict_lints() {
    let seats = 1;
    let mut desk = Desk;
    let result = saga! {
        #![saga(name = "lints")]
        let reserved = reserve(&seats, 1);
        let key = desk.check_in(&reserved);
        let _ = step(|| Ok::<(), Fail>(()));
        charge(&reserved);
        (reserved, key)
    };
    assert!(result.is_ok());
    assert!(book(&mut Executor::new(), &seats).is_ok());
    drop(book_async(&mut Executor::new(), &seats));
    drop(saga!(async move {
        let reserved = reserve(&seats, 1);
        reserved
    }));
    let steps: Vec<Reservation<'_>> = vec![reservation(&seats, 1)];
    let counted: Count<'_> = count(&[1, 2]);
    assert_eq!(Executor::new().run_step(counted).ok(), Some(2));
    for step in steps {
        assert!(Executor::new().run_step(step).is_ok());
    }
    drop(saga!(async move {
        let reserved = reservation(&seats, 1);
        let fetched = fetch(&reserved, 2);
        let () = make::<()>();
        fetched
    }));
}
