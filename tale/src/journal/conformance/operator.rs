//! The cases of what operators read and do: a saga's story with its times, and the
//! [`Action`]s, each journaled, fenced and refused where the status does not allow it.

use super::{Journal, begin, lost, sagas, started};
use crate::journal::{Action, AsyncStore, JournalError, Record, SagaId, Status};

/// The story of a saga: its records with positions from 1 and their writers' times,
/// the summary's times.
pub(super) async fn history_timed<S: AsyncStore>(j: &Journal<'_, S>) {
    let a = j.worker().await;
    let claim = begin(&a, "trip").await;
    let created = j.now();
    j.advance(5);
    a.append(claim, &started(0)).await.unwrap();
    j.advance(7);
    let succeeded = Record::StepSucceeded {
        index: 0,
        attempts: 2,
        output: "1".into(),
    };
    a.append(claim, &succeeded).await.unwrap();
    let history = a.history(claim.saga).await.unwrap();
    let places: Vec<_> = history.iter().map(|e| (e.seq, e.at)).collect();
    assert_eq!(places, [(1, created + 5), (2, created + 12)]);
    let records: Vec<_> = history.into_iter().map(|e| e.record).collect();
    assert_eq!(records, a.records(claim.saga).await.unwrap());
    let row = a.saga(claim.saga).await.unwrap();
    assert_eq!((row.created_at, row.updated_at), (created, created + 12));
    assert_eq!(row.current_step_name.as_deref(), Some("step 0"));
    // A compensation's records name no step: the summary forgets the name of the step
    // it was at rather than pin it on another.
    a.append(claim, &started(1)).await.unwrap();
    let compensating = Record::CompensationStarted {
        index: 0,
        uncertain: false,
    };
    a.append(claim, &compensating).await.unwrap();
    let row = a.saga(claim.saga).await.unwrap();
    assert_eq!((row.current_step, row.current_step_name), (Some(0), None));
    assert!(matches!(
        a.history(SagaId(999_999)).await,
        Err(JournalError::UnknownSaga(_))
    ));
}

/// Resolve, reopen and abandon: allowed from their statuses only, journaled with who
/// and why, and fencing whoever held the saga.
pub(super) async fn operators_act<S: AsyncStore>(j: &Journal<'_, S>) {
    let a = j.worker().await;
    let operator = j.worker().await;
    let finished = |status| Record::Finished { status };

    // Stuck, then resolved by hand.
    let stuck = begin(&a, "trip").await;
    a.append(stuck, &finished(Status::Stuck)).await.unwrap();
    let row = Action::Resolve
        .apply_async(&operator, stuck.saga, "ana", "refunded by hand")
        .await
        .unwrap();
    assert_eq!(row.status, Status::Resolved);
    assert_eq!(row.lease.until, None);
    let resolved = Record::Resolved {
        by: "ana".into(),
        note: "refunded by hand".into(),
    };
    let records = operator.records(stuck.saga).await.unwrap();
    assert_eq!(records.last(), Some(&resolved));

    // A completed saga allows nothing, and nothing is written.
    let done = begin(&a, "trip").await;
    a.append(done, &finished(Status::Completed)).await.unwrap();
    for action in [Action::Resolve, Action::Reopen, Action::Abandon] {
        match action.apply_async(&operator, done.saga, "ana", "").await {
            Err(JournalError::NotAllowed {
                status: Status::Completed,
                ..
            }) => {}
            other => panic!("{action} of a completed saga: {other:?}"),
        }
    }
    assert_eq!(operator.saga(done.saga).await.unwrap().records, 1);

    // Stuck, reopened: running, and claimable at once by any worker.
    let again = begin(&a, "trip").await;
    a.append(again, &finished(Status::Stuck)).await.unwrap();
    let row = Action::Reopen
        .apply_async(&operator, again.saga, "ana", "the bank is back")
        .await
        .unwrap();
    assert_eq!(row.status, Status::Running);
    let b = j.worker().await;
    assert_eq!(sagas(&b.claim(10).await.unwrap()), [again.saga]);

    // Running, abandoned: its owner is fenced, and no worker claims it.
    let running = begin(&a, "trip").await;
    let row = Action::Abandon
        .apply_async(&operator, running.saga, "ana", "the customer cancelled")
        .await
        .unwrap();
    assert_eq!(row.status, Status::Abandoned);
    assert!(lost(a.append(running, &started(0)).await).is_some());
    j.advance(10 * super::TTL);
    assert_eq!(sagas(&b.claim(10).await.unwrap()), [again.saga]);
}
