/// The step value of [`book_seat()`] (`#[step(type = BookSeat)]`): calling the function builds it, and a saga or an executor runs it.
#[must_use = "a step does nothing until a saga or an executor runs it"]
pub struct BookSeat<'a> {
    __tale_args: (&'a Flight, &'a Passenger),
}
/// Books a seat.
pub fn book_seat<'a>(flight: &'a Flight, passenger: &'a Passenger) -> BookSeat<'a> {
    BookSeat {
        __tale_args: (flight, passenger),
    }
}
const _: () = {
    fn __tale_body(flight: &Flight, passenger: &Passenger) -> Result<Seat, E> {
        airline::book(flight, passenger)
    }
    #[automatically_derived]
    impl<'a> ::tale::__private::Kinded for BookSeat<'a> {
        type Kind = ::tale::__private::Compensatable;
    }
    #[automatically_derived]
    impl<'a> ::tale::__private::Describe for BookSeat<'a> {
        type Error = E;
        #[inline]
        fn name(&self) -> &str {
            "book_seat"
        }
        #[inline]
        fn static_name(&self) -> ::core::option::Option<&'static str> {
            ::core::option::Option::Some("book_seat")
        }
        #[inline]
        fn kind(&self) -> ::tale::__private::StepKind {
            ::tale::__private::StepKind::Compensatable
        }
        #[inline]
        fn has_compensation(&self) -> bool {
            true
        }
        #[inline]
        fn is_uncertain(&self) -> bool {
            false
        }
        #[inline]
        fn compensates_without_output(&self) -> bool {
            false
        }
        fn retry_policy(&self) -> ::core::option::Option<::tale::__private::Retry<E>> {
            ::core::option::Option::Some(Retry::times(3))
        }
    }
    #[automatically_derived]
    impl<'a> ::tale::__private::Step for BookSeat<'a> {
        type Output = Seat;
        #[inline]
        fn execute(&mut self) -> ::core::result::Result<Seat, E> {
            let __a = &mut self.__tale_args;
            ::tale::__private::StepReturn::into_result(__tale_body(__a.0, __a.1))
        }
        #[inline]
        fn compensate(&mut self, __tale_out: &Seat) -> ::core::result::Result<(), E> {
            let __a = &mut self.__tale_args;
            let __tale_args = (__a.0, __a.1);
            #[allow(unused_imports)]
            let mut __tale_undo = {
                use ::tale::__private::{
                    TaleFits as _, TaleIsAsync as _, TaleMismatch as _,
                };
                (&&::tale::__private::CheckSync::<
                    _,
                    <Result<Seat, E> as ::tale::__private::StepReturn>::Output,
                    <Result<Seat, E> as ::tale::__private::StepReturn>::Error,
                    _,
                >::new(cancel, &__tale_args))
                    .tale_fits()
            };
            __tale_undo.call(__tale_args, __tale_out)
        }
    }
};
