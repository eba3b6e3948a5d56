fn expansion() {
    async move {
        #[allow(unused_imports)]
        use ::tale::__private::{KindOfMarked as _, KindOfUnmarked as _};
        let mut __exec = ::tale::__private::Executor::new();
        #[allow(unused_mut)]
        let mut __run = ::tale::__private::AsyncRun::start(
                ::tale::__private::ExecutorMut::executor_mut(&mut __exec),
                "saga",
            )
            .limits(::tale::__private::Limits::new().fail_fast());
        let __tale_p0 = ::tale::__private::BeforePivot;
        '__tale_saga: {
            let __u = '__tale_l0: {
                let mut __tale_s0 = place(&cart);
                let __tale_p1 = (&::tale::__private::Probe::new(&__tale_s0))
                    .tale_kind()
                    .then(__tale_p0);
                let __o = {
                    let __r = __run.step(0, &mut __tale_s0).await;
                    let ::core::result::Result::Ok(__o) = __r else {
                        break '__tale_l0 ::tale::__private::failed(__r);
                    };
                    __o
                };
                #[allow(clippy::let_unit_value)]
                let order: _ = __o;
                let __u = {
                    let mut __tale_g1 = (
                        book_flight(&order),
                        ::tale::__private::AsyncTuned::new(book_hotel(&order))
                            .timeout(limit),
                    );
                    (&::tale::__private::Probe::new(&__tale_g1.0))
                        .tale_kind()
                        .in_group(__tale_p1);
                    (&::tale::__private::Probe::new(&__tale_g1.1))
                        .tale_kind()
                        .in_group(__tale_p1);
                    let __tale_p3 = __tale_p1;
                    let __gs = ::tale::__private::join2(
                            __run.branch(1, &mut __tale_g1.0),
                            __run.branch(2, &mut __tale_g1.1),
                        )
                        .await;
                    if ::core::matches!(__gs.0, ::core::result::Result::Ok(_))
                        & ::core::matches!(__gs.1, ::core::result::Result::Ok(_))
                    {
                        #[allow(clippy::let_unit_value)]
                        let (flight, hotel, __tale_d1): (_, _, ()) = {
                            let (__g1, __g2) = { __gs };
                            (
                                ::tale::__private::succeeded(__g1),
                                ::tale::__private::succeeded(__g2),
                                (),
                            )
                        };
                        let __u = '__tale_l3: {
                            let mut __tale_s3 = confirm(&flight, &hotel);
                            let __tale_p4 = (&::tale::__private::Probe::new(&__tale_s3))
                                .tale_kind()
                                .then(__tale_p3);
                            let __o = {
                                let __r = __run.step(3, &mut __tale_s3).await;
                                let ::core::result::Result::Ok(__o) = __r else {
                                    break '__tale_l3 ::tale::__private::failed(__r);
                                };
                                __o
                            };
                            #[allow(clippy::let_unit_value)]
                            let __o3: _ = __o;
                            ::tale::__private::release(__tale_s3);
                            ::tale::__private::release(__tale_g1);
                            ::tale::__private::release(__tale_s0);
                            break '__tale_saga __run
                                .finish(::core::result::Result::Ok((flight, hotel)));
                        };
                        let ((), ()) = ::tale::__private::join2(
                                __run.compensate(2, &mut __tale_g1.1, hotel),
                                __run.compensate(1, &mut __tale_g1.0, flight),
                            )
                            .await;
                        __u
                    } else {
                        let (__g2, __g1) = {
                            let (__g1, __g2) = { __gs };
                            ::tale::__private::join2(
                                __run.settle_branch(2, &mut __tale_g1.1, __g2),
                                __run.settle_branch(1, &mut __tale_g1.0, __g1),
                            )
                        }
                            .await;
                        let mut __failed = ::tale::__private::GroupFailure::new();
                        __failed.add_settled(1, __g1);
                        __failed.add_settled(2, __g2);
                        __failed.into_unwind()
                    }
                };
                __run.compensate(0, &mut __tale_s0, order).await;
                __u
            };
            __run.finish(::core::result::Result::Err(__u))
        }
    }
}
