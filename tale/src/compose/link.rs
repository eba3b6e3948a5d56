//! [`Link`]: one sync step of a runtime-composed saga, a closure over the state with an
//! optional compensation.

use std::borrow::Cow;
use std::marker::PhantomData;

use super::meta::{Bound, Linked, Meta, meta_setters};
use crate::retry::Retry;
use crate::step::{IntoStepResult, Step, StepKind};

/// The type-erased body of a link: runs and compensates against the state, keeping its
/// own output between the two.
pub(crate) trait Body<S, E> {
    fn execute(&mut self, state: &mut S) -> Result<(), E>;
    fn compensate(&mut self, state: &mut S) -> Result<(), E>;
    fn compensate_uncertain(&mut self, state: &mut S) -> Result<(), E>;
    fn forget(&mut self);
}

struct Typed<X, C, O> {
    execute: X,
    compensate: Option<C>,
    output: Option<O>,
}

impl<S, E, X, R, C, U> Body<S, E> for Typed<X, C, R::Output>
where
    X: FnMut(&mut S) -> R,
    R: IntoStepResult<E>,
    C: FnMut(&mut S, Option<&R::Output>) -> U,
    U: IntoStepResult<E, Output = ()>,
{
    fn execute(&mut self, state: &mut S) -> Result<(), E> {
        self.output = Some((self.execute)(state).into_step_result()?);
        Ok(())
    }
    fn compensate(&mut self, state: &mut S) -> Result<(), E> {
        match &mut self.compensate {
            Some(undo) => undo(state, self.output.as_ref()).into_step_result(),
            None => Ok(()),
        }
    }
    fn compensate_uncertain(&mut self, state: &mut S) -> Result<(), E> {
        self.output = None;
        self.compensate(state)
    }
    fn forget(&mut self) {
        self.output = None;
    }
}

/// One step of a [`Saga`](super::Saga) built at run time: an execute closure over the state, an
/// optional compensation, and the step's name, kind and policies.
///
/// # Examples
///
/// ```
/// use tale::Retry;
/// use tale::compose::Link;
///
/// struct Trip { seats: u32, log: Vec<String> }
///
/// let reserve: Link<'_, Trip, String> = Link::new("reserve", |t: &mut Trip| {
///     t.seats -= 1;
///     Ok(format!("seat {}", t.seats))
/// })
/// .compensate(|t, seat| {
///     t.seats += 1;
///     t.log.push(format!("released {seat:?}"));
///     Ok(())
/// })
/// .retry(Retry::times(2));
/// # let _ = reserve;
/// ```
pub struct Link<'a, S, E> {
    pub(crate) body: Box<dyn Body<S, E> + 'a>,
    pub(crate) meta: Meta<E>,
}

/// The compensation slot of a link that has none.
type NoUndo<S, O, E> = fn(&mut S, Option<&O>) -> Result<(), E>;

/// Ties a [`LinkBuilder`] to the types of its execute closure.
type Signature<'a, S, R, E> = (fn(&mut S) -> R, fn() -> E, &'a ());

/// A link on its way to having a compensation; finish it with
/// [`compensate`](LinkBuilder::compensate) or use it as it is.
pub struct LinkBuilder<'a, S, E, X, R> {
    name: Cow<'static, str>,
    execute: X,
    link: PhantomData<Signature<'a, S, R, E>>,
}

impl<'a, S: 'a, E: 'a> Link<'a, S, E> {
    /// A link that runs `execute` on the state; `execute` returns a `Result` whose
    /// value is the link's output, or `()` if it cannot fail. Give it a compensation
    /// with [`LinkBuilder::compensate`], or use it as it is (no compensation).
    #[allow(clippy::new_ret_no_self)] // a builder that becomes a `Link`
    pub fn new<X, R>(name: impl Into<Cow<'static, str>>, execute: X) -> LinkBuilder<'a, S, E, X, R>
    where
        X: FnMut(&mut S) -> R + 'a,
        R: IntoStepResult<E>,
        R::Output: 'a,
    {
        LinkBuilder {
            name: name.into(),
            execute,
            link: PhantomData,
        }
    }

    fn from_body(
        name: Cow<'static, str>,
        body: Box<dyn Body<S, E> + 'a>,
        compensated: bool,
    ) -> Self {
        Self {
            body,
            meta: Meta::new(name, compensated),
        }
    }

    meta_setters!();
}

impl<'a, S: 'a, E: 'a, X, R> LinkBuilder<'a, S, E, X, R>
where
    X: FnMut(&mut S) -> R + 'a,
    R: IntoStepResult<E>,
    R::Output: 'a,
{
    /// Adds the compensation: it gets the state and the output that `execute` produced
    /// (`None` only when compensating an [uncertain](Link::uncertain) link that failed),
    /// and returns a `Result` or `()`.
    pub fn compensate<C, U>(self, compensate: C) -> Link<'a, S, E>
    where
        C: FnMut(&mut S, Option<&R::Output>) -> U + 'a,
        U: IntoStepResult<E, Output = ()>,
    {
        let body = Typed {
            execute: self.execute,
            compensate: Some(compensate),
            output: None,
        };
        Link::from_body(self.name, Box::new(body), true)
    }

    /// See [`Link::retry`].
    #[must_use]
    pub fn retry(self, policy: Retry<E>) -> Link<'a, S, E> {
        Link::from(self).retry(policy)
    }

    /// See [`Link::kind`].
    #[must_use]
    pub fn kind(self, kind: StepKind) -> Link<'a, S, E> {
        Link::from(self).kind(kind)
    }
}

impl<'a, S: 'a, E: 'a, X, R> From<LinkBuilder<'a, S, E, X, R>> for Link<'a, S, E>
where
    X: FnMut(&mut S) -> R + 'a,
    R: IntoStepResult<E>,
    R::Output: 'a,
{
    fn from(builder: LinkBuilder<'a, S, E, X, R>) -> Self {
        let body: Typed<X, NoUndo<S, R::Output, E>, R::Output> = Typed {
            execute: builder.execute,
            compensate: None,
            output: None,
        };
        Link::from_body(builder.name, Box::new(body), false)
    }
}

impl<S, E> Linked for Link<'_, S, E> {
    type Error = E;
    fn meta(&self) -> &Meta<E> {
        &self.meta
    }
}

impl<S, E> Step for Bound<'_, Link<'_, S, E>, &mut S> {
    type Output = ();

    fn execute(&mut self) -> Result<(), E> {
        self.link.body.execute(self.state)
    }
    fn compensate(&mut self, (): &()) -> Result<(), E> {
        self.link.body.compensate(self.state)
    }
    fn compensate_uncertain(&mut self) -> Option<Result<(), E>> {
        Some(self.link.body.compensate_uncertain(self.state))
    }
}
