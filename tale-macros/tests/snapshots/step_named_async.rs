/// The step value of [`pick()`] (`#[step(type = Pick)]`): calling the function builds it, and a saga or an executor runs it.
#[must_use = "a step does nothing until a saga or an executor runs it"]
struct Pick<'a, T: Sync> {
    __tale_args: (&'a [T], usize),
    __tale_types: ::core::marker::PhantomData<fn() -> (::core::marker::PhantomData<T>,)>,
}
fn pick<'a, T: Sync>(items: &'a [T], at: usize) -> Pick<'a, T> {
    Pick {
        __tale_args: (items, at),
        __tale_types: ::core::marker::PhantomData,
    }
}
const _: () = {
    async fn __tale_body<T: Sync>(items: &[T], at: usize) -> Result<usize, E> {
        store::pick(items, at).await
    }
    #[doc(hidden)]
    #[allow(clippy::needless_lifetimes, clippy::manual_async_fn)]
    fn __tale_exec<'__tale_a, 'a, T: Sync>(
        __a: &'__tale_a mut (&'a [T], usize),
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            <Result<usize, E> as ::tale::__private::StepReturn>::Output,
            <Result<usize, E> as ::tale::__private::StepReturn>::Error,
        >,
    > + ::core::marker::Send + '__tale_a {
        async move {
            ::tale::__private::StepReturn::into_result(
                __tale_body::<T>(__a.0, ::tale::__private::per_attempt(&__a.1)).await,
            )
        }
    }
    #[doc(hidden)]
    #[allow(clippy::needless_lifetimes, clippy::manual_async_fn)]
    fn __tale_undo<'__tale_a, '__tale_b, 'a, T: Sync>(
        __a: &'__tale_a mut (&'a [T], usize),
        __tale_out: ::core::option::Option<
            &'__tale_b <Result<usize, E> as ::tale::__private::StepReturn>::Output,
        >,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            (),
            <Result<usize, E> as ::tale::__private::StepReturn>::Error,
        >,
    > + ::core::marker::Send {
        async move {
            put_back(__a.0, ::tale::__private::per_attempt(&__a.1), __tale_out).await
        }
    }
    #[automatically_derived]
    impl<'a, T: Sync> ::tale::__private::Kinded for Pick<'a, T> {
        type Kind = ::tale::__private::Compensatable;
    }
    #[automatically_derived]
    impl<'a, T: Sync> ::tale::__private::Describe for Pick<'a, T> {
        type Error = E;
        #[inline]
        fn name(&self) -> &str {
            "pick"
        }
        #[inline]
        fn static_name(&self) -> ::core::option::Option<&'static str> {
            ::core::option::Option::Some("pick")
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
            true
        }
        #[inline]
        fn compensates_without_output(&self) -> bool {
            true
        }
    }
    #[automatically_derived]
    impl<'a, T: Sync> ::tale::__private::AsyncStep for Pick<'a, T> {
        type Output = usize;
        #[inline]
        fn execute(
            &mut self,
        ) -> impl ::core::future::Future<Output = ::core::result::Result<usize, E>> {
            __tale_exec::<T>(&mut self.__tale_args)
        }
        #[inline]
        fn compensate(
            &mut self,
            __tale_out: &usize,
        ) -> impl ::core::future::Future<Output = ::core::result::Result<(), E>> {
            __tale_undo::<
                T,
            >(&mut self.__tale_args, ::core::option::Option::Some(__tale_out))
        }
        fn compensate_uncertain(
            &mut self,
        ) -> impl ::core::future::Future<
            Output = ::core::option::Option<::core::result::Result<(), E>>,
        > {
            let __tale_pending = __tale_undo::<
                T,
            >(&mut self.__tale_args, ::core::option::Option::None);
            async move { ::core::option::Option::Some(__tale_pending.await) }
        }
    }
};
