//! The case of [`Store::write_many`]: writes made together, each with the outcome it
//! would have alone.

use super::started;
use crate::journal::{JournalError, Leases, NewSaga, Record, Status, Store, Write, Written};

/// Beginnings and appends of several sagas in one call: each gets its own outcome, in
/// order; a stale owner's append is refused alone and writes nothing; the handle holds
/// the claims it began and lets go of a finished saga's.
pub(super) fn writes_together<S: Store>(open: impl Fn(Leases) -> S) {
    let (a, b) = (open(Leases::new()), open(Leases::new()));
    let begun = a.write_many(&[
        Write::Begin(NewSaga::new("trip", "{}")),
        Write::Begin(NewSaga::new("refund", "{}")),
    ]);
    let [Ok(Written::Begun(trip)), Ok(Written::Begun(refund))] = begun[..] else {
        panic!("two beginnings gave {begun:?}");
    };
    assert_ne!(trip.saga, refund.saga);
    let mut held = vec![trip, refund];
    held.sort();
    assert_eq!(a.leases().held(), held);
    let refund_now = b.take_over(refund.saga).unwrap();
    let finished = Record::Finished {
        status: Status::Completed,
    };
    let outcomes = a.write_many(&[
        Write::Append(trip, &started(0)),
        Write::Append(refund, &started(0)),
        Write::Append(trip, &finished),
        Write::Begin(NewSaga::new("later", "{}")),
    ]);
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert!(matches!(outcomes[0], Ok(Written::Appended)), "{outcomes:?}");
    assert!(
        matches!(outcomes[1], Err(JournalError::LeaseLost { .. })),
        "a stale owner's append among others: {outcomes:?}"
    );
    assert!(matches!(outcomes[2], Ok(Written::Appended)), "{outcomes:?}");
    let Ok(Written::Begun(later)) = outcomes[3] else {
        panic!("a beginning after the appends gave {outcomes:?}");
    };
    assert_eq!(a.records(trip.saga).unwrap(), [started(0), finished]);
    assert_eq!(a.saga(trip.saga).unwrap().status, Status::Completed);
    assert_eq!(a.records(refund.saga).unwrap(), []);
    assert!(!a.leases().held().contains(&trip), "a finished saga let go");
    assert!(a.leases().held().contains(&later));
    // The new owner writes on.
    b.append(refund_now, &started(0)).unwrap();
    assert!(a.write_many(&[]).is_empty());
}
