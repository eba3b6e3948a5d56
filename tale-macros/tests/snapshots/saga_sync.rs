fn expansion() {
    {
        #[allow(unused_imports)]
        use ::tale::__private::{KindOfMarked as _, KindOfUnmarked as _};
        let mut __exec = ::tale::__private::Executor::new();
        let mut __run = ::tale::__private::Run::start(
            ::tale::__private::ExecutorMut::executor_mut(&mut __exec),
            "trip",
        );
        let __tale_p0 = ::tale::__private::BeforePivot;
        '__tale_saga: {
            let __u = '__tale_l0: {
                let mut __tale_s0 = reserve(&seats);
                let __tale_p1 = (&::tale::__private::Probe::new(&__tale_s0))
                    .tale_kind()
                    .then(__tale_p0);
                let __o = {
                    let __r = __run.step(0, &mut __tale_s0);
                    let ::core::result::Result::Ok(__o) = __r else {
                        break '__tale_l0 ::tale::__private::failed(__r);
                    };
                    __o
                };
                #[allow(clippy::let_unit_value)]
                let seat: _ = __o;
                let __u = '__tale_l1: {
                    let mut __tale_s1 = ::tale::__private::StepExt::retry(
                        ::tale::__private::from_fn(|| charge(&seat))
                            .with_compensation(|payment| refund(payment)),
                        Retry::times(2),
                    );
                    let __tale_p2 = (&::tale::__private::Probe::new(&__tale_s1))
                        .tale_kind()
                        .then(__tale_p1);
                    let __o = {
                        let __r = __run.step(1, &mut __tale_s1);
                        let ::core::result::Result::Ok(__o) = __r else {
                            break '__tale_l1 ::tale::__private::failed(__r);
                        };
                        __o
                    };
                    #[allow(clippy::let_unit_value)]
                    let __o1: _ = __o;
                    ::tale::__private::release(__tale_s1);
                    ::tale::__private::release(__tale_s0);
                    break '__tale_saga __run.finish(::core::result::Result::Ok(seat));
                };
                __run.compensate(0, &mut __tale_s0, seat);
                __u
            };
            __run.finish(::core::result::Result::Err(__u))
        }
    }
}
