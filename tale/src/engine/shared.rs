//! [`Shared`]: the state of one async run, shared by the branches of a parallel group.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A value that the futures of one run share by `&` reference and change between
/// their awaits: a `Mutex`, so that a run's future stays `Send` (a `RefCell` would make
/// every future holding `&Shared` non-`Send`). The branches of a group are polled by
/// one task, so the lock is never contended; it is never held across an await.
pub(crate) struct Shared<T>(Mutex<T>);

impl<T> Shared<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(Mutex::new(value))
    }

    /// Locks the value. A panic while it was locked (an observer's) left nothing
    /// half-changed that matters more than going on, so poisoning is ignored.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}
