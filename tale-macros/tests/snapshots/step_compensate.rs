/// Debits the order.
#[must_use = "a step does nothing until a saga or an executor runs it"]
pub fn debit<'__tale_l0>(
    order: &'__tale_l0 Order,
    amount: u64,
) -> impl ::tale::__private::Step<
    Output = Payment,
    Error = E,
> + ::tale::__private::Kinded<
    Kind = ::tale::__private::Compensatable,
> + ::tale::__private::Captures<(&'__tale_l0 (),)> {
    fn __tale_body(order: &Order, amount: u64) -> Result<Payment, E> {
        bank::debit(order.account, amount)
    }
    struct __TaleConsts;
    impl ::tale::__private::StepConsts for __TaleConsts {
        const NAME: &'static str = "debit";
        const KIND: ::tale::__private::StepKind = ::tale::__private::StepKind::Compensatable;
        const UNCERTAIN: bool = false;
    }
    ::tale::__private::StepFn::new(
            (order, amount),
            __TaleConsts,
            ::tale::__private::Compensatable,
            |__a| ::tale::__private::StepReturn::into_result(
                __tale_body(__a.0, ::tale::__private::per_attempt(&__a.1)),
            ),
        )
        .compensate(|__a, __tale_out| match __tale_out {
            ::core::option::Option::Some(__tale_out) => {
                let __tale_args = (__a.0, ::tale::__private::per_attempt(&__a.1));
                #[allow(unused_imports)]
                let mut __tale_undo = {
                    use ::tale::__private::{
                        TaleFits as _, TaleIsAsync as _, TaleMismatch as _,
                    };
                    (&&::tale::__private::CheckSync::<
                        _,
                        <Result<Payment, E> as ::tale::__private::StepReturn>::Output,
                        <Result<Payment, E> as ::tale::__private::StepReturn>::Error,
                        _,
                    >::new(refund, &__tale_args))
                        .tale_fits()
                };
                __tale_undo.call(__tale_args, __tale_out)
            }
            ::core::option::Option::None => ::core::result::Result::Ok(()),
        })
        .retry(|| Retry::times(3))
}
