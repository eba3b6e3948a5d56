//! Parse: the input of `saga!` into [`SagaInput`]. Only syntax is checked here; which
//! statements are steps is decided in validate.

use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Block, Token, Visibility, braced};

use super::ast::{Form, SagaInput};

impl Parse for SagaInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let span = input.span();
        if input.peek(Token![async]) && !input.peek2(Token![fn]) {
            input.parse::<Token![async]>()?;
            let move_token = input.parse()?;
            let content;
            braced!(content in input);
            let (inner_attrs, stmts) = body(&content)?;
            return Ok(SagaInput {
                form: Form::Async { move_token },
                inner_attrs,
                stmts,
                span,
            });
        }
        // `#![saga(...)]` before the `fn` of the item form, or at the top of the
        // statements of the sync form.
        let mut inner_attrs = input.call(Attribute::parse_inner)?;
        if is_item(input) {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            let sig = Box::new(input.parse()?);
            let content;
            braced!(content in input);
            let (in_body, stmts) = body(&content)?;
            inner_attrs.extend(in_body);
            return Ok(SagaInput {
                form: Form::Item { attrs, vis, sig },
                inner_attrs,
                stmts,
                span,
            });
        }
        let stmts = input.call(Block::parse_within)?;
        Ok(SagaInput {
            form: Form::Sync,
            inner_attrs,
            stmts,
            span,
        })
    }
}

/// Whether the input is the item form: outer attributes and a visibility, then `fn`
/// or `async fn`.
fn is_item(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    fork.call(Attribute::parse_outer).is_ok()
        && fork.parse::<Visibility>().is_ok()
        && (fork.peek(Token![fn]) || (fork.peek(Token![async]) && fork.peek2(Token![fn])))
}

/// `#![saga(...)]` attributes, then statements.
fn body(input: ParseStream<'_>) -> syn::Result<(Vec<Attribute>, Vec<syn::Stmt>)> {
    let inner_attrs = input.call(Attribute::parse_inner)?;
    let stmts = input.call(Block::parse_within)?;
    Ok((inner_attrs, stmts))
}
