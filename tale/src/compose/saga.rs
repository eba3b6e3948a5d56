//! [`Saga`]: a sync saga whose steps are known only at run time, and
//! [`run_transaction`], talepy's one-call form.

use std::borrow::Cow;

use super::link::Link;
use super::meta::{Bound, chain_methods};
use crate::clock::Clock;
use crate::engine::{Executor, Run};
use crate::error::SagaError;
use crate::observe::Observer;

/// A saga whose steps are known only at run time: [`Link`]s over one state type, run in
/// the order they were added. A link is a closure over the state ([`Link::new`]) or a
/// typed step value ([`Link::step`]; any [`Step`](crate::Step) converts into a link).
///
/// A `Saga` can be run any number of times; each run starts with fresh retry counters.
///
/// # Examples
///
/// ```
/// use tale::compose::{Link, Saga};
/// use tale::{Executor, SagaError};
///
/// let mut saga = Saga::new("counter");
/// for i in 0..3 {
///     saga = saga.step(
///         Link::new(format!("add {i}"), move |n: &mut i32| if i == 2 { Err("boom") } else { *n += 1; Ok(()) })
///             .compensate(|n, _| { *n -= 1; Ok(()) }),
///     );
/// }
/// let mut n = 0;
/// let error = saga.run(&mut Executor::new(), &mut n).unwrap_err();
/// assert!(matches!(error, SagaError::Compensated { .. }));
/// assert_eq!(n, 0);
/// ```
pub struct Saga<'a, S, E> {
    name: Cow<'static, str>,
    links: Vec<Link<'a, S, E>>,
}

impl<'a, S, E> Saga<'a, S, E> {
    chain_methods!(Link<'a, S, E>, "a [`Link`]");

    /// Runs every step in order on `state`; on failure, compensates the completed
    /// steps in reverse order.
    ///
    /// # Errors
    ///
    /// The failed step, and every compensation that failed, as [`SagaError`].
    ///
    /// # Panics
    ///
    /// Resumes a step's panic after compensating the completed steps.
    pub fn run<O, C>(
        &mut self,
        executor: &mut Executor<O, C>,
        state: &mut S,
    ) -> Result<(), SagaError<E>>
    where
        O: Observer<E>,
        C: Clock,
    {
        let mut run = Run::start(executor, &self.name);
        let mut completed = 0;
        let mut result = Ok(());
        for (index, link) in self.links.iter_mut().enumerate() {
            let mut bound = Bound {
                link,
                state: &mut *state,
            };
            if let Err(unwind) = run.step(index, &mut bound) {
                result = Err(unwind);
                break;
            }
            completed += 1;
        }
        if result.is_err() {
            for (index, link) in self.links[..completed].iter_mut().enumerate().rev() {
                run.compensate(
                    index,
                    &mut Bound {
                        link,
                        state: &mut *state,
                    },
                    (),
                );
            }
        }
        for link in &mut self.links {
            link.body.forget();
        }
        run.finish(result)
    }
}

/// Runs `links` in order on `state` as a saga named `transaction`, on a default
/// [`Executor`]: talepy's `run_transaction`, with `&mut S` in place of a threaded state.
///
/// # Errors
///
/// As [`Saga::run`].
///
/// # Examples
///
/// ```
/// use tale::compose::{Link, run_transaction};
///
/// let mut state = 0;
/// let links: Vec<Link<'_, i32, String>> = vec![
///     Link::new("one", |s: &mut i32| { *s += 1; Ok(()) }).into(),
///     Link::new("two", |s: &mut i32| { *s += 2; Ok(()) }).into(),
/// ];
/// run_transaction(links, &mut state).unwrap();
/// assert_eq!(state, 3);
/// ```
pub fn run_transaction<'a, S, E, L>(
    links: impl IntoIterator<Item = L>,
    state: &mut S,
) -> Result<(), SagaError<E>>
where
    L: Into<Link<'a, S, E>>,
{
    let mut saga = Saga::new("transaction");
    saga.links.extend(links.into_iter().map(Into::into));
    saga.run(&mut Executor::new(), state)
}
