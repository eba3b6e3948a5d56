//! Parse: the input of `saga!` into [`SagaInput`]. The statements are read by syn
//! (`Block::parse_within`), then recognised as steps and `join!` groups; a statement
//! that is neither is kept as its error, so that every statement is looked at. Only
//! syntax is checked here: patterns, `join!` arity and the options' fit to the form
//! are validate's.

use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned as _;
use syn::{Attribute, Block, Expr, ExprMacro, Token, Visibility, braced};

use super::ast::{ForEach, Form, Join, Modifier, SagaFn, SagaInput, Source, Statement, StepExpr};
use super::options;

/// The methods that `saga!` applies itself to any step (sync or async).
const MODIFIERS: &[&str] = &[
    "retry",
    "compensation_retry",
    "named",
    "uncertain",
    "timeout",
];

const NOT_A_STEP: &str = "only steps are allowed here: a `#[step]` function call, `step(|| ...)`, `step(|| ..., |out| ...)`, `join!(...)` or `for item in items { step }`, optionally bound with `let`; wrap other code in `step(|| ...)`";

const ONE_STEP_PER_ITEM: &str =
    "the body of a fan-out is one step, without `;`: `for item in items { my_step(item) }`";

impl Parse for SagaInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let span = input.span();
        let (form, inner_attrs, stmts) = if input.peek(Token![async]) && !input.peek2(Token![fn]) {
            input.parse::<Token![async]>()?;
            let move_token = input.parse()?;
            let content;
            braced!(content in input);
            let (inner_attrs, stmts) = body(&content)?;
            (Form::Async { move_token }, inner_attrs, stmts)
        } else {
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
                (Form::Item(SagaFn { attrs, vis, sig }), inner_attrs, stmts)
            } else {
                (Form::Sync, inner_attrs, input.call(Block::parse_within)?)
            }
        };
        let (options, option_errors) = options::parse(&inner_attrs, matches!(form, Form::Item(_)));
        let (stmts, tail) = statements(stmts);
        Ok(SagaInput {
            form,
            options,
            option_errors,
            stmts,
            tail,
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

/// The statements recognised, and the tail: the last one if it is an expression
/// without `;`.
fn statements(stmts: Vec<syn::Stmt>) -> (Vec<syn::Result<Statement>>, Option<Expr>) {
    let count = stmts.len();
    let mut recognised = Vec::new();
    let mut tail = None;
    for (index, stmt) in stmts.into_iter().enumerate() {
        let statement = match stmt {
            syn::Stmt::Local(local) => {
                let Some(init) = local.init else {
                    let message = format!("a `let` without a step: {NOT_A_STEP}");
                    recognised.push(Err(syn::Error::new(local.pat.span(), message)));
                    continue;
                };
                if let Some((else_token, _)) = &init.diverge {
                    recognised.push(Err(syn::Error::new(
                        else_token.span,
                        "`let ... else` is not a step: bind the step's output to a name",
                    )));
                    continue;
                }
                Statement::new(Some(local.pat), *init.expr)
            }
            // A `for` needs no `;` to be a statement, even the last.
            syn::Stmt::Expr(expr, semi) if semi.is_some() || matches!(expr, Expr::ForLoop(_)) => {
                Statement::new(None, expr)
            }
            syn::Stmt::Expr(expr, None) if index + 1 == count => {
                tail = Some(expr);
                continue;
            }
            syn::Stmt::Expr(expr, _) => Err(syn::Error::new(expr.span(), NOT_A_STEP)),
            syn::Stmt::Macro(mac) => Statement::new(
                None,
                Expr::Macro(ExprMacro {
                    attrs: mac.attrs,
                    mac: mac.mac,
                }),
            ),
            syn::Stmt::Item(item) => Err(syn::Error::new(
                item.span(),
                "items cannot be declared inside `saga!`: declare them before the saga",
            )),
        };
        recognised.push(statement);
    }
    (recognised, tail)
}

impl Statement {
    /// A `join!` group or a step, bound to `pat` if there is one.
    fn new(pat: Option<syn::Pat>, expr: Expr) -> syn::Result<Statement> {
        match expr {
            Expr::ForLoop(each) => Ok(Statement::ForEach {
                pat,
                each: ForEach::new(each, false, None)?,
            }),
            Expr::Macro(mac) if mac.mac.path.is_ident("join") && starts_with_for(&mac.mac) => {
                Ok(Statement::ForEach {
                    pat,
                    each: mac.mac.parse_body_with(ForEach::parse_concurrent)?,
                })
            }
            Expr::Macro(mac) if mac.mac.path.is_ident("join") => Ok(Statement::Join {
                pat,
                join: Join::parse(&mac.mac)?,
            }),
            expr => Ok(Statement::Step {
                pat,
                step: StepExpr::try_from(expr),
            }),
        }
    }
}

/// Whether a `join!`'s body is a fan-out: `join!(for ...)`.
fn starts_with_for(mac: &syn::Macro) -> bool {
    matches!(mac.tokens.clone().into_iter().next(), Some(proc_macro2::TokenTree::Ident(i)) if i == "for")
}

impl ForEach {
    /// `for item in iter { step }`: a body of one step, no label.
    fn new(each: syn::ExprForLoop, concurrent: bool, limit: Option<Expr>) -> syn::Result<ForEach> {
        if let Some(label) = &each.label {
            return Err(syn::Error::new(
                label.name.span(),
                "a fan-out has no label: remove it",
            ));
        }
        let mut stmts = each.body.stmts.into_iter();
        let step = match (stmts.next(), stmts.next()) {
            (Some(syn::Stmt::Expr(expr, None)), None) => match expr {
                Expr::ForLoop(inner) => Err(syn::Error::new(
                    inner.for_token.span,
                    "fan-outs cannot be nested: fan out over the pairs, `for (a, b) in pairs { my_step(a, b) }`",
                )),
                Expr::Macro(inner) if inner.mac.path.is_ident("join") => Err(syn::Error::new(
                    inner.mac.path.span(),
                    "a fan-out's step cannot be a `join!`: fan out one step per item",
                )),
                expr => StepExpr::try_from(expr),
            },
            (None, _) => Err(syn::Error::new(
                each.body.brace_token.span.join(),
                ONE_STEP_PER_ITEM,
            )),
            (Some(first), _) => Err(syn::Error::new(first.span(), ONE_STEP_PER_ITEM)),
        };
        Ok(ForEach {
            item: *each.pat,
            iter: *each.expr,
            step,
            concurrent,
            limit,
        })
    }

    /// The body of `join!(for item in iter { step }, max_concurrent = n)`.
    fn parse_concurrent(input: ParseStream<'_>) -> syn::Result<ForEach> {
        let each: syn::ExprForLoop = input.parse()?;
        let mut limit = None;
        if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "max_concurrent" {
                return Err(syn::Error::new(
                    key.span(),
                    format_args!(
                        "unknown option `{key}` of a concurrent fan-out: the one option is `max_concurrent = n`, the most items that run at once"
                    ),
                ));
            }
            input.parse::<Token![=]>()?;
            limit = Some(input.parse()?);
            input.parse::<Option<Token![,]>>()?;
        }
        if !input.is_empty() {
            return Err(input.error("a concurrent fan-out is `join!(for item in items { step })`, optionally followed by `, max_concurrent = n`"));
        }
        ForEach::new(each, true, limit)
    }
}

impl Join {
    /// `join!(a, b, ...)`: a comma-separated list of steps, none of them a `join!`.
    fn parse(mac: &syn::Macro) -> syn::Result<Join> {
        let parser = syn::punctuated::Punctuated::<Expr, Token![,]>::parse_terminated;
        let branches = mac.parse_body_with(parser)?;
        let branches = branches.into_iter().map(|branch| match &branch {
            Expr::Macro(inner) if inner.mac.path.is_ident("join") => Err(syn::Error::new(
                inner.mac.path.span(),
                "`join!` cannot be nested: list every branch in one `join!`",
            )),
            _ => StepExpr::try_from(branch),
        });
        Ok(Join {
            span: mac.path.span(),
            branches: branches.collect(),
            tokens: mac.tokens.clone(),
        })
    }
}

impl TryFrom<Expr> for StepExpr {
    type Error = syn::Error;

    /// A step expression: its modifiers peeled off, closure steps recognised.
    fn try_from(expr: Expr) -> syn::Result<StepExpr> {
        let span = expr.span();
        let mut modifiers = Vec::new();
        let mut base = expr;
        while let Expr::MethodCall(call) = base {
            let method = call.method.to_string();
            if !MODIFIERS.contains(&method.as_str()) || call.turbofish.is_some() {
                base = Expr::MethodCall(call);
                break;
            }
            let arg = call.args.into_iter().next();
            modifiers.push(Modifier {
                method: call.method,
                arg,
            });
            base = *call.receiver;
        }
        modifiers.reverse();
        Ok(StepExpr {
            source: Source::try_from(base)?,
            modifiers,
            span,
        })
    }
}

impl TryFrom<Expr> for Source {
    type Error = syn::Error;

    /// `step(|| ...)`, `step(|| ..., |out| ...)`, or an expression that may be a step.
    fn try_from(base: Expr) -> syn::Result<Source> {
        match base {
            Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if p.path.is_ident("step")) => {
                let mut args = call.args.into_iter();
                match (args.next(), args.next(), args.next()) {
                    (Some(execute), None, None) => Ok(Source::Closure(execute)),
                    (Some(execute), Some(compensate), None) => {
                        Ok(Source::Pair(execute, compensate))
                    }
                    _ => Err(syn::Error::new(
                        call.func.span(),
                        "`step(...)` takes an execute closure and, optionally, a compensate closure: `step(|| ...)` or `step(|| ..., |out| ...)`",
                    )),
                }
            }
            base @ (Expr::Call(_) | Expr::MethodCall(_) | Expr::Path(_)) => Ok(Source::Expr(base)),
            Expr::Macro(mac) => {
                let name = quote::ToTokens::to_token_stream(&mac.mac.path).to_string();
                Err(syn::Error::new(
                    mac.mac.path.span(),
                    format_args!(
                        "`{name}!` is not a step: wrap it in a closure step, `step(|| {name}!(...))`"
                    ),
                ))
            }
            other => Err(syn::Error::new(other.span(), NOT_A_STEP)),
        }
    }
}
