fn expansion() {
    async {
        #[allow(unused_imports)]
        use ::tale::__private::{KindOfMarked as _, KindOfUnmarked as _};
        let mut __exec = ::tale::__private::Executor::new();
        #[allow(unused_mut)]
        let mut __run = ::tale::__private::AsyncRun::start(
            ::tale::__private::ExecutorMut::executor_mut(&mut __exec),
            "saga",
        );
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
                let __u = '__tale_l1: {
                    let mut __tale_s1: ::std::vec::Vec<_> = ::core::iter::Iterator::collect(
                        ::core::iter::Iterator::map(
                            ::core::iter::Iterator::enumerate(
                                ::core::iter::IntoIterator::into_iter(&order.passengers),
                            ),
                            |(__k, passenger)| ::tale::__private::Item::<
                                _,
                                ::tale::__private::Async,
                            >::new(__k, book_seat(&order, passenger)),
                        ),
                    );
                    (&::tale::__private::Probe::items(&__tale_s1))
                        .tale_kind()
                        .in_items(__tale_p1);
                    let __tale_p2 = __tale_p1;
                    let __first1: usize = 1 + 1;
                    let __count1: usize = __tale_s1.len();
                    let __outs1 = {
                        let mut __outs1 = ::std::vec::Vec::with_capacity(__count1);
                        let mut __failed = ::core::option::Option::None;
                        for (__k, __s) in ::core::iter::Iterator::enumerate(
                            __tale_s1.iter_mut(),
                        ) {
                            match __run.step(__first1 + __k, __s).await {
                                ::core::result::Result::Ok(__o) => __outs1.push(__o),
                                ::core::result::Result::Err(__u) => {
                                    __failed = ::core::option::Option::Some(__u);
                                    break;
                                }
                            }
                        }
                        if let ::core::option::Option::Some(__u) = __failed {
                            for (__k, (__s, __o)) in ::core::iter::Iterator::rev(
                                ::core::iter::Iterator::enumerate(
                                    ::core::iter::Iterator::zip(__tale_s1.iter_mut(), __outs1),
                                ),
                            ) {
                                __run.compensate(__first1 + __k, __s, __o).await;
                            }
                            break '__tale_l1 __u;
                        }
                        __outs1
                    };
                    #[allow(clippy::let_unit_value)]
                    let seats: _ = __outs1;
                    let __shift1: usize = 0usize + __count1;
                    let __u = '__tale_l2: {
                        let mut __tale_s2: ::std::vec::Vec<_> = ::core::iter::Iterator::collect(
                            ::core::iter::Iterator::map(
                                ::core::iter::Iterator::enumerate(
                                    ::core::iter::IntoIterator::into_iter(&seats),
                                ),
                                |(__k, seat)| ::tale::__private::Item::<
                                    _,
                                    ::tale::__private::Async,
                                >::new(__k, hold(seat)),
                            ),
                        );
                        (&::tale::__private::Probe::items(&__tale_s2))
                            .tale_kind()
                            .in_items(__tale_p2);
                        let __tale_p3 = __tale_p2;
                        let __first2: usize = (2 + __shift1) + 1;
                        let __count2: usize = __tale_s2.len();
                        let __outs2 = {
                            let __run_ref = &__run;
                            let __results = ::tale::__private::JoinItems::new(
                                    ::core::iter::Iterator::map(
                                        ::core::iter::Iterator::enumerate(__tale_s2.iter_mut()),
                                        |(__k, __s)| __run_ref.branch(__first2 + __k, __s),
                                    ),
                                    8,
                                    true,
                                )
                                .await;
                            match __results {
                                ::core::result::Result::Ok(__outputs) => __outputs,
                                ::core::result::Result::Err(__results) => {
                                    let __results = ::tale::__private::JoinItems::new(
                                            ::core::iter::Iterator::map(
                                                ::core::iter::Iterator::rev(
                                                    ::core::iter::Iterator::enumerate(
                                                        ::core::iter::Iterator::zip(__tale_s2.iter_mut(), __results),
                                                    ),
                                                ),
                                                move |(__k, (__s, __r))| async move {
                                                    match __run_ref
                                                        .settle_branch(__first2 + __k, __s, __r)
                                                        .await
                                                    {
                                                        ::core::option::Option::Some(__failed) => {
                                                            ::core::result::Result::Err((__first2 + __k, __failed))
                                                        }
                                                        ::core::option::Option::None => {
                                                            ::core::result::Result::Ok(())
                                                        }
                                                    }
                                                },
                                            ),
                                            ::core::primitive::usize::MAX,
                                            false,
                                        )
                                        .await;
                                    let mut __failed = ::tale::__private::GroupFailure::new();
                                    if let ::core::result::Result::Err(__results) = __results {
                                        __failed.add_items(__results);
                                    }
                                    break '__tale_l2 __failed.into_unwind();
                                }
                            }
                        };
                        #[allow(clippy::let_unit_value)]
                        let held: _ = __outs2;
                        let __shift2: usize = __shift1 + __count2;
                        ::tale::__private::release(__tale_s2);
                        ::tale::__private::release(__tale_s1);
                        ::tale::__private::release(__tale_s0);
                        break '__tale_saga __run
                            .finish(::core::result::Result::Ok(confirm(&seats, &held)));
                    };
                    for (__k, (__s, __o)) in ::core::iter::Iterator::rev(
                        ::core::iter::Iterator::enumerate(
                            ::core::iter::Iterator::zip(__tale_s1.iter_mut(), seats),
                        ),
                    ) {
                        __run.compensate(__first1 + __k, __s, __o).await;
                    }
                    __u
                };
                __run.compensate(0, &mut __tale_s0, order).await;
                __u
            };
            __run.finish(::core::result::Result::Err(__u))
        }
    }
}
