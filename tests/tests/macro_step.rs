//! `#[step]` functions stay unit-testable: calling one gives a step value that an
//! executor (or `Step::execute`) runs directly; the options show in its metadata.

use std::cell::Cell;

use tale::{Describe, Executor, Retry, Step, StepKind, step};

/// The steps' error.
#[derive(Debug, PartialEq)]
pub struct Fail;

#[step(compensate = release, name = "reserve seats", retry = Retry::times(2))]
fn reserve(seats: &Cell<u32>, wanted: u32) -> Result<u32, Fail> {
    seats.set(seats.get().checked_sub(wanted).ok_or(Fail)?);
    Ok(wanted)
}

fn release(seats: &Cell<u32>, _wanted: u32, reserved: &u32) -> Result<(), Fail> {
    seats.set(seats.get() + reserved);
    Ok(())
}

#[step(pivot)]
fn charge() -> Result<(), Fail> {
    Ok(())
}

#[step(retriable)]
fn notify() -> Result<(), Fail> {
    Ok(())
}

/// A generic step whose output borrows its input (elided lifetimes are named).
#[step]
fn first<T: Clone + PartialEq>(items: &[T], _tag: T) -> Result<&T, Fail> {
    items.first().ok_or(Fail)
}

/// A type with step methods.
pub struct Inventory {
    stock: u32,
}

impl Inventory {
    #[step(compensate = Self::put_back)]
    fn take(&mut self, n: u32) -> Result<u32, Fail> {
        self.stock = self.stock.checked_sub(n).ok_or(Fail)?;
        Ok(n)
    }

    fn put_back(&mut self, _n: u32, taken: &u32) -> Result<(), Fail> {
        self.stock += taken;
        Ok(())
    }

    #[step]
    fn count(&self) -> Result<u32, Fail> {
        Ok(self.stock)
    }

    #[step]
    fn new(stock: u32) -> Result<Self, Fail> {
        Ok(Self { stock })
    }
}

#[test]
fn a_step_runs_on_an_executor_or_by_hand() {
    let seats = Cell::new(5);
    assert_eq!(Executor::new().run_step(reserve(&seats, 2)).unwrap(), 2);
    assert_eq!(seats.get(), 3);

    let mut step = reserve(&seats, 1);
    let out = step.execute().unwrap();
    step.compensate(&out).unwrap();
    assert_eq!(seats.get(), 3);
}

#[test]
fn options_become_metadata() {
    let seats = Cell::new(5);
    let step = reserve(&seats, 1);
    assert_eq!(step.name(), "reserve seats");
    assert_eq!(step.kind(), StepKind::Compensatable);
    assert!(step.has_compensation());
    assert!(!step.is_uncertain());
    assert_eq!(step.retry_policy().and_then(|p| p.max_attempts()), Some(3));
    assert_eq!(charge().kind(), StepKind::Pivot);
    assert!(!charge().has_compensation());
    assert_eq!(notify().kind(), StepKind::Retriable);
    assert_eq!(notify().name(), "notify");
}

#[test]
fn a_failed_attempt_is_retried_with_a_fresh_copy_of_by_value_arguments() {
    let seats = Cell::new(1);
    let result = Executor::new().run_step(reserve(&seats, 2));
    assert_eq!(result.unwrap_err().failure().attempts(), 3);
    assert_eq!(seats.get(), 1);
}

#[test]
fn generic_steps_and_borrowed_outputs() {
    let items = [3, 4];
    assert_eq!(*Executor::new().run_step(first(&items, 0)).unwrap(), 3);
}

#[test]
fn methods_and_associated_functions_are_steps() {
    let mut inventory = Executor::new().run_step(Inventory::new(4)).unwrap();
    let mut take = inventory.take(3);
    let taken = take.execute().unwrap();
    take.compensate(&taken).unwrap();
    drop(take);
    assert_eq!(Executor::new().run_step(inventory.count()).unwrap(), 4);
}
