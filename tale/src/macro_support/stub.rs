//! What a `#[step]` function that the macro rejected returns instead: a step of the
//! right output and error that never runs, so that the sagas calling the function raise
//! no errors beyond the one the macro reported.

use std::marker::PhantomData;

use crate::step::{Describe, Step};

use super::kind::Kinded;

/// The step value of a `#[step]` function with a macro error. The crate does not
/// compile, so it never runs.
pub struct Unexpanded<O, E>(PhantomData<fn() -> (O, E)>);

impl<O, E> Unexpanded<O, E> {
    /// The value.
    #[inline]
    #[must_use]
    pub const fn new() -> Self {
        Unexpanded(PhantomData)
    }
}

impl<O, E> Default for Unexpanded<O, E> {
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

impl<O, E> Describe for Unexpanded<O, E> {
    type Error = E;
}

impl<O, E> Step for Unexpanded<O, E> {
    type Output = O;
    fn execute(&mut self) -> Result<O, E> {
        unreachable!("a `#[step]` function with a macro error is never compiled")
    }
    fn compensate(&mut self, _output: &O) -> Result<(), E> {
        unreachable!("a `#[step]` function with a macro error is never compiled")
    }
}

impl<O, E> Kinded for Unexpanded<O, E> {
    type Kind = AnyKind;
}

/// The kind of an [`Unexpanded`] step: allowed anywhere in a saga, since its real kind
/// may be what the macro could not read.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnyKind;

impl AnyKind {
    /// The phase after this step: the phase before it.
    #[inline]
    pub fn then<P>(self, phase: P) -> P {
        phase
    }

    /// Checks this step as a branch of `join!`: any phase.
    #[inline]
    pub fn in_group<P>(self, _phase: P) {}
}
