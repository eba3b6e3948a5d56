//! [`Link`]: one sync step of a runtime-composed saga, a closure over the state with an
//! optional compensation, or a typed [`Step`] value.

use std::borrow::Cow;
use std::marker::PhantomData;

use super::meta::{Bound, Linked, Meta, meta_setters};
use super::step_body::{StepBody, ignore};
use crate::retry::Retry;
use crate::step::{Describe, IntoStepResult, Step, StepKind};

/// The type-erased body of a link: runs and compensates against the state, keeping its
/// own output between the two.
pub(crate) trait Body<S, E> {
    fn execute(&mut self, state: &mut S) -> Result<(), E>;
    fn compensate(&mut self, state: &mut S) -> Result<(), E>;
    /// Compensates a link that failed with an uncertain outcome; `None` if it has no
    /// compensation that works without its output (the saga then reports it as not
    /// compensated, never as undone).
    fn compensate_uncertain(&mut self, state: &mut S) -> Option<Result<(), E>>;
    fn forget(&mut self);
    /// The typed step inside, which describes itself; `None` for closures.
    fn describe(&self) -> Option<&dyn Describe<Error = E>> {
        None
    }
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
    fn compensate_uncertain(&mut self, state: &mut S) -> Option<Result<(), E>> {
        self.output = None;
        let undo = self.compensate.as_mut()?;
        Some(undo(state, None).into_step_result())
    }
    fn forget(&mut self) {
        self.output = None;
    }
}

/// One step of a [`Saga`](super::Saga) built at run time: an execute closure over the state, an
/// optional compensation, and the step's name, kind and policies; or a typed [`Step`]
/// value (what a `#[step]` function returns), with its own compensation, name, kind and
/// policies ([`Link::step`], or any `Step` passed where a link is expected).
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

    /// A link that runs a typed step: what a `#[step]` function returns, a
    /// [`from_fn`](crate::step::from_fn) closure step, or a hand-written [`Step`]. The
    /// link ignores the state; it keeps the step's output for the step's own
    /// compensation, and takes its name, kind, retry policies and uncertainty from the
    /// step, except for what its setters ([`named`](Self::named),
    /// [`retry`](Self::retry), ...) override.
    ///
    /// Any `Step` also converts into a `Link`, so [`Saga::step`](super::Saga::step) takes
    /// one as it is.
    ///
    /// A step that fails with an uncertain outcome (marked [`uncertain`](Self::uncertain)
    /// here or by its `#[step]`) is undone through
    /// [`Step::compensate_uncertain`]; if that has nothing to run without the output (a
    /// `#[step]` not declared `uncertain`), the saga reports the step as not
    /// compensated, its outcome unknown.
    ///
    /// # Examples
    ///
    /// One step per passenger, each undone by its own compensation:
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use tale::compose::{Link, Saga};
    /// use tale::{Executor, SagaError, step};
    ///
    /// #[step(compensate = cancel_seat)]
    /// fn book_seat(seats: &RefCell<Vec<String>>, passenger: &str) -> Result<usize, String> {
    ///     if passenger == "Mallory" { return Err("no fly list".into()) }
    ///     seats.borrow_mut().push(passenger.to_owned());
    ///     Ok(seats.borrow().len() - 1)
    /// }
    ///
    /// fn cancel_seat(seats: &RefCell<Vec<String>>, _: &str, seat: &usize) -> Result<(), String> {
    ///     seats.borrow_mut().remove(*seat);
    ///     Ok(())
    /// }
    ///
    /// let seats = RefCell::new(Vec::new());
    /// let passengers = ["Ada", "Grace", "Mallory"];
    /// let mut saga: Saga<'_, (), String> = Saga::new("group booking");
    /// for (i, p) in passengers.iter().enumerate() {
    ///     saga.push(Link::step(book_seat(&seats, p)).named(format!("seat {i}")));
    /// }
    /// let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    /// let SagaError::Compensated { failure } = &error else { panic!("{error}") };
    /// assert_eq!((failure.step().index, failure.step().name.as_ref()), (2, "seat 2"));
    /// assert!(seats.borrow().is_empty()); // both seats cancelled
    /// ```
    pub fn step<T>(step: T) -> Self
    where
        T: Step<Error = E> + 'a,
    {
        Self::step_then(step, ignore)
    }

    /// As [`step`](Self::step), and gives each output the step produces to `then`,
    /// with the state, once the step succeeded: how a saga built from data collects
    /// its steps' outputs. The step's compensation still gets the output.
    ///
    /// # Examples
    ///
    /// ```
    /// use tale::compose::{Link, Saga};
    /// use tale::{Executor, step};
    ///
    /// #[step]
    /// fn quote(city: &str) -> Result<usize, String> { Ok(city.len() * 10) }
    ///
    /// let mut saga = Saga::new("quotes");
    /// for city in ["Lisbon", "Oslo"] {
    ///     saga.push(Link::step_then(quote(city), |quotes: &mut Vec<usize>, q: &usize| quotes.push(*q)));
    /// }
    /// let mut quotes = Vec::new();
    /// saga.run(&mut Executor::new(), &mut quotes).unwrap();
    /// assert_eq!(quotes, [60, 40]);
    /// ```
    pub fn step_then<T, F>(step: T, then: F) -> Self
    where
        T: Step<Error = E> + 'a,
        F: FnMut(&mut S, &T::Output) + 'a,
    {
        Self {
            body: Box::new(StepBody::new(step, then)),
            meta: Meta::of_step(),
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

/// Any typed step is a link: see [`Link::step`].
impl<'a, S: 'a, E: 'a, T> From<T> for Link<'a, S, E>
where
    T: Step<Error = E> + 'a,
{
    fn from(step: T) -> Self {
        Link::step(step)
    }
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
    fn own(&self) -> Option<&dyn Describe<Error = E>> {
        if self.meta.typed {
            self.body.describe()
        } else {
            None
        }
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
        self.link.body.compensate_uncertain(self.state)
    }
}
