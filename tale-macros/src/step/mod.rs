//! `#[step]`: parse ([`args`]), validate ([`validate`]), expand ([`expand`]).

mod args;
mod expand;
mod lifetimes;
mod validate;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;

pub(crate) use args::{Spanned, StepArgs, parse_step_option, set_once};

/// Expands `#[step(args)] item`. On error, emits the errors and the function as
/// written, so that its callers and the IDE keep working.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let Ok(function) = syn::parse2::<syn::ItemFn>(item.clone()) else {
        let error = syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[step]` goes on a function: `#[step] fn reserve(...) -> Result<T, E>`",
        );
        let mut out = error.into_compile_error();
        out.extend(item);
        return out;
    };
    let mut options = StepArgs::default();
    let parsed = syn::meta::parser(|meta| parse_step_option(&meta, &mut options)).parse2(args);
    let result = parsed.and_then(|()| validate::validate(options, function.clone()));
    match result {
        Ok(step) => expand::expand(&step),
        Err(error) => {
            let mut out = error.into_compile_error();
            out.extend(function.into_token_stream());
            out
        }
    }
}
