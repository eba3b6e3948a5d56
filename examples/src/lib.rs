//! Shared pieces of the runnable examples in `examples/`: pretend services that keep
//! their effects in memory, so that an example can show what its saga did to the world.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// What can go wrong when booking a holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingError {
    /// The customer cannot pay.
    InsufficientFunds {
        /// What the booking costs, in euros.
        needed: u32,
        /// What the account holds.
        available: u32,
    },
    /// A service did not answer in time; worth another try.
    Timeout(&'static str),
    /// A service said no for good.
    Refused(String),
}

impl fmt::Display for BookingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BookingError::InsufficientFunds { needed, available } => {
                write!(
                    f,
                    "insufficient funds: {needed} EUR needed, {available} EUR available"
                )
            }
            BookingError::Timeout(service) => write!(f, "{service} timed out"),
            BookingError::Refused(why) => write!(f, "refused: {why}"),
        }
    }
}

impl std::error::Error for BookingError {}

impl tale::Transient for BookingError {
    fn is_transient(&self) -> bool {
        matches!(self, BookingError::Timeout(_))
    }
}

/// A payment made by [`Bank::charge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentId(pub String);

/// A reservation made by [`Reservations::reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation(pub String);

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer's order.
#[derive(Debug, Clone)]
pub struct Order {
    /// Who travels.
    pub customer: String,
    /// Where to.
    pub destination: String,
    /// Nights at the hotel.
    pub nights: u32,
    /// The total price in euros.
    pub price: u32,
}

/// A bank account that can be charged and refunded. It is `Sync`, so sagas that
/// borrow it can be spawned on a multi-threaded runtime.
#[derive(Debug)]
pub struct Bank {
    /// The balance and the next payment number.
    account: Mutex<(u32, u32)>,
}

impl Bank {
    /// An account holding `balance` euros.
    #[must_use]
    pub fn new(balance: u32) -> Self {
        Self {
            account: Mutex::new((balance, 1)),
        }
    }

    /// The balance in euros.
    #[must_use]
    pub fn balance(&self) -> u32 {
        self.account().0
    }

    fn account(&self) -> std::sync::MutexGuard<'_, (u32, u32)> {
        self.account
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Charges `amount`, returning a payment id.
    ///
    /// # Errors
    ///
    /// [`BookingError::InsufficientFunds`] if the balance is too low.
    pub fn charge(&self, amount: u32) -> Result<PaymentId, BookingError> {
        let mut account = self.account();
        let (available, id) = *account;
        if available < amount {
            return Err(BookingError::InsufficientFunds {
                needed: amount,
                available,
            });
        }
        *account = (available - amount, id + 1);
        Ok(PaymentId(format!("pay-{id}")))
    }

    /// Refunds `amount` for `payment`.
    pub fn refund(&self, _payment: &PaymentId, amount: u32) {
        self.account().0 += amount;
    }
}

/// A service that hands out numbered reservations, failing a set number of times first.
#[derive(Debug)]
pub struct Reservations {
    name: &'static str,
    prefix: &'static str,
    held: Mutex<Vec<String>>,
    failures_left: AtomicU32,
}

impl Reservations {
    /// A service called `name` whose reservations look like `{prefix}{n}`.
    #[must_use]
    pub fn new(name: &'static str, prefix: &'static str) -> Self {
        Self {
            name,
            prefix,
            held: Mutex::new(Vec::new()),
            failures_left: AtomicU32::new(0),
        }
    }

    /// Makes the next `n` requests time out.
    #[must_use]
    pub fn timing_out(self, n: u32) -> Self {
        self.failures_left.store(n, Ordering::Relaxed);
        self
    }

    /// Reserves something for `who`.
    ///
    /// # Errors
    ///
    /// [`BookingError::Timeout`] while the service is set to time out.
    pub fn reserve(&self, who: &str) -> Result<Reservation, BookingError> {
        let failing = self
            .failures_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(BookingError::Timeout(self.name));
        }
        let mut held = self.lock_held();
        let id = format!("{}{}", self.prefix, held.len() + 1);
        held.push(format!("{id} for {who}"));
        Ok(Reservation(id))
    }

    /// Cancels reservation `id`.
    pub fn cancel(&self, id: &Reservation) {
        self.lock_held()
            .retain(|r| !r.starts_with(&format!("{id} ")));
    }

    /// The reservations held now.
    #[must_use]
    pub fn held(&self) -> Vec<String> {
        self.lock_held().clone()
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
