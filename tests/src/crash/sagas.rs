//! The durable async sagas of the async crash suites (`crash_child_async`), written with
//! `saga!`'s durable `async fn` form: `join!` groups, a concurrent fan-out
//! (`join!(for ...)`), and per-attempt timeouts on their uncertain steps.

use std::time::Duration;

use tale::journal::DurableError;
use tale::saga;

use super::call::AsyncCall;
use super::plan::{Error, Plan};
use super::services::Services;

// The groups below are `tests::crash::plan::ASYNC_GROUPS`, and the fan-out
// `tests::crash::plan::FAN_OUTS`, which the checks read.

/// The per-attempt limit of the uncertain steps: the services pause up to 4 ms before
/// and after an effect, so a few attempts are cut short before it, a few after.
const LIMIT: Duration = Duration::from_millis(7);

saga! {
    #![saga(durable, name = "trip")]
    /// flight and hotel at once, then payment (uncertain, limited).
    pub async fn trip(plan: &Plan, services: &Services) -> Result<i64, DurableError<Error>> {
        let (flight, hotel) = join!(
            AsyncCall::new(services, "trip", plan, 0),
            AsyncCall::new(services, "trip", plan, 1),
        );
        let payment = AsyncCall::new(services, "trip", plan, 2).timeout(LIMIT);
        flight.amount + hotel.amount + payment.amount
    }
}

saga! {
    #![saga(durable, name = "order")]
    /// stock, payment (uncertain, limited), then shipping and invoice at once.
    pub async fn order(plan: &Plan, services: &Services) -> Result<i64, DurableError<Error>> {
        let stock = AsyncCall::new(services, "order", plan, 0);
        let payment = AsyncCall::new(services, "order", plan, 1).timeout(LIMIT);
        let (shipping, invoice) = join!(
            AsyncCall::new(services, "order", plan, 2),
            AsyncCall::new(services, "order", plan, 3),
        );
        stock.amount + payment.amount + shipping.amount + invoice.amount
    }
}

saga! {
    #![saga(durable, name = "transfer")]
    /// debit and fee at once, hold (uncertain, limited), then credit and receipt at once.
    pub async fn transfer(plan: &Plan, services: &Services) -> Result<i64, DurableError<Error>> {
        let (debit, fee) = join!(
            AsyncCall::new(services, "transfer", plan, 0),
            AsyncCall::new(services, "transfer", plan, 1),
        );
        let hold = AsyncCall::new(services, "transfer", plan, 2).timeout(LIMIT);
        let (credit, receipt) = join!(
            AsyncCall::new(services, "transfer", plan, 3),
            AsyncCall::new(services, "transfer", plan, 4),
        );
        debit.amount + fee.amount + hold.amount + credit.amount + receipt.amount
    }
}

saga! {
    #![saga(durable, name = "group")]
    /// charge, then three seats at once (a fan-out: its count, then an item per seat,
    /// in the journal), then insurance (uncertain, limited).
    pub async fn group(plan: &Plan, services: &Services) -> Result<i64, DurableError<Error>> {
        let charge = AsyncCall::new(services, "group", plan, 0);
        let seats = join!(for seat in 1..4 { AsyncCall::new(services, "group", plan, seat) });
        let insurance = AsyncCall::new(services, "group", plan, 4).timeout(LIMIT);
        charge.amount + seats.iter().map(|s| s.amount).sum::<i64>() + insurance.amount
    }
}
